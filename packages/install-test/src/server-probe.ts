import { spawn, type ChildProcess } from 'node:child_process';
import { killGroup } from './run-command.js';

/** A server started by a command, once it has printed the URL it serves at. */
export interface StartedServer {
  child: ChildProcess;
  url: string;
  /** Everything printed so far (stdout and stderr together). */
  output: () => string;
  /** Resolves with the exit code and signal when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `cmd args` in its own process group and waits until its output
 * matches `urlPattern` (whose first group is the URL), failing with the
 * output so far if it ends first or `timeoutMs` passes (then it is killed).
 */
export function startServerCommand(cmd: string, args: string[], o: { cwd: string; env: NodeJS.ProcessEnv; urlPattern: RegExp; timeoutMs: number }): Promise<StartedServer> {
  const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      reject(new Error(`\`${cmd} ${args.join(' ')}\` printed no URL in ${o.timeoutMs / 1000} s:\n${output.slice(-4000)}`));
    }, o.timeoutMs);
    const onData = (d: Buffer) => {
      output += d;
      const m = o.urlPattern.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], output: () => output, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`\`${cmd} ${args.join(' ')}\` ended (${signal ?? `exit ${code}`}) before printing its URL:\n${output.slice(-4000)}`));
    });
  });
}
