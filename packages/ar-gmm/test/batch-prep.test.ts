import { Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { parseTrainConfig, prepareBatch } from '../src/index.js';

// 8 images of 1×4 grey whose pixels are distinct, so a mirrored image is recognisable.
const batch = () => {
  const data = new Uint8Array(8 * 4).map((_, j) => j * 7);
  return { images: { data, count: 8, height: 1, width: 4, channels: 1 }, labels: Int32Array.from({ length: 8 }, (_, i) => i % 3), indices: new Int32Array(8), epoch: 0 };
};
const row = (v: Float32Array, i: number) => Array.from(v.subarray(i * 4, i * 4 + 4), (x) => Math.round(((x + 1) / 2) * 255 * 4) / 4);

describe('prepareBatch', () => {
  it('without hflip draws exactly as before: label drop, then noise', () => {
    const cfg = parseTrainConfig({ steps: 10, noise: { mode: 'gaussian', sigmaStart: 0, sigmaEnd: 0 } });
    const a = prepareBatch(batch(), cfg, new Rng(3), 0, 3);
    const r = new Rng(3);
    const dropped = Array.from({ length: 8 }, () => r.next() < 0.1);
    expect(Array.from(a.labels)).toEqual(Array.from(batch().labels, (l, i) => (dropped[i] ? -1 : l)));
    for (let i = 0; i < 8; i++) expect(row(a.values, i)).toEqual(Array.from({ length: 4 }, (_, x) => (i * 4 + x) * 7));
  });

  it('with hflip mirrors about half the images, chosen after the label draws, and keeps the others', () => {
    const cfg = parseTrainConfig({ steps: 10, hflip: true, noise: { mode: 'gaussian', sigmaStart: 0, sigmaEnd: 0 } });
    const a = prepareBatch(batch(), cfg, new Rng(5), 0, 3);
    const r = new Rng(5);
    for (let i = 0; i < 8; i++) r.next();
    const mirrored = Array.from({ length: 8 }, () => r.next() < 0.5);
    expect(mirrored.some(Boolean) && !mirrored.every(Boolean)).toBe(true);
    for (let i = 0; i < 8; i++) {
      const orig = Array.from({ length: 4 }, (_, x) => (i * 4 + x) * 7);
      expect(row(a.values, i)).toEqual(mirrored[i] ? orig.reverse() : orig);
    }
  });
});
