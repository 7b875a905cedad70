import { imagesToTensor, tf, type U8Images } from '@farmer/core';
import type { Flow } from '@farmer/flow';

/** Per-image AF logdets over a set of images, their quartiles and Tukey-fence outliers, from {@link logdetDiagnostics} (docs/method.md §10.1 logdet outliers). */
export interface LogdetDiagnostics {
  /** Σ_t log|det_t| per sample, in nats per dimension [count]. */
  logdet: Float64Array;
  stats: { mean: number; std: number; q1: number; median: number; q3: number };
  /** Samples with logdet above q3 + 1.5·IQR (the paper's blurred outliers), highest first. */
  high: number[];
  /** Samples below q1 − 1.5·IQR. */
  low: number[];
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Per-sample AF log-determinants (docs/method.md §10.1 logdet outliers): their
 * distribution and the Tukey-fence outliers. The paper ties high-logdet
 * outliers to blurred samples (strong compression of parts of the data space).
 */
export async function logdetDiagnostics(flow: Flow, images: U8Images, batchSize = 128): Promise<LogdetDiagnostics> {
  const out = new Float64Array(images.count);
  const per = images.height * images.width * images.channels;
  const dims = flow.numTokens * flow.tokenDim;
  for (let s = 0; s < images.count; s += batchSize) {
    const n = Math.min(batchSize, images.count - s);
    const v = tf.tidy(() => {
      const r = flow.forwardImages(imagesToTensor({ ...images, data: images.data.subarray(s * per, (s + n) * per), count: n }));
      return tf.addN(r.logdets).dataSync();
    });
    for (let i = 0; i < n; i++) out[s + i] = v[i] / dims;
    await new Promise((r) => setImmediate(r));
  }
  const sorted = Float64Array.from(out).sort();
  const mean = out.reduce((a, b) => a + b, 0) / out.length;
  const std = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, out.length - 1));
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  const iqr = q3 - q1;
  const idx = Array.from(out.keys());
  return {
    logdet: out,
    stats: { mean, std, q1, median: quantile(sorted, 0.5), q3 },
    high: idx.filter((i) => out[i] > q3 + 1.5 * iqr).sort((a, b) => out[b] - out[a]),
    low: idx.filter((i) => out[i] < q1 - 1.5 * iqr).sort((a, b) => out[a] - out[b]),
  };
}
