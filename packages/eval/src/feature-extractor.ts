import { createHash } from 'node:crypto';
import type { U8Images } from '@farmer/core';
import type { FeatureMatrix } from './feature-matrix.js';

/**
 * Who produced a set of features. Features (and statistics computed from
 * them) are only comparable when both fields match.
 */
export interface ExtractorIdentity {
  /** Human-readable name, e.g. 'pt_inception-2015-12-05/pool3'. */
  id: string;
  /** Hex digest of everything that changes the features: weights, preprocessing. */
  hash: string;
}

/** Options for {@link FeatureExtractor.extract}. */
export interface ExtractOptions {
  /** Called after each batch with the number of images done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Stops between batches with FARMER_E_ABORTED. */
  signal?: AbortSignal;
}

/**
 * The contract every feature extractor implements (the ONNX runner in
 * `@farmer/eval/onnx`, the built-in classifier): images in, one feature row
 * per image out.
 */
export interface FeatureExtractor {
  readonly identity: ExtractorIdentity;
  /**
   * Features of `images`.
   *
   * @param images - `[count, H, W, C]` u8.
   * @returns `[count, f]` float32.
   */
  extract(images: U8Images, opts?: ExtractOptions): Promise<FeatureMatrix>;
  /** Releases native resources. */
  dispose(): Promise<void>;
}

/**
 * SHA-256 over length-prefixed parts (bytes or strings), hex. Length
 * prefixes keep ('ab', 'c') and ('a', 'bc') apart.
 */
export function hashParts(parts: readonly (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const bytes = typeof p === 'string' ? new TextEncoder().encode(p) : p;
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(bytes.length));
    h.update(len);
    h.update(bytes);
  }
  return h.digest('hex');
}
