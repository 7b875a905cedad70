import { Writable } from 'node:stream';
import { isFarmerError } from '@farmer/core';
import { describe, expect, it, vi } from 'vitest';
import { CliContext } from '../src/context.js';
import { openTfRunner } from '../src/model-open.js';

// openModel broken on purpose: asked for tfjs, it gives a runner of another runtime.
vi.mock('@farmer/runtime', () => ({
  openModel: async () => ({ runner: { runtime: 'onnxruntime', config: {}, decoders: [] }, runtime: 'onnxruntime', dir: '/ck', close: async () => undefined }),
}));

const quiet = new CliContext({ quiet: true }, new Writable({ write: (_c, _e, done) => done() }), new Writable({ write: (_c, _e, done) => done() }));

describe('openTfRunner', () => {
  it('a runner that is not tfjs is a catalogue error (FARMER_E_INTERNAL), not a plain Error', async () => {
    const err = await openTfRunner(quiet, { checkpoint: '/ck' }).catch((e: unknown) => e);
    expect(isFarmerError(err, 'FARMER_E_INTERNAL'), String(err)).toBe(true);
  });
});
