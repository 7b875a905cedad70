/**
 * The error catalogue. Every error a user can act on carries a stable code, so
 * the CLI maps codes to exit statuses and the server maps them to HTTP statuses
 * in one place each. Messages say what was wrong and how to fix it.
 */
export const ERROR_CODES = {
  /** A value given by the user is malformed or out of range. */
  FARMER_E_BAD_INPUT: 'bad input',
  /** A config (preset, file, checkpoint config.json) fails validation. */
  FARMER_E_BAD_CONFIG: 'bad config',
  /** A requested backend is missing or failed to initialise. */
  FARMER_E_BACKEND: 'backend unavailable',
  /** A file or directory does not exist. */
  FARMER_E_NOT_FOUND: 'not found',
  /** An output location already holds something the writer would destroy (a file, or a folder of another kind); `force` replaces it. */
  FARMER_E_OUTPUT_EXISTS: 'output exists',
  /** A file exists but its contents are corrupt, truncated or of the wrong format. */
  FARMER_E_CORRUPT: 'corrupt file',
  /** A tensor has the wrong shape, dtype, or is missing/unexpected. */
  FARMER_E_SHAPE: 'shape mismatch',
  /** A file was written by an unsupported format version. */
  FARMER_E_VERSION: 'unsupported version',
  /** A computation produced NaN or Infinity. */
  FARMER_E_NON_FINITE: 'non-finite value',
  /** The chosen engine or runtime cannot do what was asked (e.g. an op the onnxruntime gradient builder does not cover). */
  FARMER_E_UNSUPPORTED: 'not supported',
  /** Work was cancelled through an AbortSignal. */
  FARMER_E_ABORTED: 'aborted',
  /** An internal invariant failed; a bug. */
  FARMER_E_INTERNAL: 'internal error',
} as const;

export type FarmerErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code and optional structured details. */
export class FarmerError extends Error {
  readonly code: FarmerErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: FarmerErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FarmerError';
    this.code = code;
    this.details = details;
  }
}

/** True if `e` is a FarmerError, optionally of the given code. */
export function isFarmerError(e: unknown, code?: FarmerErrorCode): e is FarmerError {
  return e instanceof FarmerError && (code === undefined || e.code === code);
}

/**
 * Codes of errors the user can act on (bad input, a missing file or backend,
 * an unsupported request): the CLI exits 2 on them. HTTP statuses are the
 * server's own table (apps/server/src/errors.ts), where some of these are 5xx:
 * an unsupported request or a missing backend is not the client's fault.
 */
export const USER_ERROR_CODES: ReadonlySet<FarmerErrorCode> = new Set([
  'FARMER_E_BAD_INPUT',
  'FARMER_E_BAD_CONFIG',
  'FARMER_E_NOT_FOUND',
  'FARMER_E_OUTPUT_EXISTS',
  'FARMER_E_CORRUPT',
  'FARMER_E_SHAPE',
  'FARMER_E_VERSION',
  'FARMER_E_BACKEND',
  'FARMER_E_UNSUPPORTED',
]);
