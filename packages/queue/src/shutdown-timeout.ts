/**
 * How long a graceful stop lets in-flight work finish, ms: the default of
 * the server's `--shutdown-timeout` and of its workers' alike, so that a
 * worker holds its jobs as long as a server holds the requests behind them.
 */
export const SHUTDOWN_TIMEOUT_MS = 30_000;
