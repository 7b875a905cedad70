import { initBackend, Rng, tf } from '@farmer/core';
import { Flow, flowDims } from '@farmer/flow';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { distillLossAndGrads, Student } from '../src/index.js';
import { randomize } from '@farmer/test-utils';

// Every blockNet call made by @farmer/distill goes through this spy.
const calls: { tokens: number; causal: boolean }[] = [];
vi.mock('@farmer/flow', async (importOriginal) => {
  const orig = await importOriginal<typeof import('@farmer/flow')>();
  return {
    ...orig,
    blockNet: (...args: Parameters<typeof orig.blockNet>) => {
      calls.push({ tokens: args[2].shape[1], causal: args[4]?.causal !== undefined });
      return orig.blockNet(...args);
    },
  };
});

const config = { inChannels: 1, imageSize: 28, patchSize: 4, width: 32, numBlocks: 3, layersPerBlock: 1, headDim: 16 };

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('one parallel pass per block', () => {
  it('decodes with n bidirectional passes over all N tokens, where the teacher takes n·(N−1) sequential steps', async () => {
    const teacher = Flow.create(config, 1);
    randomize(teacher.params, 2, { scale: 0.1, projOut: 0.02 });
    const student = Student.fromTeacher(teacher);
    const { numTokens: N, tokenDim: d } = flowDims(teacher.config);
    const z = new Rng('z').normalTensor([16, N, d]) as tf.Tensor3D;

    calls.length = 0;
    tf.tidy(() => student.decode(z)).dispose();
    expect(calls).toEqual(Array.from({ length: config.numBlocks }, () => ({ tokens: N, causal: false })));

    let teacherSteps = 0;
    const x = await teacher.reverse(z, { onProgress: () => teacherSteps++ });
    expect(teacherSteps).toBe(config.numBlocks * (N - 1));
    console.log(`decode of [16, ${N}, ${d}] through ${config.numBlocks} blocks: student ${calls.length} network passes, teacher ${teacherSteps} sequential steps`);

    // A distillation step chains the student once as well: n passes (the teacher's forward is not counted here).
    calls.length = 0;
    const r = distillLossAndGrads(teacher, student, {
      values: new Rng('x').uniform(2 * 28 * 28, -1, 1),
      shape: [2, 1, 28, 28],
      eps: new Rng('e').normal(2 * N * d),
      scales: Float32Array.of(0.1, 0.2),
    });
    expect(calls).toEqual(Array.from({ length: config.numBlocks }, () => ({ tokens: N, causal: false })));
    tf.dispose([...r.grads, x, z]);
    student.dispose();
    teacher.dispose();
  });
});
