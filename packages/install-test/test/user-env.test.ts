import { delimiter } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInside, npmrcKeys, userEnv } from '../src/user-env.js';

describe('userEnv', () => {
  it("drops the checkout's run variables, its .npmrc settings, paths into it and its PATH entries; keeps the machine's", () => {
    const env = userEnv(
      {
        HOME: '/home/u',
        PATH: ['/repo/node_modules/.bin', '/repo/packages/x/node_modules/.bin', '/usr/bin', '/bin'].join(delimiter),
        npm_config_onnxruntime_node_install: 'skip',
        npm_config_local_prefix: '/repo',
        npm_config_registry: 'https://mirror.example/npm/',
        npm_config_cache: '/home/u/.npm',
        npm_lifecycle_event: 'test',
        npm_package_json: '/repo/packages/x/package.json',
        INIT_CWD: '/repo/packages/x',
        ONNXRUNTIME_NODE_INSTALL: 'skip',
        FARMER_MODELS_DIR: '/elsewhere/models',
        NX_TASK_TARGET_PROJECT: 'x',
        VITEST_WORKER_ID: '1',
        NODE_OPTIONS: '--conditions=dev',
        NODE_ENV: 'test',
        SOMETHING: '/repo/tmp',
        SIBLING: '/repo2/x',
        LANG: 'C.UTF-8',
      },
      '/repo',
      { XDG_CACHE_HOME: '/tmp/c' },
      ['onnxruntime-node-install'],
    );
    expect(env).toEqual({
      HOME: '/home/u',
      PATH: ['/usr/bin', '/bin'].join(delimiter),
      npm_config_registry: 'https://mirror.example/npm/',
      npm_config_cache: '/home/u/.npm',
      SIBLING: '/repo2/x',
      LANG: 'C.UTF-8',
      XDG_CACHE_HOME: '/tmp/c',
    });
  });

  it('npmrcKeys: the keys an .npmrc sets', () => {
    expect(npmrcKeys('# why\nonnxruntime-node-install=skip\n; old\n\n @farmer:registry = http://x/\n')).toEqual(['onnxruntime-node-install', '@farmer:registry']);
  });

  it('isInside: the folder itself and below, not a sibling with the same prefix', () => {
    expect(isInside('/repo', '/repo')).toBe(true);
    expect(isInside('/repo', '/repo/a/b')).toBe(true);
    expect(isInside('/repo', '/repo2/a')).toBe(false);
    expect(isInside('/repo', '/tmp/x')).toBe(false);
  });
});
