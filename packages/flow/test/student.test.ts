import { initBackend, normalTensor, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { alphaMu, blockNet, blockWeights, Flow, flowDims, Student, studentBlock } from '../src/index.js';
import { maxAbsDiff, randomize } from '@farmer/test-utils';

const small = { inChannels: 1, imageSize: 8, patchSize: 2, width: 32, numBlocks: 3, layersPerBlock: 2, headDim: 16 };

function latents(flow: Flow, batch: number, seed: number): tf.Tensor3D {
  const { numTokens, tokenDim } = flowDims(flow.config);
  return normalTensor(new Rng(`z:${seed}`), [batch, numTokens, tokenDim]) as tf.Tensor3D;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('Student', () => {
  it('is the exact inverse of an identity teacher (zero proj_out) at step 0, whatever its other weights', async () => {
    for (const config of [small, { ...small, numClasses: 3 }, { ...small, nvp: false }]) {
      const teacher = Flow.create(config, 1);
      randomize(teacher.params, 2, { scale: 0.3, projOut: 0 }); // every weight but proj_out
      const student = Student.fromTeacher(teacher);
      const z = latents(teacher, 4, 3);
      const exact = await teacher.reverse(z);
      const x = tf.tidy(() => student.decode(z));
      expect(maxAbsDiff(x.dataSync(), exact.dataSync())).toBe(0);
      expect(maxAbsDiff(x.dataSync(), z.dataSync())).toBe(0);
      tf.dispose([z, exact, x]);
      student.dispose();
      teacher.dispose();
    }
  });

  it('copies the teacher without sharing its variables; teacher-identity init zeroes only proj_out', () => {
    const teacher = Flow.create(small, 4);
    randomize(teacher.params, 5, { scale: 0.1, projOut: 0.02 });
    const a = Student.fromTeacher(teacher);
    const b = Student.fromTeacher(teacher, { init: 'teacher-identity' });
    for (const name of teacher.params.names()) {
      const t = teacher.params.get(name).dataSync();
      expect(a.params.get(name)).not.toBe(teacher.params.get(name));
      expect(maxAbsDiff(a.params.get(name).dataSync(), t)).toBe(0);
      const want = /proj_out/.test(name) ? new Float32Array(t.length) : t;
      expect(maxAbsDiff(b.params.get(name).dataSync(), want)).toBe(0);
    }
    expect(a.variableNames()[0]).toBe('student.blocks.0.proj_in.weight');
    [a, b, teacher].forEach((m) => m.dispose());
  });

  it('pairs token i with pos_embed row i in a flipped block, as the teacher does (the flip itself then cancels)', () => {
    // Bidirectional attention with an unshifted per-token output is permutation-equivariant,
    // so permuting input and pos_embed into working order, running, and un-permuting equals
    // running in original order with pos_embed row i on token i. (Permuting the input alone
    // would not: that pairs token i with row N-1-i.)
    const teacher = Flow.create(small, 6);
    randomize(teacher.params, 7, { scale: 0.1, projOut: 0.05 });
    const z = latents(teacher, 2, 8);
    const c = teacher.config;
    const { tokenDim: d, heads } = flowDims(c);
    const [viaFlip, direct, inputOnly] = tf.tidy(() => {
      const bw = blockWeights(teacher.params, c, 1); // t = 1: a flipped block
      const asIs = { ...bw, t: 0 }; // the same weights, no permutation anywhere
      const apply = (zz: tf.Tensor3D, out: tf.Tensor3D) => {
        const { alpha, mu } = alphaMu(out, c, d);
        return tf.add(tf.mul(zz, tf.exp(alpha)), mu);
      };
      const flippedInput = tf.reverse(z, 1) as tf.Tensor3D;
      return [
        studentBlock(bw, c, z, undefined),
        apply(z, blockNet(asIs, heads, z, undefined)),
        tf.reverse(apply(flippedInput, blockNet(asIs, heads, flippedInput, undefined)), 1),
      ];
    });
    expect(maxAbsDiff(viaFlip.dataSync(), direct.dataSync())).toBeLessThan(1e-5);
    expect(maxAbsDiff(viaFlip.dataSync(), inputOnly.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([z, viaFlip, direct, inputOnly]);
    teacher.dispose();
  });

  it('keeps the tensor count flat and refuses latents of the wrong shape', () => {
    const teacher = Flow.create(small, 9);
    const student = Student.fromTeacher(teacher);
    const z = latents(teacher, 2, 10);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tidy(() => student.decode(z)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => tf.tidy(() => student.decode(tf.zeros([2, 3, 4]) as tf.Tensor3D))).toThrow(/student input must be \[B, 16, 4\], got \[2,3,4\]/);
    z.dispose();
    student.dispose();
    teacher.dispose();
  });
});
