import { Command } from 'commander';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import { startWorker, WORKER_DEFAULTS, type WorkerStop } from '@farmer/queue';
import type { CliContext } from '../context.js';
import { choiceFlag, intFlag, pathFlag } from '../flags.js';
import { armForcedExit } from '../forced-exit.js';

export interface WorkerFlags {
  redis: string;
  models?: string;
  concurrency: number;
  threads?: number;
  lockSeconds: number;
  shutdownTimeout: number;
  runtime: RuntimeChoice;
}

/**
 * `farmer worker`: takes generation jobs (shards of `farmer sample|eval
 * --redis`, requests of `farmer serve --redis`) for every model of
 * `--models` until SIGINT/SIGTERM, then lets its held jobs finish for up to
 * `--shutdown-timeout` and ends, Redis reachable or not. Jobs it could not
 * finish (a second signal exits at once) go to another worker once their
 * lock runs out.
 */
export async function runWorker(ctx: CliContext, flags: WorkerFlags): Promise<void> {
  await ctx.initBackend();
  const worker = await startWorker({
    redis: flags.redis,
    models: flags.models,
    runtime: flags.runtime,
    concurrency: flags.concurrency,
    threads: flags.threads,
    lockMs: flags.lockSeconds * 1000,
    onLog: (line) => ctx.note(`[${new Date().toISOString()}] ${line}`),
  });
  const timeoutMs = flags.shutdownTimeout * 1000;
  ctx.note(`worker ${worker.id} ready; Ctrl-C stops after the jobs it holds (at most ${flags.shutdownTimeout} s, --shutdown-timeout)`);
  const stop = await new Promise<WorkerStop>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      armForcedExit(`worker ${worker.id}`, timeoutMs);
      void worker.close(timeoutMs).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  if (!stop.finished) {
    ctx.note(`worker ${worker.id}: its jobs did not finish within --shutdown-timeout ${flags.shutdownTimeout} s (Redis unreachable, or jobs too long); they are left to another worker once their lock (--lock-seconds ${flags.lockSeconds}) lapses`);
  }
  ctx.result(`worker ${worker.id} stopped: ${worker.stats.shards} shards, ${worker.stats.requests} requests in ${worker.stats.passes} passes, ${worker.stats.refused} refused, ${worker.stats.failed} failed`, { id: worker.id, ...worker.stats, finished: stop.finished });
  // A pass still running draws images nobody will take: end now rather than when it is over.
  if (stop.running > 0) process.exit(0);
}

export function workerCommand(ctx: () => CliContext): Command {
  return new Command('worker')
    .description('take generation jobs from Redis (farmer sample|eval --redis, farmer serve --redis) for every model of --models')
    .requiredOption('--redis <url>', 'Redis server: redis://[:PASSWORD@]HOST[:PORT][/DB]')
    .option('--models <dir>', 'a directory of checkpoint directories (one model each, named after its directory), or one checkpoint (default: the built-in models)', pathFlag('--models'))
    .option('--concurrency <n>', `generate requests (farmer serve --redis) held at once per model; compatible ones share a pass; shards are taken one at a time (default ${WORKER_DEFAULTS.concurrency})`, intFlag('--concurrency', 1), WORKER_DEFAULTS.concurrency)
    .option('--threads <n>', 'onnxruntime intra-op threads (default: one per core); N workers on one machine: cores ÷ N each', intFlag('--threads', 1))
    .option('--lock-seconds <s>', `a job's lock: a worker silent this long is taken for dead and its job retried elsewhere; keep it above one shard's time (default ${WORKER_DEFAULTS.lockMs / 1000})`, intFlag('--lock-seconds', 1), WORKER_DEFAULTS.lockMs / 1000)
    .option('--shutdown-timeout <s>', `seconds to let the held jobs finish on SIGINT/SIGTERM; then the worker ends, Redis reachable or not, and leaves the rest to other workers (default ${WORKER_DEFAULTS.shutdownTimeoutMs / 1000})`, intFlag('--shutdown-timeout', 0), WORKER_DEFAULTS.shutdownTimeoutMs / 1000)
    .option('--runtime <name>', 'auto (onnxruntime whenever it loads, exporting on first use; else tfjs), onnx or tfjs; jobs for another runtime are refused', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto')
    .addHelpText(
      'after',
      `
Examples:
  farmer worker --redis redis://127.0.0.1:6379
  farmer worker --redis redis://:PASSWORD@queue-host:6379 --models runs/ --threads 1`,
    )
    .action(async (flags: WorkerFlags) => runWorker(ctx(), flags));
}
