import type { FarmerRunner } from '@farmer/ar-gmm';
import { FarmerError, sliceImages } from '@farmer/core';
import { generate, resolveGenerateOptions, type GenerateOptions, type GenerateResult } from '@farmer/sampling';

/** One request waiting to be drawn as part of a batch. */
interface Group {
  members: Participant[];
  timer: NodeJS.Timeout;
}

interface Participant {
  options: GenerateOptions & { seed: number };
  signal: AbortSignal;
  resolve: (r: GenerateResult) => void;
  reject: (e: unknown) => void;
}

/** Resolved options that do not change how an image is drawn, only which images. */
const PER_REQUEST = new Set(['count', 'labels', 'seed', 'batchSize']);

/** Requests share a batch when their resolved settings (sampler included) agree. */
function batchKey(runner: FarmerRunner, o: GenerateOptions): string {
  const resolved = resolveGenerateOptions(runner, o) as unknown as Record<string, unknown>;
  return JSON.stringify(Object.entries(resolved).filter(([k]) => !PER_REQUEST.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Dynamic batching of generate requests for one model: requests that start
 * within the same short window with the same sampler settings are drawn in
 * one `generate` call (mixed labels, each image with its own seed), then
 * split. Because a batch gives the same images as one-at-a-time generation
 * with the same per-image seeds, every client still gets exactly its own
 * images; a batch of B costs far less than B single passes on a CPU. A batch
 * is cancelled only when every participant has gone away.
 */
export class GenerateBatcher {
  private pending = new Map<string, Group>();

  constructor(
    private readonly runner: FarmerRunner,
    private readonly maxImages: number,
    private readonly windowMs = 5,
  ) {}

  generate(options: GenerateOptions & { seed: number }, signal: AbortSignal): Promise<GenerateResult> {
    return new Promise((resolve, reject) => {
      const key = batchKey(this.runner, options);
      let group = this.pending.get(key);
      if (group && group.members.reduce((n, p) => n + p.options.count, 0) + options.count > this.maxImages) {
        this.flush(key);
        group = undefined;
      }
      if (!group) {
        group = { members: [], timer: setTimeout(() => this.flush(key), this.windowMs) };
        this.pending.set(key, group);
      }
      group.members.push({ options, signal, resolve, reject });
    });
  }

  private flush(key: string): void {
    const g = this.pending.get(key);
    if (!g) return;
    // A group flushed early (full) must not leave its timer to flush the next group under the same key.
    clearTimeout(g.timer);
    this.pending.delete(key);
    const group = g.members;
    const live = group.filter((p) => !p.signal.aborted);
    for (const p of group) if (p.signal.aborted) p.reject(new FarmerError('FARMER_E_ABORTED', 'the job was cancelled'));
    if (live.length) void this.run(live);
  }

  private async run(group: Participant[]): Promise<void> {
    if (group.length === 1) {
      const [p] = group;
      return generate(this.runner, { ...p.options, signal: p.signal }).then(p.resolve, p.reject);
    }
    // The batch stops only when every client has gone away.
    const all = new AbortController();
    let left = group.length;
    for (const p of group) {
      if (p.signal.aborted) left--;
      else p.signal.addEventListener('abort', () => --left === 0 && all.abort(), { once: true });
    }
    const labels: number[] = [];
    const imageSeeds: (number | string)[] = [];
    const unconditional = group.every((p) => p.options.labels === null || p.options.labels === undefined);
    for (const p of group) {
      const n = p.options.count;
      const l = p.options.labels;
      for (let i = 0; i < n; i++) {
        labels.push(l === null || l === undefined ? -1 : typeof l === 'number' ? l : l[i]);
        imageSeeds.push(p.options.imageSeeds?.[i] ?? `${p.options.seed}:${i}`);
      }
    }
    const first = group[0].options;
    try {
      const r = await generate(this.runner, { ...first, count: labels.length, labels: unconditional ? null : labels, imageSeeds, batchSize: labels.length, signal: all.signal });
      let at = 0;
      for (const p of group) {
        const n = p.options.count;
        if (p.signal.aborted) p.reject(new FarmerError('FARMER_E_ABORTED', 'the job was cancelled'));
        else {
          const own = sliceImages(r.images, at, n);
          p.resolve({ ...r, images: { ...own, data: own.data.slice() }, labels: r.labels.slice(at, at + n), parameters: resolveGenerateOptions(this.runner, p.options) });
        }
        at += n;
      }
    } catch (e) {
      for (const p of group) p.reject(e);
    }
  }
}
