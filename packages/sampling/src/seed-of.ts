/**
 * The seed of image `i` of a request with seed `seed`: `"${seed}:${i}"`.
 * Every image draws from its own generator seeded this way, so a batch
 * gives each image the bytes it gets alone, a sharded job the bytes of one
 * process, and a request can draw image i again alone (`imageSeeds`). The
 * one definition of the rule: the library, the server's answers and the
 * queue's shards all use it.
 */
export function seedOf(seed: number | string, i: number): string {
  return `${seed}:${i}`;
}
