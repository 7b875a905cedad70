import { compositeRgba, type Background, type Rng } from '@farmer/core';

/** The shape of a batch of NCHW images: how many, channels, height, width. */
export interface NchwShape {
  count: number;
  channels: number;
  height: number;
  width: number;
}

/**
 * The classifier's training augmentation: each image of x [N, C, H, W] in
 * [-1, 1] shifted by a random integer (dy, dx) ∈ [−2, 2]², the uncovered
 * border filled with the dataset's `background` (the colour a fully
 * transparent pixel becomes, docs/method.md §2.6 Transparency: white for
 * emoji, black for MNIST), and, with `flip`, mirrored left–right with
 * probability ½. The draws per image are dy, dx, then the flip (only when
 * `flip`), so without it the stream is that of the shift alone.
 */
export function shiftAugment(xNCHW: Float32Array, shape: NchwShape, background: Background, rng: Rng, opts: { flip?: boolean } = {}): Float32Array {
  const { count: n, channels: c, height: h, width: w } = shape;
  // The background as this image's pixel: one colour channel each, or its luma for grey images.
  const fill = Array.from(compositeRgba([0, 0, 0, 0], c === 1 ? 1 : 3, background), (k) => (2 * k) / 255 - 1);
  const out = new Float32Array(xNCHW.length);
  for (let b = 0; b < n; b++) {
    const dy = rng.int(5) - 2;
    const dx = rng.int(5) - 2;
    const flip = opts.flip === true && rng.next() < 0.5;
    for (let ch = 0; ch < c; ch++) {
      const plane = (b * c + ch) * h * w;
      out.fill(fill[c === 1 ? 0 : ch], plane, plane + h * w);
      for (let y = 0; y < h; y++) {
        const sy = y - dy;
        if (sy < 0 || sy >= h) continue;
        for (let xx = 0; xx < w; xx++) {
          const sx = flip ? w - 1 - (xx - dx) : xx - dx;
          if (sx < 0 || sx >= w) continue;
          out[plane + y * w + xx] = xNCHW[plane + sy * w + sx];
        }
      }
    }
  }
  return out;
}
