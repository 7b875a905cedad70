import { isFarmerError } from '@farmer/core/browser';

/** An error the page shows as it is (its message says what to do), with a stable code. */
export class PageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PageError';
  }
}

/** The code and message to show for anything thrown: FarmerError and PageError as they are, anything else as an internal error. */
export function describeError(e: unknown): { code: string; message: string } {
  if (isFarmerError(e) || e instanceof PageError) return { code: e.code, message: e.message };
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'FARMER_E_INTERNAL', message: `${message} (an unexpected error; the browser console has the details)` };
}
