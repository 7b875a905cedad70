import { FarmerError, USER_ERROR_CODES } from '@farmer/core';

/** Exit codes: 0 success, 2 bad usage or bad input, 1 internal failure. */
export const EXIT_OK = 0;
/** Exit code of an internal failure (a bug, or the machine): 1. */
export const EXIT_INTERNAL = 1;
/** Exit code of bad usage or bad input, with a message saying how to fix it: 2. */
export const EXIT_USAGE = 2;

/** A usage error raised by the CLI itself (a missing flag, an unparsable value). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Whether `e` is commander's own exit (a usage error, or --help shown). By
 * its code, not `instanceof CommanderError`: `farmer serve` is the server's
 * command line, built by @farmer/server with its own copy of commander.
 */
export function isCommanderExit(e: unknown): e is Error & { code: string; exitCode: number } {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('commander.');
}

/** Maps any error to an exit code and a one-line message (plus the stack with --verbose). */
export function describeError(e: unknown, verbose: boolean): { code: number; message: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  let code = EXIT_INTERNAL;
  if (err instanceof UsageError) code = EXIT_USAGE;
  else if (err instanceof FarmerError) code = USER_ERROR_CODES.has(err.code) ? EXIT_USAGE : err.code === 'FARMER_E_ABORTED' ? 130 : EXIT_INTERNAL;
  else if (isCommanderExit(err)) code = EXIT_USAGE;
  const head = err instanceof FarmerError ? `${err.message} [${err.code}]` : err.message;
  // A numerical failure (FARMER_E_NON_FINITE) carries its own advice; only unexpected errors look like bugs.
  const expected = err instanceof FarmerError && err.code !== 'FARMER_E_INTERNAL';
  const tail = code === EXIT_INTERNAL && !verbose ? `\n(run with --verbose for the stack trace${expected ? '' : '; this looks like a bug, please report it'})` : '';
  return { code, message: `farmer: error: ${head}${verbose && err.stack ? `\n${err.stack}` : tail}` };
}
