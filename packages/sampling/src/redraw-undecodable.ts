import { FarmerError, isFarmerError } from '@farmer/core/browser';

/** An image whose first latents the decoder could not invert, and how many fresh draws it took. */
export interface RedrawnImage {
  /** Index of the image in the result. */
  image: number;
  /** Draws after the first (1 = the second draw decoded). */
  attempts: number;
}

/**
 * One sentence naming the images whose latents were drawn again, for the CLI's
 * note and the playground's status line, e.g. "the exact AF inverse could not
 * invert (non-finite) the first latents of 2 images: 3, 7 (2 draws); they were
 * drawn again from their own seed". Empty when nothing was redrawn.
 */
export function describeRedrawn(redrawn: readonly RedrawnImage[], decoder: string): string {
  const n = redrawn.length;
  if (n === 0) return '';
  const list = redrawn.map((x) => `${x.image}${x.attempts > 1 ? ` (${x.attempts} draws)` : ''}`).join(', ');
  const who = decoder === 'flow' ? 'the exact AF inverse' : `the ${decoder} decoder`;
  return `${who} could not invert (non-finite) the first latents of ${n} image${n > 1 ? 's' : ''}: ${list}; ${n > 1 ? 'they were' : 'it was'} drawn again from ${n > 1 ? 'their' : 'its'} own seed`;
}

/** The batch row a decoder's FARMER_E_NON_FINITE names (`details.sample`), or undefined for any other error. */
function nonFiniteRow(e: unknown, rows: number): number | undefined {
  if (!isFarmerError(e) || e.code !== 'FARMER_E_NON_FINITE') return undefined;
  const row = e.details?.sample;
  return Number.isInteger(row) && (row as number) >= 0 && (row as number) < rows ? (row as number) : undefined;
}

/**
 * Decodes a batch of latents z [B, N·d] (`rowSize` = N·d values per image),
 * drawing again the latents of an image the decoder cannot invert: when
 * `decode` throws FARMER_E_NON_FINITE naming row b (exp(α) of the exact AF
 * inverse overflowed on it), row b is replaced by `redraw(b, k)`, the k-th
 * fresh draw for that image, and the whole batch is decoded again, so every
 * other image decodes exactly as it would have. At most `attempts` fresh draws
 * per image; then the error is thrown, naming the image. `attempts` 0 throws
 * at once (docs/method.md §7.1 generation pipeline).
 */
export async function decodeRedrawing(
  decode: (z: Float32Array) => Promise<Float32Array>,
  redraw: (row: number, attempt: number) => Promise<Float32Array>,
  z: Float32Array,
  rowSize: number,
  attempts: number,
  firstImage: number,
): Promise<{ tokens: Float32Array; redrawn: RedrawnImage[] }> {
  const rows = z.length / rowSize;
  const tries = new Map<number, number>();
  for (;;) {
    try {
      const tokens = await decode(z);
      return { tokens, redrawn: [...tries].sort(([a], [b]) => a - b).map(([row, n]) => ({ image: firstImage + row, attempts: n })) };
    } catch (e) {
      const row = nonFiniteRow(e, rows);
      if (row === undefined || attempts === 0) throw e;
      const n = (tries.get(row) ?? 0) + 1;
      if (n > attempts) {
        const err = e as FarmerError;
        throw new FarmerError(
          'FARMER_E_NON_FINITE',
          `generated image ${firstImage + row}: ${err.message}; its latents were drawn again ${attempts} time${attempts > 1 ? 's' : ''} and none could be inverted`,
          { ...err.details, image: firstImage + row, attempts },
        );
      }
      tries.set(row, n);
      const fresh = await redraw(row, n);
      if (fresh.length !== rowSize) throw new FarmerError('FARMER_E_SHAPE', `redraw gave ${fresh.length} values for one image, expected ${rowSize}`);
      z.set(fresh, row * rowSize);
    }
  }
}
