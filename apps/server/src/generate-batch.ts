import type { FarmerRunner } from '@farmer/ar-gmm';
import { sliceImages } from '@farmer/core';
import { generate, resolveGenerateOptions, type GenerateOptions, type GenerateResult } from '@farmer/sampling';
import type { JobMember } from './job-queue.js';

/** A generate request as the queue holds it: library options with the seed drawn. */
export type GenerateRequest = GenerateOptions & { seed: number };

/** Resolved options that do not change how an image is drawn, only which images. */
const PER_REQUEST = new Set(['count', 'labels', 'seed', 'batchSize']);

/** Requests may share a pass when their resolved settings (sampler included) agree: this key says so. */
export function generateBatchKey(runner: FarmerRunner, o: GenerateOptions): string {
  const resolved = resolveGenerateOptions(runner, o) as unknown as Record<string, unknown>;
  return JSON.stringify(Object.entries(resolved).filter(([k]) => !PER_REQUEST.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Draws the images of one job's generate requests (equal batch keys) in
 * one `generate` call: mixed labels, each image with its own seed
 * (`imageSeeds[i]`, else `${seed}:${i}` of its request), then split per
 * request. A batch gives every image the bytes it gets alone (the samplers
 * draw per image; the runtimes compute rows independently), so every client
 * gets exactly its own images, and a batch of B costs far less than B
 * passes on a CPU. `signal` stops the pass (the queue fires it once every
 * client has gone).
 */
export async function generateTogether(runner: FarmerRunner, members: readonly JobMember<GenerateRequest>[], signal: AbortSignal): Promise<GenerateResult[]> {
  if (members.length === 1) return [await generate(runner, { ...members[0].input, signal })];
  const labels: number[] = [];
  const imageSeeds: (number | string)[] = [];
  const unconditional = members.every((m) => m.input.labels === null || m.input.labels === undefined);
  for (const { input: o } of members) {
    for (let i = 0; i < o.count; i++) {
      const l = o.labels;
      labels.push(l === null || l === undefined ? -1 : typeof l === 'number' ? l : l[i]);
      imageSeeds.push(o.imageSeeds?.[i] ?? `${o.seed}:${i}`);
    }
  }
  const first = members[0].input;
  const r = await generate(runner, { ...first, count: labels.length, labels: unconditional ? null : labels, imageSeeds, batchSize: labels.length, signal });
  let at = 0;
  return members.map(({ input: o }) => {
    const own = sliceImages(r.images, at, o.count);
    const result = { ...r, images: { ...own, data: own.data.slice() }, labels: r.labels.slice(at, at + o.count), parameters: resolveGenerateOptions(runner, o) };
    at += o.count;
    return result;
  });
}
