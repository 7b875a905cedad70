import type { FarmerRunner } from '@farmer/ar-gmm';
import { sliceImages } from '@farmer/core/browser';
import { generate, type GenerateResult } from './generate.js';
import { resolveGenerateOptions, type GenerateOptions } from './resolve-generate-options.js';
import { seedOf } from './seed-of.js';

/** A generate request with its seed drawn and its count settled ({@link imageCount}): what a server or a worker queues. */
export type GenerateRequest = GenerateOptions & { seed: number; count: number };

/** Resolved options that do not change how an image is drawn, only which images. */
const PER_REQUEST = new Set(['count', 'labels', 'seed', 'batchSize']);

/** Requests may share a pass when their resolved settings (sampler included) agree: this key says so. Throws as `resolveGenerateOptions` does. */
export function generateBatchKey(runner: FarmerRunner, o: GenerateOptions): string {
  const resolved = resolveGenerateOptions(runner, o) as unknown as Record<string, unknown>;
  return JSON.stringify(Object.entries(resolved).filter(([k]) => !PER_REQUEST.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Draws the images of several generate requests with equal batch keys in
 * one `generate` call: mixed labels, each image with its own seed
 * (`imageSeeds[i]`, else {@link seedOf}(seed, i) of its request), then split
 * per request. A batch gives every image the bytes it gets alone (the
 * samplers draw per image; the runtimes compute rows independently), so
 * every caller gets exactly its own images, and a batch of B costs far less
 * than B passes on a CPU. `signal` stops the pass.
 */
export async function generateTogether(runner: FarmerRunner, requests: readonly GenerateRequest[], signal?: AbortSignal): Promise<GenerateResult[]> {
  if (requests.length === 1) return [await generate(runner, { ...requests[0], signal })];
  const labels: number[] = [];
  const imageSeeds: (number | string)[] = [];
  const unconditional = requests.every((o) => o.labels === null || o.labels === undefined);
  for (const o of requests) {
    for (let i = 0; i < o.count; i++) {
      const l = o.labels;
      labels.push(l === null || l === undefined ? -1 : typeof l === 'number' ? l : l[i]);
      imageSeeds.push(o.imageSeeds?.[i] ?? seedOf(o.seed, i));
    }
  }
  const r = await generate(runner, { ...requests[0], count: labels.length, labels: unconditional ? null : labels, imageSeeds, batchSize: labels.length, signal });
  let at = 0;
  return requests.map((o) => {
    const own = sliceImages(r.images, at, o.count);
    const redrawn = r.redrawn.filter((x) => x.image >= at && x.image < at + o.count).map((x) => ({ ...x, image: x.image - at }));
    const result = { ...r, images: { ...own, data: own.data.slice() }, labels: r.labels.slice(at, at + o.count), parameters: resolveGenerateOptions(runner, o), redrawn };
    at += o.count;
    return result;
  });
}
