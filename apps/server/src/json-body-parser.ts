import { errorCodes, type FastifyRequest } from 'fastify';
import secureJson from 'secure-json-parse';
import { HttpError } from './errors.js';

const GUARDED = { protoAction: 'error', constructorAction: 'error' } as const;
const PLAIN = { protoAction: 'ignore', constructorAction: 'ignore' } as const;

/** Whether secure-json-parse's scan finds what `options` guard against in `value`. */
function finds(value: object, options: Parameters<typeof secureJson.scan>[1]): boolean {
  try {
    secureJson.scan(value, options);
    return false;
  } catch {
    return true;
  }
}

/**
 * Parses a JSON body as fastify's default parser does (secure-json-parse,
 * refusing keys that could change an object's prototype where a body is
 * copied or merged: `"__proto__"`, and `"constructor"` holding
 * `"prototype"`), but says which of those keys was refused and why: a 400
 * naming it, where the default reports such a body as invalid JSON. An
 * empty or malformed body keeps fastify's errors (see `toHttpError`).
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY();
  try {
    return secureJson.parse(text, GUARDED);
  } catch {
    // Malformed JSON or a refused key: told apart below (the slow path, for bad bodies only).
  }
  let value: unknown;
  try {
    value = secureJson.parse(text, PLAIN);
  } catch {
    throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
  }
  const key = finds(value as object, { protoAction: 'error', constructorAction: 'ignore' }) ? '"__proto__" key' : '"constructor" key holding "prototype"';
  throw new HttpError('FARMER_E_BAD_INPUT', `the JSON body has a ${key}, which is refused for safety (such keys can change the prototype of objects made from the body); remove it`, { field: 'body' });
}

/** {@link parseJsonBody} as a fastify content-type parser (`parseAs: 'string'`). */
export function jsonBodyParser(_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void): void {
  try {
    done(null, parseJsonBody(body.toString()));
  } catch (e) {
    done(e as Error);
  }
}
