import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { patchIndexMap, tokenShape } from './patch-geometry.js';
import { patchify, unpatchify } from './patchify.js';
import { tf } from './tf.js';

describe('patchify (PyTorch unfold order)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('matches hand-computed indices on a 2-channel 4×4 image with p = 2', () => {
    // Pixel value = its flat NCHW index ch·16 + row·4 + col.
    const x = tf.tensor4d(Float32Array.from({ length: 32 }, (_, i) => i), [1, 2, 4, 4]);
    const p = patchify(x, 2);
    expect(p.shape).toEqual([1, 4, 8]);
    const rows = p.arraySync()[0];
    // Token 0: top-left patch; feature ch·4 + i·2 + j.
    expect(rows[0]).toEqual([0, 1, 4, 5, 16, 17, 20, 21]);
    // Token 1: top-right patch (row-major over patches).
    expect(rows[1]).toEqual([2, 3, 6, 7, 18, 19, 22, 23]);
    // Token 2: bottom-left.
    expect(rows[2]).toEqual([8, 9, 12, 13, 24, 25, 28, 29]);
    expect(rows[3]).toEqual([10, 11, 14, 15, 26, 27, 30, 31]);
    tf.dispose([x, p]);
  });

  it('agrees with the host index map and round-trips on non-square images', () => {
    const g = { channels: 3, height: 8, width: 12, patchSize: 4 };
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 3 * 8 * 12 }, (_, i) => i), [2, 3, 8, 12]);
    const p = patchify(x, 4);
    const { numTokens, tokenDim } = tokenShape(g);
    expect(p.shape).toEqual([2, numTokens, tokenDim]);
    const map = patchIndexMap(g);
    const pd = p.dataSync();
    const per = 3 * 8 * 12;
    for (let b = 0; b < 2; b++) for (let i = 0; i < map.length; i++) expect(pd[b * map.length + i]).toBe(b * per + map[i]);
    const back = unpatchify(p, g);
    expect(back.dataSync()).toEqual(x.dataSync());
    tf.dispose([x, p, back]);
  });

  it('refuses sizes the patch does not divide, and wrong token shapes', () => {
    const x = tf.zeros([1, 1, 6, 6]) as tf.Tensor4D;
    expect(() => patchify(x, 4)).toThrow(/not divisible by patch size 4/);
    const t = tf.zeros([1, 3, 4]) as tf.Tensor3D;
    expect(() => unpatchify(t, { channels: 1, height: 4, width: 4, patchSize: 2 })).toThrow(/unpatchify/);
    tf.dispose([x, t]);
  });

  it('leaks no tensors', () => {
    const x = tf.randomNormal([2, 1, 8, 8]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const p = patchify(x, 2);
      tf.dispose([p, unpatchify(p, { channels: 1, height: 8, width: 8, patchSize: 2 })]);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
