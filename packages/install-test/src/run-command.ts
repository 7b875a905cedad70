import { spawn } from 'node:child_process';

/** How a command ended, with its output. */
export interface CommandResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/**
 * Runs a command to its end (no shell), collecting its output. It runs in
 * its own process group, so a timeout stops what it started too (npx runs
 * the bin in a child).
 */
export function runCommand(cmd: string, args: string[], o: RunOptions): Promise<CommandResult> {
  const command = [cmd, ...args].join(' ');
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, o.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ command, code, signal, stdout, stderr, seconds: (Date.now() - t0) / 1000, timedOut });
    });
  });
}

/** Signals a process group started with `detached: true` (ignoring one that has already gone). */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/** A failed command as an assertion message: what ran, how it ended, and the end of its output. */
export function describeRun(r: CommandResult, lines = 40): string {
  const end = r.timedOut ? `timed out after ${r.seconds.toFixed(0)} s` : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return `\`${r.command}\` (${end}, ${r.seconds.toFixed(1)} s)\n--- stderr (end) ---\n${tail(r.stderr, lines)}\n--- stdout (end) ---\n${tail(r.stdout, lines)}`;
}
