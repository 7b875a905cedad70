import { Command } from 'commander';
import { parseServerArgs, serverUsage } from '@farmer/runtime';
import { startServer } from '@farmer/server';
import type { CliContext } from '../context.js';
import { armForcedExit } from '../forced-exit.js';

/**
 * `farmer serve ARGS`: the HTTP inference server (@farmer/server) until
 * SIGINT/SIGTERM, then a graceful stop within `--shutdown-timeout` (Redis
 * reachable or not, in --redis mode). ARGS are the server bin's own flags,
 * read by the same parser (with the same environment fallbacks); the
 * global --backend and --quiet apply too.
 */
export async function runServe(ctx: CliContext, argv: string[], stdout: NodeJS.WritableStream = process.stdout): Promise<void> {
  const args = parseServerArgs(argv);
  if (args.help) {
    stdout.write(serverUsage('farmer serve'));
    return;
  }
  const server = await startServer({
    ...args.options,
    backend: args.options.backend ?? ctx.opts.backend,
    logger: ctx.opts.quiet ? false : args.options.logger,
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

export function serveCommand(ctx: () => CliContext): Command {
  return (
    new Command('serve')
      .description('serve checkpoints over HTTP (generate, likelihood, metrics, OpenAPI docs at /docs, the playground page at /playground/); the flags of the server\'s own bin, see farmer serve --help')
      // The server's parser reads every flag (the bin's, with its environment fallbacks), so commander passes them through.
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[flags...]', 'server flags: --models DIR, --port N, --host HOST, --api-key KEY, --concurrency N, --queue N, --batch-size N, ...')
      .action(async (flags: string[]) => runServe(ctx(), flags))
  );
}
