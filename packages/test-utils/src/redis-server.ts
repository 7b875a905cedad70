import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type AddressInfo } from 'node:net';

/** A redis-server of a test's own, on loopback. */
export interface TestRedis {
  /** redis://127.0.0.1:PORT, or redis://:PASSWORD@127.0.0.1:PORT with a password */
  readonly url: string;
  readonly port: number;
  /** Stops it (SIGTERM, then SIGKILL after 5 s); resolves once it has exited. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL: a crash, no goodbye to its clients); resolves once it has exited. */
  kill(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface TestRedisOptions {
  /** The port (default: a free one), e.g. a killed server's, to bring it back where its clients reconnect. */
  port?: number;
  /** Require this password (`--requirepass`). */
  password?: string;
}

/** A TCP port nobody listens on now (the OS's pick), for a server to take or for "nothing listens here". */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Whether Debian's `redis-server` is on the PATH (`.ci/run` installs it when missing). */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' }, () => {
      c.end();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

/**
 * Starts `redis-server` on a free loopback port (or `options.port`), in
 * memory only (no RDB, no AOF), and waits until it accepts connections (at
 * most 10 s). Throws when redis-server is missing, so a test that needs
 * Redis fails rather than skips: install it with `apt-get install redis-server`.
 */
export async function startRedisServer(options: TestRedisOptions = {}): Promise<TestRedis> {
  if (!hasRedisServer()) throw new Error('redis-server is not installed (apt-get install redis-server); .ci/run installs it');
  const port = options.port ?? (await freePort());
  const auth = options.password === undefined ? [] : ['--requirepass', options.password];
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', ...auth], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not start: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    url: `redis://${options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`}127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      if (gone()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
