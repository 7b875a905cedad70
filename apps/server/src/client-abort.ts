import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A signal that fires when the client goes away before its answer is sent.
 * The response's 'close' event fires on every end of the exchange; only a
 * close before the response finished means the client disconnected.
 */
export function clientAbortSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  if ((res.destroyed || request.raw.socket?.destroyed) && !res.writableFinished) {
    controller.abort();
    return controller.signal;
  }
  res.once('close', () => {
    if (!res.writableFinished) {
      request.log.info('client disconnected; cancelling its job');
      controller.abort();
    }
  });
  return controller.signal;
}
