import type { GenerateOptionsInput } from './generate-options-schema.js';

/**
 * How many images a request draws: `count` when given, else one per entry
 * of `labels` (or of `imageSeeds`) when it is a list, else 1. The one rule
 * of count's default, wherever labels are given: the library, the server
 * and the CLI alike.
 */
export function imageCount(o: Pick<GenerateOptionsInput, 'count' | 'imageSeeds'> & { labels?: number | ArrayLike<number> | null }): number {
  if (o.count !== undefined) return o.count;
  if (o.labels !== null && o.labels !== undefined && typeof o.labels !== 'number') return o.labels.length;
  return o.imageSeeds?.length ?? 1;
}
