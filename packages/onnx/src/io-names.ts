import type { Dim } from './graph-builder.js';

/**
 * Input/output names and symbolic dimensions shared by the exported graphs
 * and the runtime that feeds them.
 */

/** The symbolic batch dimension of every graph. */
export const BATCH = 'batch';
/** The symbolic cache length of KV-cache inputs. */
export const PAST = 'past';
/** The symbolic cache length of KV-cache outputs (past + 1, or the prefix length). */
export const PRESENT = 'present';

/** KV-cache input/output names of layer l. */
export const kvNames = (l: number) => ({ pastK: `past_key.${l}`, pastV: `past_value.${l}`, presentK: `present_key.${l}`, presentV: `present_value.${l}` });

/** Shapes of a layer's cache: k and v both [B, H, T, hd]. */
export function kvShapes(heads: number, hd: number, t: Dim): { k: Dim[]; v: Dim[] } {
  return { k: [BATCH, heads, t, hd], v: [BATCH, heads, t, hd] };
}
