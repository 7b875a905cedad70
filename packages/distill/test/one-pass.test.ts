import { initBackend, Rng, tf } from '@farmer/core';
import { Flow, flowDims } from '@farmer/flow';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { distillLossAndGrads, Student } from '../src/index.js';
import { randomize } from '@farmer/test-utils';

const config = { inChannels: 1, imageSize: 28, patchSize: 4, width: 32, numBlocks: 3, layersPerBlock: 1, headDim: 16 };

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('one parallel pass per block', () => {
  it('a distillation step chains the student once: n outputs of [B, N, d] (each chain is n bidirectional passes, see @farmer/flow)', () => {
    const teacher = Flow.create(config, 1);
    randomize(teacher.params, 2, { scale: 0.1, projOut: 0.02 });
    const student = Student.fromTeacher(teacher);
    const { numTokens: N, tokenDim: d } = flowDims(teacher.config);
    const chain = vi.spyOn(student, 'chain');
    const r = distillLossAndGrads(teacher, student, {
      values: new Rng('x').uniform(2 * 28 * 28, -1, 1),
      shape: [2, 1, 28, 28],
      eps: new Rng('e').normal(2 * N * d),
      scales: Float32Array.of(0.1, 0.2),
    });
    expect(chain).toHaveBeenCalledTimes(1);
    expect(chain.mock.calls[0][0].shape).toEqual([2, N, d]);
    expect(chain.mock.results[0].value).toHaveLength(config.numBlocks);
    tf.dispose(r.grads);
    student.dispose();
    teacher.dispose();
  });
});
