import type { RemoteGenerator } from '@farmer/queue';
import type { JobQueue } from './job-queue.js';
import type { ServerMetrics } from './metrics.js';
import type { LoadReport, ModelRegistry } from './model-registry.js';
import type { ResolvedServerOptions } from './options.js';

/** What routes share: passed to each route module explicitly, and exposed as `app.farmer`. */
export interface ServerContext {
  readonly options: ResolvedServerOptions;
  readonly registry: ModelRegistry;
  readonly queue: JobQueue;
  /** `--redis` mode: generate requests go to workers through Redis instead of `queue`. */
  readonly remote?: RemoteGenerator;
  readonly metrics: ServerMetrics;
  /** Set when graceful shutdown begins: new requests get 503, answers close their connection. */
  readonly state: { closing: boolean };
  /** Brings up the tfjs backend and loads every model (once; later calls return the same report). Never rejects. */
  readonly loadModels: () => Promise<LoadReport>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The server's models, job queue, metrics and options. */
    farmer: ServerContext;
  }
}
