import { initBackend, normalTensor, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Flow, flowDims, Student } from '../src/index.js';
import { randomize } from '@farmer/test-utils';

// Every blockNet call made by the student (and the teacher) goes through this spy.
const calls: { tokens: number; causal: boolean }[] = [];
vi.mock('../src/block.js', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../src/block.js')>();
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
    const z = normalTensor(new Rng('z'), [16, N, d]) as tf.Tensor3D;

    calls.length = 0;
    tf.tidy(() => student.decode(z)).dispose();
    expect(calls).toEqual(Array.from({ length: config.numBlocks }, () => ({ tokens: N, causal: false })));

    // chain() (what a distillation step differentiates) is the same n passes.
    calls.length = 0;
    tf.dispose(tf.tidy(() => student.chain(z)));
    expect(calls).toEqual(Array.from({ length: config.numBlocks }, () => ({ tokens: N, causal: false })));
    const studentPasses = calls.length;

    let teacherSteps = 0;
    const x = await teacher.reverse(z, { onProgress: () => teacherSteps++ });
    expect(teacherSteps).toBe(config.numBlocks * (N - 1));
    console.log(`decode of [16, ${N}, ${d}] through ${config.numBlocks} blocks: student ${studentPasses} network passes, teacher ${teacherSteps} sequential steps`);
    tf.dispose([x, z]);
    student.dispose();
    teacher.dispose();
  });
});
