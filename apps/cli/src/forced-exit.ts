/** How long past its shutdown timeout a stopping process may take to end by itself before it is ended. */
export const FORCED_EXIT_SLACK_MS = 3000;

/**
 * The last resort of a stopping `farmer worker` or `farmer serve`, armed when
 * the stop begins: a process still alive `timeoutMs` + {@link FORCED_EXIT_SLACK_MS}
 * later (a pass that cannot be interrupted, something left open) says so and
 * exits 1, so that a process manager's SIGTERM always ends it. The timer is
 * unref'd: it never keeps the process alive by itself.
 */
export function armForcedExit(what: string, timeoutMs: number): void {
  const timer = setTimeout(() => {
    process.stderr.write(`farmer: error: ${what} did not end within --shutdown-timeout ${timeoutMs / 1000} s (+${FORCED_EXIT_SLACK_MS / 1000} s); exiting now, abandoning the work it still held\n`);
    process.exit(1);
  }, timeoutMs + FORCED_EXIT_SLACK_MS);
  timer.unref();
}
