#!/usr/bin/env node
import { CommanderError } from 'commander';
import { FarmerError, USER_ERROR_CODES } from '@farmer/core';
import { serverCliOptions, serverCommand } from './command-line.js';
import { startServer } from './server.js';

/** Exit code of bad usage or bad input (commander has printed what is wrong). */
const EXIT_USAGE = 2;

/** The server's own bin: parse flags (the same command line as `farmer serve`), start, stop gracefully on SIGINT/SIGTERM. */
async function main(): Promise<number> {
  const cmd = serverCommand('farmer-server').exitOverride();
  try {
    cmd.parse(process.argv);
  } catch (e) {
    // --help, or a bad flag (commander printed the usage or the error).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    throw e;
  }
  const server = await startServer(serverCliOptions(cmd));
  const log = server.app.log;
  log.info({ url: server.url, models: server.models, docs: `${server.url}/docs` }, 'farmer-server ready');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping: finishing in-flight requests');
      server.close().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'error while stopping');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const user = e instanceof FarmerError && USER_ERROR_CODES.has(e.code);
    process.stderr.write(`farmer-server: error: ${e instanceof Error ? e.message : String(e)}${e instanceof FarmerError ? ` [${e.code}]` : ''}\n`);
    if (!user && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(user ? 2 : 1);
  },
);
