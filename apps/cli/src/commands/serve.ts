import type { Command } from 'commander';
import { serverCliOptions, serverCommand, startServer, type ServerCliOptions } from '@farmer/server';
import type { CliContext } from '../context.js';
import { armForcedExit } from '../forced-exit.js';

/**
 * `farmer serve`: the HTTP inference server (@farmer/server) until
 * SIGINT/SIGTERM, then a graceful stop within `--shutdown-timeout` (Redis
 * reachable or not, in --redis mode). `options` come from the server's own
 * command line (its flags and environment fallbacks); the global --backend
 * (which wins over FARMER_BACKEND) and --quiet apply too.
 */
export async function runServe(ctx: CliContext, options: ServerCliOptions): Promise<void> {
  const server = await startServer({
    ...options,
    // The root program takes --backend wherever it stands, so the server's own flag only ever sees FARMER_BACKEND.
    backend: ctx.opts.backend ?? options.backend,
    logger: ctx.opts.quiet ? false : options.logger,
  });
  // Logged by the server too; said here as well, since --quiet turns its log off.
  for (const w of server.warnings) process.stderr.write(`farmer: warning: ${w}\n`);
  ctx.note(`serving ${server.models?.ready.length ?? 0} model(s) at ${server.url} (docs at ${server.url}/docs, the playground page at ${server.url}/playground/); Ctrl-C stops after in-flight requests`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      armForcedExit('the server', server.app.farmer.options.shutdownTimeoutMs);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  ctx.result('server stopped', { stopped: true, url: server.url });
}

/** `farmer serve`: the server bin's command line (@farmer/server's `serverCommand`), run in this process. */
export function serveCommand(ctx: () => CliContext): Command {
  const cmd = serverCommand('serve').description(
    'serve checkpoints over HTTP (generate, likelihood, classify, metrics, OpenAPI docs at /docs, the playground page at /playground/); the flags of the server\'s own bin (farmer-server)',
  );
  return cmd.addHelpText('after', '\nExamples:\n  farmer serve\n  farmer serve --models runs --port 9000 --api-key "$KEY"').action(async () => runServe(ctx(), serverCliOptions(cmd)));
}
