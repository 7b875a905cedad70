import { createHash } from 'node:crypto';
import recorded from '../fixtures/reference-images.json';

/** The surfaces a reference request was drawn through when the references were recorded. */
export type ReferenceSurface = 'cli-onnx' | 'cli-tfjs' | 'server' | 'sharded' | 'page-wasm';

/**
 * One fixed generate request of the reference images (issue 29), spelled
 * once per surface, with the SHA-256 of what each surface drew when the
 * references were recorded (see `fixtures/reference-images.json` and
 * `scripts/record-reference-images.mjs`, which wrote it).
 */
export interface ReferenceCase {
  name: string;
  /** The built-in model. */
  model: string;
  about: string;
  /** Flags after `farmer sample --model MODEL`. */
  cli: string[];
  /** Body of POST /v1/models/MODEL/generate (the server run with --batch-size 4). */
  server: Record<string, unknown>;
  /** The playground's URL query, or null when the page cannot express the request. */
  page: string | null;
  /** Extra flags of `farmer sample --redis` (with the `cli` ones), or null when not run sharded. */
  sharded: string[] | null;
  /** Also drawn with `farmer --backend wasm sample --runtime tfjs`. */
  tfjs?: boolean;
  /** The label of each image (−1: unconditional). */
  labels: number[];
  /** {@link imagesSha256} of the images per surface. */
  sha256: Partial<Record<ReferenceSurface, string>>;
}

/** The reference requests and their recorded hashes. Never regenerated to make a test pass: a changed hash means changed images. */
export const REFERENCE_CASES: readonly ReferenceCase[] = (recorded as { cases: ReferenceCase[] }).cases;

/** SHA-256 (hex) of images' u8 pixels (grey, HW each), concatenated in order: the hash the references hold. */
export function imagesSha256(images: Iterable<Uint8Array>): string {
  const h = createHash('sha256');
  for (const im of images) h.update(im);
  return h.digest('hex');
}
