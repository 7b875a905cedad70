import { FarmerError, type FarmerErrorCode } from '@farmer/core';

/**
 * Codes the server adds to the core catalogue (`@farmer/core` ERROR_CODES),
 * for conditions that exist only over HTTP. Stable: clients may switch on them.
 */
export const SERVER_ERROR_CODES = {
  /** The route needs an API key and none, or a wrong one, was sent. */
  FARMER_E_UNAUTHORIZED: 'missing or wrong API key',
  /** The job queue is full; retry after the Retry-After header's seconds. */
  FARMER_E_BUSY: 'job queue full',
  /** The request body is over the configured limit. */
  FARMER_E_TOO_LARGE: 'body too large',
  /** The request's Content-Type is not one the route accepts. */
  FARMER_E_MEDIA_TYPE: 'unsupported media type',
  /** Models still loading, the server shutting down, or the model failed to load. */
  FARMER_E_UNAVAILABLE: 'service unavailable',
} as const;

/** An error code of the server's own (besides the catalogue's), a key of {@link SERVER_ERROR_CODES}. */
export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES;
/** Every code an HTTP error body may carry. */
export type HttpErrorCode = FarmerErrorCode | ServerErrorCode;

/**
 * The one table from error code to HTTP status. User-input codes are 4xx;
 * 5xx is reserved for the server's own state (loading, shutting down, a
 * backend missing) and for bugs (FARMER_E_INTERNAL).
 */
export const HTTP_STATUS: Readonly<Record<HttpErrorCode, number>> = Object.freeze({
  FARMER_E_BAD_INPUT: 400,
  FARMER_E_BAD_CONFIG: 400,
  FARMER_E_CORRUPT: 400,
  FARMER_E_SHAPE: 400,
  FARMER_E_VERSION: 400,
  FARMER_E_UNAUTHORIZED: 401,
  FARMER_E_NOT_FOUND: 404,
  // An output location holds something a writer will not destroy without force.
  FARMER_E_OUTPUT_EXISTS: 409,
  FARMER_E_TOO_LARGE: 413,
  FARMER_E_MEDIA_TYPE: 415,
  // The request's parameters drove this model to NaN/Inf: the request is unprocessable, not the server broken.
  FARMER_E_NON_FINITE: 422,
  FARMER_E_BUSY: 429,
  // nginx's "client closed request": logged, never seen by the (gone) client.
  FARMER_E_ABORTED: 499,
  FARMER_E_INTERNAL: 500,
  // The model cannot do what was asked (e.g. likelihood on a model opened without one).
  FARMER_E_UNSUPPORTED: 501,
  FARMER_E_BACKEND: 503,
  FARMER_E_UNAVAILABLE: 503,
});

/** The JSON body of every error response. `field` names the offending input, or is null. */
export interface ErrorBody {
  error: { code: HttpErrorCode; message: string; field: string | null };
}

/** An error the server raises itself; carries the response headers it needs (Retry-After, WWW-Authenticate). */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly field: string | null;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: HttpErrorCode, message: string, options: { field?: string | null; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'HttpError';
    this.code = code;
    this.field = options.field ?? null;
    this.headers = options.headers ?? {};
  }

  /** The HTTP status of the code, from {@link HTTP_STATUS}. */
  get status(): number {
    return HTTP_STATUS[this.code];
  }

  /** The JSON body of the answer: code, message and field. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, field: this.field } };
  }
}

/** A library FarmerError as an HttpError: same code and message, the field from `details.field`. */
export function fromFarmerError(e: FarmerError): HttpError {
  const field = typeof e.details.field === 'string' ? e.details.field : null;
  return new HttpError(e.code, e.message, { field, cause: e });
}

/** The JSON schema of {@link ErrorBody}, registered once as `FarmerError`. */
export const errorBodySchema = {
  $id: 'FarmerError',
  type: 'object',
  description: 'Every 4xx/5xx answer: a stable code, a message saying what was wrong and how to fix it, and the offending field (or null).',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'field'],
      properties: {
        code: { type: 'string', enum: Object.keys(HTTP_STATUS) },
        message: { type: 'string' },
        field: { type: ['string', 'null'] },
      },
    },
  },
} as const;
