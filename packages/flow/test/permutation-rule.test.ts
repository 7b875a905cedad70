import { initBackend, normalTensor, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Flow } from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { randomFlow } from './helpers.js';

// Another permutation rule (flip the even blocks instead of the odd ones): every part of
// a block must follow permutation.ts, the rule's one definition, and so still agree.
vi.mock('../src/permutation.js', () => {
  const isFlipBlock = (t: number) => t % 2 === 0;
  return { isFlipBlock, permutedIndex: (t: number, j: number, n: number) => (isFlipBlock(t) ? n - 1 - j : j) };
});

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('the permutation rule (docs/method.md §3.4 permutations) has one definition', () => {
  it('the KV-cached reverse step reads pos_embed in the order permutation.ts gives, as the whole-sequence net does', async () => {
    const flow: Flow = randomFlow({ inChannels: 1, imageSize: 8, patchSize: 2, width: 32, numBlocks: 2, layersPerBlock: 1, headDim: 16 }, 5);
    const z = normalTensor(new Rng(4), [2, flow.numTokens, flow.tokenDim]) as tf.Tensor3D;
    const fast = await flow.reverseBlock(0, z);
    const naive = await flow.reverseBlock(0, z, { useKVCache: false });
    expect(maxAbsDiff(fast.dataSync(), naive.dataSync())).toBeLessThan(2e-5);
    tf.dispose([z, fast, naive]);
    flow.dispose();
  });
});
