import { isFarmerError } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { parseServerArgs, SERVER_DEFAULTS, serverUsage } from '../src/index.js';

describe('parseServerArgs', () => {
  it('defaults: built-in model, 127.0.0.1:8080, info logs', () => {
    const { help, options } = parseServerArgs([], {});
    expect(help).toBe(false);
    expect(options).toMatchObject({ models: undefined, port: 8080, host: '127.0.0.1', apiKey: undefined, logger: { level: 'info' } });
  });

  it('reads every flag', () => {
    const { options } = parseServerArgs(
      ['--models', 'ck', '--port', '0', '--host', '0.0.0.0', '--api-key', 'k3y-k3y-k3y', '--concurrency', '2', '--queue', '5', '--max-count', '8', '--batch-size', '4', '--max-body-bytes', '4096', '--max-upload-bytes', '9999', '--shutdown-timeout', '3', '--backend', 'cpu', '--runtime', 'tfjs', '--log-level', 'warn', '--redis', 'redis://127.0.0.1:6379/2'],
      {},
    );
    expect(options).toEqual({
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

  it('falls back to the environment, flags win', () => {
    const env = { FARMER_MODELS: '/m', PORT: '9000', FARMER_API_KEY: 'from-env-key', FARMER_HOST: '::1', FARMER_LOG_LEVEL: 'debug', FARMER_REDIS: 'redis://r:6379' };
    expect(parseServerArgs([], env).options).toMatchObject({ models: '/m', port: 9000, apiKey: 'from-env-key', host: '::1', logger: { level: 'debug' }, redis: 'redis://r:6379' });
    expect(parseServerArgs(['--port', '1234', '--models', '/x'], env).options).toMatchObject({ models: '/x', port: 1234 });
  });

  it('--help', () => {
    expect(parseServerArgs(['-h'], {}).help).toBe(true);
  });

  it.each([
    [['--port', 'eighty'], '--port'],
    [['--concurrency=-1'], '--concurrency'],
    [['--queue', '1.5'], '--queue'],
    [['--backend', 'gpu'], '--backend'],
    [['--runtime', 'tpu'], '--runtime'],
    [['--log-level', 'loud'], '--log-level'],
    [['--bogus'], 'argv'],
    [['positional'], 'argv'],
  ])('%j is FARMER_E_BAD_INPUT naming %s', (argv, field) => {
    let error: unknown;
    try {
      parseServerArgs(argv, {});
    } catch (e) {
      error = e;
    }
    expect(isFarmerError(error, 'FARMER_E_BAD_INPUT') && error.details.field).toBe(field);
  });
});

describe('serverUsage', () => {
  it('names the program and documents every flag the parser reads, with its environment fallback', () => {
    const text = serverUsage('farmer serve');
    expect(text.startsWith('Usage: farmer serve [options]')).toBe(true);
    for (const flag of ['--models', '--port', '--host', '--api-key', '--concurrency', '--queue', '--max-count', '--batch-size', '--max-body-bytes', '--max-upload-bytes', '--shutdown-timeout', '--runtime', '--backend', '--log-level', '--help']) {
      expect(text, flag).toContain(`${flag} `);
    }
    for (const env of ['FARMER_MODELS', 'PORT', 'FARMER_HOST', 'FARMER_API_KEY', 'FARMER_RUNTIME', 'FARMER_BACKEND', 'FARMER_LOG_LEVEL']) expect(text, env).toContain(`[${env}]`);
    expect(text).toContain(`(default ${SERVER_DEFAULTS.batchSize})`);
  });

  it('FARMER_RUNTIME is the fallback of --runtime, auto by default', () => {
    expect(parseServerArgs([], {}).options.runtime).toBe('auto');
    expect(parseServerArgs([], { FARMER_RUNTIME: 'tfjs' }).options.runtime).toBe('tfjs');
    expect(parseServerArgs(['--runtime', 'onnx'], { FARMER_RUNTIME: 'tfjs' }).options.runtime).toBe('onnx');
  });
});
