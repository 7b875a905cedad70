import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * An onRequest hook that requires `Authorization: Bearer <apiKey>`. It runs
 * before the body is read, so unauthenticated uploads cost nothing. Keys are
 * compared as SHA-256 digests in constant time.
 */
export function bearerAuth(apiKey: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const want = digest(apiKey);
  const challenge = { 'www-authenticate': 'Bearer realm="farmer"' };
  return async (request) => {
    const header = request.headers.authorization;
    if (!header) throw new HttpError('FARMER_E_UNAUTHORIZED', 'this route needs an API key: send the header Authorization: Bearer <key>', { field: 'authorization', headers: challenge });
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new HttpError('FARMER_E_UNAUTHORIZED', 'the Authorization header must be "Bearer <key>"', { field: 'authorization', headers: challenge });
    if (!timingSafeEqual(digest(m[1]), want)) throw new HttpError('FARMER_E_UNAUTHORIZED', 'the API key is not valid', { field: 'authorization', headers: challenge });
  };
}
