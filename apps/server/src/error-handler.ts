import { isFarmerError, ownValue } from '@farmer/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { errorBodySchema, fromFarmerError, HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The field a too-large body is reported as ('body', or 'image' for uploads). */
    bodyField?: string;
    /** The flag that sets this route's body limit, for the 413 message. */
    bodyLimitFlag?: string;
    /** Body limits by media type, when a route's parsers differ (for the 413 message). */
    bodyLimits?: Readonly<Record<string, number>>;
    /** Content types the route accepts, for the 415 message. */
    accepts?: readonly string[];
  }
}

/** Body fields whose upper bounds are server limits, and the flag that sets each. */
const LIMIT_FLAGS: Readonly<Record<string, string>> = { count: '--max-count', labels: '--max-count', imageSeeds: '--max-count', image: '--max-upload-bytes' };

/** `/labels/0` → `labels[0]`, `/cfg/proposal/pi` → `cfg.proposal.pi`. */
function pathToField(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function depth(e: FastifySchemaValidationError): number {
  return e.instancePath.split('/').length + (e.keyword === 'required' || e.keyword === 'additionalProperties' ? 1 : 0);
}

/**
 * A schema validation failure as one error naming one field. Of several
 * errors (anyOf branches), the deepest is the most specific.
 */
function fromValidation(errors: FastifySchemaValidationError[], context: string): HttpError {
  const specific = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
  const e = [...(specific.length ? specific : errors)].sort((a, b) => depth(b) - depth(a))[0];
  const params = e.params as Record<string, unknown>;
  const where = ({ params: 'path parameter', querystring: 'query parameter', headers: 'header' } as Record<string, string>)[context];
  let field: string;
  let message: string;
  if (e.keyword === 'required') {
    field = pathToField(e.instancePath, String(params.missingProperty));
    message = `${field} is required`;
  } else if (e.keyword === 'additionalProperties') {
    field = pathToField(e.instancePath, String(params.additionalProperty));
    return new HttpError('FARMER_E_BAD_INPUT', `unknown ${where ?? 'field'} '${field}' (see /docs for what this route takes)`, { field });
  } else {
    field = pathToField(e.instancePath) || context;
    if (e.keyword === 'enum') message = `${field} must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    else message = `${field} ${e.message ?? 'is invalid'}`;
    const flag = ownValue(LIMIT_FLAGS, field.replace(/[.[].*$/, ''));
    if (flag && (e.keyword === 'maximum' || e.keyword === 'maxItems' || e.keyword === 'maxLength')) message += ` (a server limit, set by ${flag})`;
  }
  if (where) message = `${where} ${message}`;
  return new HttpError('FARMER_E_BAD_INPUT', message, { field });
}

/**
 * Every error as an {@link HttpError}: the server's own, library
 * FarmerErrors (status by code), fastify's validation, parser and body-limit
 * errors (with the field named), and anything else as FARMER_E_INTERNAL.
 */
export function toHttpError(error: unknown, request?: FastifyRequest): HttpError {
  if (error instanceof HttpError) return error;
  if (isFarmerError(error)) return fromFarmerError(error);
  const fe = error as Partial<FastifyError> & { validation?: FastifySchemaValidationError[]; validationContext?: string };
  if (Array.isArray(fe.validation) && fe.validation.length) return fromValidation(fe.validation, fe.validationContext ?? 'body');
  const config = request?.routeOptions.config;
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const field = config?.bodyField ?? 'body';
      const flag = config?.bodyLimitFlag ?? '--max-body-bytes';
      const mediaType = String(request?.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      // The media type is the request's: own entries only.
      const limit = (config?.bodyLimits && ownValue(config.bodyLimits, mediaType)) ?? request?.routeOptions.bodyLimit;
      return new HttpError('FARMER_E_TOO_LARGE', `${field} is larger than the limit of ${limit ?? '?'} bytes for ${mediaType || 'this body'} (set by ${flag})`, { field });
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const accepts = config?.accepts?.join(' or ') ?? 'application/json';
      return new HttpError('FARMER_E_MEDIA_TYPE', `Content-Type '${request?.headers['content-type'] ?? ''}' is not accepted here; send ${accepts}`, { field: 'content-type' });
    }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError('FARMER_E_BAD_INPUT', 'the body is not valid JSON (Content-Type is application/json)', { field: 'body' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError('FARMER_E_BAD_INPUT', 'the body is empty but Content-Type is application/json; send a JSON object', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError('FARMER_E_BAD_INPUT', 'the body size does not match Content-Length', { field: 'content-length' });
    case 'FST_ERR_BAD_URL':
      return new HttpError('FARMER_E_BAD_INPUT', `the URL ${request?.url ?? ''} is malformed`, { field: 'url' });
    default:
      break;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HttpError('FARMER_E_BAD_INPUT', fe.message ?? 'bad request', { field: null });
  }
  return new HttpError('FARMER_E_INTERNAL', `internal error${request ? ` (request ${request.id})` : ''}; this is a bug, the server log has the details`, { cause: error });
}

/** Sends an error as JSON `{ error: { code, message, field } }` with its status and headers, and logs it. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const http = toHttpError(error, reply.request);
  const log = reply.request.log;
  if (http.status >= 500 && http.code !== 'FARMER_E_UNAVAILABLE') log.error({ err: http.cause ?? error, code: http.code }, http.message);
  else log.info({ code: http.code, field: http.field, status: http.status }, http.message);
  return reply.status(http.status).headers(http.headers).type('application/json; charset=utf-8').send(http.toBody());
}

/** Installs the error shape everywhere: route errors, 404s, and errors fastify raises before routing. */
export function installErrorHandling(app: FastifyInstance): void {
  app.addSchema(errorBodySchema);
  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new HttpError('FARMER_E_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; the API is described at /docs`, { field: 'url' })),
  );
}

/** For fastify's `frameworkErrors` option (bad URLs, failed constraints). */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, error);
}
