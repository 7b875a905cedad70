import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_DEFAULTS, serverCliOptions, serverCommand } from '../src/index.js';

/** Every environment variable the command line falls back to. */
const ENV_NAMES = ['FARMER_MODELS', 'PORT', 'FARMER_HOST', 'FARMER_API_KEY', 'FARMER_REDIS', 'FARMER_RUNTIME', 'FARMER_BACKEND', 'FARMER_LOG_LEVEL'];
const saved = Object.fromEntries(ENV_NAMES.map((k) => [k, process.env[k]]));

afterEach(() => {
  for (const k of ENV_NAMES) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** The server options of `argv` under exactly the environment `env`; commander's errors are thrown, its output collected. */
function parse(argv: string[], env: Record<string, string> = {}) {
  for (const k of ENV_NAMES) delete process.env[k];
  Object.assign(process.env, env);
  const output = { out: '', err: '' };
  const cmd = serverCommand('farmer-server')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void (output.out += s), writeErr: (s) => void (output.err += s), getOutHelpWidth: () => 1000 });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    return { error: e as CommanderError, output };
  }
  return { options: serverCliOptions(cmd), output };
}

describe('the server command line (serverCommand, read by commander)', () => {
  it('defaults: the built-in models, 127.0.0.1:8080, auto runtime, info logs, the server defaults', () => {
    expect(parse([]).options).toEqual({
      models: undefined,
      port: 8080,
      host: '127.0.0.1',
      apiKey: undefined,
      concurrency: SERVER_DEFAULTS.concurrency,
      queueSize: SERVER_DEFAULTS.queueSize,
      maxCount: SERVER_DEFAULTS.maxCount,
      batchSize: SERVER_DEFAULTS.batchSize,
      maxBodyBytes: SERVER_DEFAULTS.maxBodyBytes,
      maxUploadBytes: SERVER_DEFAULTS.maxUploadBytes,
      shutdownTimeoutMs: SERVER_DEFAULTS.shutdownTimeoutMs,
      backend: undefined,
      runtime: 'auto',
      redis: undefined,
      logger: { level: 'info' },
    });
  });

  it('reads every flag', () => {
    const argv = ['--models', 'ck', '--port', '0', '--host', '0.0.0.0', '--api-key', 'k3y-k3y-k3y', '--concurrency', '2', '--queue', '5', '--max-count', '8', '--batch-size', '4'];
    argv.push('--max-body-bytes', '4096', '--max-upload-bytes', '9999', '--shutdown-timeout', '3', '--backend', 'cpu', '--runtime', 'tfjs', '--log-level', 'warn', '--redis', 'redis://127.0.0.1:6379/2');
    expect(parse(argv).options).toEqual({
      models: 'ck',
      port: 0,
      host: '0.0.0.0',
      apiKey: 'k3y-k3y-k3y',
      concurrency: 2,
      queueSize: 5,
      maxCount: 8,
      batchSize: 4,
      maxBodyBytes: 4096,
      maxUploadBytes: 9999,
      shutdownTimeoutMs: 3000,
      backend: 'cpu',
      runtime: 'tfjs',
      redis: 'redis://127.0.0.1:6379/2',
      logger: { level: 'warn' },
    });
  });

  it('falls back to the environment, flags win; an empty variable counts as unset', () => {
    const env = { FARMER_MODELS: '/m', PORT: '9000', FARMER_API_KEY: 'from-env-key', FARMER_HOST: '::1', FARMER_LOG_LEVEL: 'debug', FARMER_REDIS: 'redis://r:6379', FARMER_RUNTIME: 'tfjs', FARMER_BACKEND: 'wasm' };
    expect(parse([], env).options).toMatchObject({ models: '/m', port: 9000, apiKey: 'from-env-key', host: '::1', logger: { level: 'debug' }, redis: 'redis://r:6379', runtime: 'tfjs', backend: 'wasm' });
    expect(parse(['--port', '1234', '--models', '/x', '--runtime', 'onnx'], env).options).toMatchObject({ models: '/x', port: 1234, runtime: 'onnx' });
    expect(parse([], { FARMER_MODELS: '', FARMER_HOST: '', FARMER_API_KEY: '', FARMER_REDIS: '', FARMER_RUNTIME: '' }).options).toMatchObject({
      models: undefined,
      host: '127.0.0.1',
      apiKey: undefined,
      redis: undefined,
      runtime: 'auto',
    });
  });

  it('--help documents every flag with its default and environment variable', () => {
    const { error, output } = parse(['--help']);
    expect(error).toBeInstanceOf(CommanderError);
    expect(error!.exitCode).toBe(0);
    expect(output.out.startsWith('Usage: farmer-server [options]')).toBe(true);
    for (const flag of ['--models', '--port', '--host', '--api-key', '--concurrency', '--queue', '--max-count', '--batch-size', '--max-body-bytes', '--max-upload-bytes', '--shutdown-timeout', '--redis', '--runtime', '--backend', '--log-level', '--help']) {
      expect(output.out, flag).toContain(`${flag} `);
    }
    for (const env of ENV_NAMES) expect(output.out, env).toContain(`env: ${env}`);
    expect(output.out).toContain(`default: ${SERVER_DEFAULTS.batchSize}`);
    expect(output.out).toContain(`default: ${SERVER_DEFAULTS.shutdownTimeoutMs / 1000}`);
  });

  it.each([
    [['--port', 'eighty'], /option '--port <n>' argument 'eighty' is invalid\. It must be a non-negative integer/],
    [['--concurrency=-1'], /option '--concurrency <n>' argument '-1' is invalid/],
    [['--queue', '1.5'], /option '--queue <n>' argument '1\.5' is invalid/],
    [['--backend', 'gpu'], /option '--backend <name>' argument 'gpu' is invalid\. Allowed choices are auto, tensorflow, wasm, cpu/],
    [['--runtime', 'tpu'], /option '--runtime <name>' argument 'tpu' is invalid\. Allowed choices are auto, onnx, tfjs/],
    [['--log-level', 'loud'], /option '--log-level <level>' argument 'loud' is invalid/],
    [['--bogus'], /unknown option '--bogus'/],
    [['positional'], /too many arguments/],
  ])('%j is a usage error naming what is wrong', (argv, message) => {
    const { error, output } = parse(argv);
    expect(error).toBeInstanceOf(CommanderError);
    expect(error!.exitCode).toBe(1);
    expect(output.err).toMatch(message);
    expect(output.err).toContain('(run with --help for usage)');
  });

  it('a bad environment value names the variable', () => {
    const { error, output } = parse([], { PORT: 'x' });
    expect(error).toBeInstanceOf(CommanderError);
    expect(output.err).toMatch(/option '--port <n>' value 'x' from env 'PORT' is invalid/);
  });
});

describe('the server bin (farmer-server)', () => {
  const bin = join(__dirname, '..', 'dist', 'bin.js');
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

  it('--help prints the usage and exits 0; a bad flag exits 2 naming it, before loading anything', () => {
    const help = run(['--help']);
    expect([help.status, help.stdout.split('\n')[0]]).toEqual([0, 'Usage: farmer-server [options]']);
    const bad = run(['--port', 'eighty']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/option '--port <n>' argument 'eighty' is invalid/);
  });
});
