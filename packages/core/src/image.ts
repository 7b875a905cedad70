import { FarmerError } from './errors.js';

/** A batch of u8 images in HWC layout, as decoders give them. */
export interface U8Images {
  /** [count, height, width, channels], row-major. */
  data: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** Throws FARMER_E_SHAPE when the buffer's length is not count·H·W·C. */
export function checkU8Images(im: U8Images): void {
  const want = im.count * im.height * im.width * im.channels;
  if (im.data.length !== want) {
    throw new FarmerError(
      'FARMER_E_SHAPE',
      `image buffer has ${im.data.length} bytes, expected count·H·W·C = ${im.count}·${im.height}·${im.width}·${im.channels} = ${want}`,
    );
  }
}

/**
 * HWC u8 → NCHW float on the host, value `f(k, i)` for byte k landing at flat
 * NCHW index i. The one place that knows both layouts.
 */
export function mapU8ToNCHW(im: U8Images, f: (k: number, i: number) => number): Float32Array {
  checkU8Images(im);
  const { count: n, height: h, width: w, channels: c, data } = im;
  const out = new Float32Array(n * c * h * w);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((b * h + y) * w + x) * c;
        for (let ch = 0; ch < c; ch++) {
          const dst = ((b * c + ch) * h + y) * w + x;
          out[dst] = f(data[src + ch], dst);
        }
      }
    }
  }
  return out;
}

/** docs/method.md §2.1 data scale: x = 2·k/255 − 1, HWC u8 → NCHW float in [-1, 1] on the host. */
export function u8ToFloatNCHW(im: U8Images): Float32Array {
  return mapU8ToNCHW(im, (k) => (2 * k) / 255 - 1);
}

/** docs/method.md §2.4 output quantisation: k = clamp(round((x + 1)·127.5), 0, 255). */
export function quantizeToU8(x: number): number {
  const k = Math.round((x + 1) * 127.5);
  return k < 0 ? 0 : k > 255 ? 255 : k;
}

/**
 * Float NCHW values → HWC u8 images. Throws on NaN/Inf with the position, so a
 * broken sample never turns silently into a black image.
 */
export function floatNCHWToU8(values: ArrayLike<number>, shape: [number, number, number, number]): U8Images {
  const [n, c, h, w] = shape;
  if (values.length !== n * c * h * w) throw new FarmerError('FARMER_E_SHAPE', `expected ${n * c * h * w} values, got ${values.length}`);
  const data = new Uint8Array(n * h * w * c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = values[((b * c + ch) * h + y) * w + x];
          if (!Number.isFinite(v)) {
            throw new FarmerError('FARMER_E_NON_FINITE', `image ${b} has a non-finite value at channel ${ch}, row ${y}, column ${x}`, {
              image: b,
              channel: ch,
              row: y,
              column: x,
            });
          }
          data[((b * h + y) * w + x) * c + ch] = quantizeToU8(v);
        }
      }
    }
  }
  return { data, count: n, height: h, width: w, channels: c };
}

/** Selects images [start, start + count) of a batch without copying. */
export function sliceImages(im: U8Images, start: number, count: number): U8Images {
  const per = im.height * im.width * im.channels;
  return { ...im, data: im.data.subarray(start * per, (start + count) * per), count };
}
