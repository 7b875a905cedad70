import { checkU8Images, FarmerError, type U8Images } from '@farmer/core';
import type { OnnxExtractorSpec } from './sidecar.js';

/** The part of a sidecar that decides the input tensor. */
export type PreprocessSpec = Pick<OnnxExtractorSpec, 'inputSize' | 'layout' | 'channels' | 'range' | 'mean' | 'std'>;

/** Source index pairs and weights of one resized axis. */
interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  /** Weight of i1; i0 gets 1 − w. */
  w: Float64Array;
}

/**
 * Bilinear taps with half-pixel centres, exactly PyTorch's
 * `F.interpolate(mode='bilinear', align_corners=False)` without antialiasing
 * (what pytorch-fid uses to bring images to 299×299): source coordinate
 * (dst + 0.5)·in/out − 0.5, clamped at 0, edge pixels repeated. At equal
 * sizes every tap has weight 0 and the resize is the identity.
 */
export function bilinearTaps(inSize: number, outSize: number): AxisTaps {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float64Array(outSize);
  for (let d = 0; d < outSize; d++) {
    const src = Math.max((d + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[d] = lo;
    i1[d] = Math.min(lo + 1, inSize - 1);
    w[d] = src - lo;
  }
  return { i0, i1, w };
}

/**
 * Turns u8 images into a model input: bilinear resize to `inputSize`, values
 * 0…255 mapped linearly onto `range`, then (x − mean[c]) / std[c] per channel,
 * grayscale replicated to 3 channels when the model wants 3. Resizing acts on
 * the unquantised values; since the value map is affine and the bilinear
 * weights sum to 1, the order of the two does not matter.
 *
 * @param images - `[count, h, w, c]` u8 with c = 1 or 3.
 * @returns float32 `[count, C, H, W]` (NCHW) or `[count, H, W, C]` (NHWC), written into `out` if given.
 */
export function preprocessImages(images: U8Images, spec: PreprocessSpec, out?: Float32Array): Float32Array {
  checkU8Images(images);
  const { count: n, height: h, width: w, channels: cs, data } = images;
  const [oh, ow] = spec.inputSize;
  const c = spec.channels;
  if (cs !== c && !(cs === 1 && c === 3)) {
    throw new FarmerError(
      'FARMER_E_SHAPE',
      `the feature extractor takes ${c}-channel images but these have ${cs} channel(s); ${cs === 3 ? 'convert them to grayscale first' : 'pass grayscale or RGB images'}`,
    );
  }
  const size = n * c * oh * ow;
  const dst = out ? out.subarray(0, size) : new Float32Array(size);
  if (dst.length < size) throw new RangeError(`preprocessImages: out holds ${out?.length} values, needs ${size}`);
  // Per channel: value = raw·a[ch] + b[ch], folding range, mean and std into one affine map of 0…255.
  const [lo, hi] = spec.range;
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const m = spec.mean?.[ch] ?? 0;
    const s = spec.std?.[ch] ?? 1;
    a[ch] = (hi - lo) / 255 / s;
    b[ch] = (lo - m) / s;
  }
  const ty = bilinearTaps(h, oh);
  const tx = bilinearTaps(w, ow);
  const nchw = spec.layout === 'NCHW';
  const plane = oh * ow;
  for (let img = 0; img < n; img++) {
    const base = img * h * w * cs;
    for (let y = 0; y < oh; y++) {
      const r0 = base + ty.i0[y] * w * cs;
      const r1 = base + ty.i1[y] * w * cs;
      const wy = ty.w[y];
      for (let x = 0; x < ow; x++) {
        const c0 = tx.i0[x] * cs;
        const c1 = tx.i1[x] * cs;
        const wx = tx.w[x];
        for (let ch = 0; ch < c; ch++) {
          const sc = cs === 1 ? 0 : ch;
          const top = data[r0 + c0 + sc] * (1 - wx) + data[r0 + c1 + sc] * wx;
          const bottom = data[r1 + c0 + sc] * (1 - wx) + data[r1 + c1 + sc] * wx;
          const v = (top * (1 - wy) + bottom * wy) * a[ch] + b[ch];
          dst[nchw ? (img * c + ch) * plane + y * ow + x : ((img * oh + y) * ow + x) * c + ch] = v;
        }
      }
    }
  }
  return dst;
}
