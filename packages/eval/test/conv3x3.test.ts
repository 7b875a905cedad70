import { initBackend, normalTensor, Rng, tf } from '@farmer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conv3x3Same, im2col3x3 } from '../src/classifier/conv3x3.js';

/** max |a − b| ≤ atol + rtol·max|b|. */
function expectAllClose(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol = 0): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  if (!(worst <= atol + rtol * scale)) throw new Error(`max |diff| ${worst} > ${atol} + ${rtol}·${scale}`);
}

/** x [B, H, W, Cin], w [9·Cin, Cout] and a fixed random cotangent r [B, H, W, Cout] for the loss Σ conv·r. */
function problem(seed: string, [b, h, w, cin, cout]: number[]) {
  const rng = new Rng(seed);
  return { x: rng.normal(b * h * w * cin), w: rng.normal(9 * cin * cout), r: rng.normal(b * h * w * cout), shape: { b, h, w, cin, cout } };
}
type Problem = ReturnType<typeof problem>;

/** conv3x3Same and its gradients of Σ conv·r wrt x and w, on the current backend. */
function ours(p: Problem): { y: Float32Array; dx: Float32Array; dw: Float32Array } {
  const { b, h, w, cin, cout } = p.shape;
  return tf.tidy(() => {
    const x = tf.tensor4d(p.x, [b, h, w, cin]);
    const wt = tf.tensor2d(p.w, [9 * cin, cout]);
    const r = tf.tensor4d(p.r, [b, h, w, cout]);
    const y = conv3x3Same(x, wt).dataSync() as Float32Array;
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv3x3Same(xx as tf.Tensor4D, ww as tf.Tensor2D), r)))([x, wt]);
    return { y: Float32Array.from(y), dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

/** The same through tf.conv2d (HWIO filter = the weight reshaped), on the current backend. */
function reference(p: Problem): { y: Float32Array; dx: Float32Array; dw: Float32Array } {
  const { b, h, w, cin, cout } = p.shape;
  return tf.tidy(() => {
    const x = tf.tensor4d(p.x, [b, h, w, cin]);
    const f = tf.tensor4d(p.w, [3, 3, cin, cout]);
    const r = tf.tensor4d(p.r, [b, h, w, cout]);
    const y = tf.conv2d(x, f, 1, 'same').dataSync() as Float32Array;
    const [dx, dw] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same'), r)))([x, f]);
    return { y: Float32Array.from(y), dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

describe('conv3x3Same (docs/method.md §13.7 Feature classifier)', () => {
  afterAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  describe('on cpu, against tf.conv2d', () => {
    beforeAll(async () => {
      await initBackend({ backend: 'cpu' });
    });

    it('im2col puts tap (ky, kx) of channel c at (ky·3 + kx)·Cin + c, zero outside the image', () => {
      // x[0, y, x, c] = 100·y + 10·x + c + 1, so every patch entry names its source pixel.
      const [h, w, c] = [3, 4, 2];
      const x = new Float32Array(h * w * c).map((_, i) => 100 * Math.floor(i / (w * c)) + 10 * (Math.floor(i / c) % w) + (i % c) + 1);
      const cols = tf.tidy(() => im2col3x3(tf.tensor4d(x, [1, h, w, c])).dataSync());
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              for (let ch = 0; ch < c; ch++) {
                const sy = y + ky - 1;
                const sx = xx + kx - 1;
                const want = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : 100 * sy + 10 * sx + ch + 1;
                expect(cols[((y * w + xx) * 9 + ky * 3 + kx) * c + ch]).toBe(want);
              }
            }
          }
        }
      }
    });

    it('matches tf.conv2d forward and both gradients to 1e-5', () => {
      for (const dims of [
        [2, 5, 7, 3, 4],
        [1, 1, 1, 1, 1],
        [3, 8, 8, 6, 5],
      ]) {
        const p = problem(`conv:${dims}`, dims);
        const a = ours(p);
        const r = reference(p);
        expectAllClose(a.y, r.y, 1e-5, 1e-6);
        expectAllClose(a.dx, r.dx, 1e-5, 1e-6);
        expectAllClose(a.dw, r.dw, 1e-5, 1e-6);
      }
    });

    it('the weight gradient equals central finite differences of the loss', () => {
      // Σ conv·r is linear in w, so a wide step has no truncation error, only float32 rounding.
      const p = problem('conv:fd', [2, 4, 5, 3, 2]);
      const { b, h, w, cin, cout } = p.shape;
      const loss = (wv: Float32Array): number =>
        tf.tidy(() => tf.sum(tf.mul(conv3x3Same(tf.tensor4d(p.x, [b, h, w, cin]), tf.tensor2d(wv, [9 * cin, cout])), tf.tensor4d(p.r, [b, h, w, cout]))).dataSync()[0]);
      const { dw } = ours(p);
      const eps = 0.5;
      const fd = new Float32Array(dw.length);
      for (let i = 0; i < dw.length; i++) {
        const up = Float32Array.from(p.w);
        const down = Float32Array.from(p.w);
        up[i] += eps;
        down[i] -= eps;
        fd[i] = (loss(up) - loss(down)) / (2 * eps);
      }
      expectAllClose(dw, fd, 2e-3, 1e-4);
    });

    it('refuses a weight that does not fit the input channels, and leaves no tensor behind', () => {
      const before = tf.memory().numTensors;
      const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
      const w = tf.zeros([9 * 2, 5]) as tf.Tensor2D;
      expect(() => conv3x3Same(x, w)).toThrow(/needs \[27, Cout\] for 3 input channels/);
      tf.dispose([x, w]);
      const p = problem('conv:mem', [1, 4, 4, 2, 3]);
      ours(p);
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('trains on wasm: its gradients there equal tf.conv2d’s on cpu', async () => {
    // wasm registers no Conv2DBackpropFilter; every op of conv3x3Same has a wasm gradient.
    const p = problem('conv:wasm', [2, 6, 6, 4, 3]);
    await initBackend({ backend: 'cpu' });
    const r = reference(p);
    await initBackend({ backend: 'wasm' });
    expect(() => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(normalTensor(new Rng(0), [1, 4, 4, 1]) as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')))(tf.ones([3, 3, 1, 1])))).toThrow();
    const a = ours(p);
    expectAllClose(a.y, r.y, 1e-5, 1e-6);
    expectAllClose(a.dx, r.dx, 1e-5, 1e-6);
    expectAllClose(a.dw, r.dw, 1e-5, 1e-6);
  });
});
