import { ERROR_CODES, FarmerError, isFarmerError, type FarmerErrorCode } from '@farmer/core';

const CODE_SUFFIX = / \[(FARMER_E_[A-Z_]+)\]$/;

/** A job's failure reason as BullMQ stores it: the message with the FarmerError code appended, so the submitter can rethrow it as such. */
export function failureReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return isFarmerError(e) ? `${message} [${e.code}]` : message;
}

/** A failure reason read back from Redis as a FarmerError (FARMER_E_INTERNAL when it carries no code), prefixed with what failed. */
export function errorFromReason(what: string, reason: string | undefined): FarmerError {
  const text = reason ?? 'no reason recorded';
  const m = CODE_SUFFIX.exec(text);
  const code = m && m[1] in ERROR_CODES ? (m[1] as FarmerErrorCode) : 'FARMER_E_INTERNAL';
  return new FarmerError(code, `${what}: ${m ? text.slice(0, m.index) : text}`, { reason: text });
}
