import { Command } from 'commander';
import { SERVER_DEFAULTS, startServer, type StartServerOptions } from '@farmer/server';
import type { CliContext } from '../context.js';
import { choiceFlag, intFlag } from '../flags.js';

interface ServeFlags {
  models?: string;
  port: number;
  host: string;
  apiKey?: string;
  concurrency?: number;
  queue?: number;
  maxCount?: number;
  maxUploadBytes?: number;
  runtime: 'auto' | 'tfjs' | 'onnx';
}

/** `farmer serve`: the HTTP inference server (@farmer/server), until SIGINT/SIGTERM. */
export async function runServe(ctx: CliContext, flags: ServeFlags): Promise<void> {
  const options: StartServerOptions = {
    models: flags.models ?? process.env.FARMER_MODELS,
    port: flags.port,
    host: flags.host,
    apiKey: flags.apiKey ?? process.env.FARMER_API_KEY,
    concurrency: flags.concurrency,
    queueSize: flags.queue,
    maxCount: flags.maxCount,
    maxUploadBytes: flags.maxUploadBytes,
    backend: ctx.opts.backend,
    runtime: flags.runtime,
    logger: ctx.opts.quiet ? false : { level: 'info' },
  };
  const server = await startServer(options);
  ctx.note(`serving ${server.models?.ready.length ?? 0} model(s) at ${server.url} (docs at ${server.url}/docs); Ctrl-C stops after in-flight requests`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  ctx.result('server stopped', { stopped: true, url: server.url });
}

export function serveCommand(ctx: () => CliContext): Command {
  return new Command('serve')
    .description('serve checkpoints over HTTP (generate, likelihood, metrics, OpenAPI docs at /docs)')
    .option('--models <dir>', 'a directory of checkpoints, or one checkpoint (default: env FARMER_MODELS, else the built-in model)')
    .option('--port <n>', 'TCP port', intFlag('--port', 0, 65535), 8080)
    .option('--host <addr>', 'interface to bind', '127.0.0.1')
    .option('--api-key <key>', 'bearer token required by generate and likelihood (or env FARMER_API_KEY)')
    .option('--concurrency <n>', `generation jobs at once (default ${SERVER_DEFAULTS.concurrency})`, intFlag('--concurrency', 1))
    .option('--queue <n>', `jobs waiting before 429 (default ${SERVER_DEFAULTS.queueSize})`, intFlag('--queue', 0))
    .option('--max-count <n>', `images per request (default ${SERVER_DEFAULTS.maxCount})`, intFlag('--max-count', 1))
    .option('--max-upload-bytes <n>', 'largest PNG upload', intFlag('--max-upload-bytes', 1))
    .option('--runtime <name>', 'auto (an up-to-date ONNX export when present, else tfjs), tfjs or onnx', choiceFlag('--runtime', ['auto', 'tfjs', 'onnx'] as const), 'auto')
    .addHelpText(
      'after',
      `
Examples:
  farmer serve
  farmer serve --models runs/ --port 9000 --api-key secret
  curl -s -X POST localhost:8080/v1/models/mnist-small/generate -H 'content-type: application/json' \\
       -d '{"labels": 7, "seed": 1, "format": "png"}' -o seven.png`,
    )
    .action(async (flags: ServeFlags) => runServe(ctx(), flags));
}
