import { FarmerError } from './errors.js';

/** Image geometry shared by patchify, the flow and the AR. */
export interface PatchGeometry {
  channels: number;
  height: number;
  width: number;
  patchSize: number;
}

/** Tokens N and dims per token d = C·p² for a geometry. */
export function tokenShape(g: PatchGeometry): { numTokens: number; tokenDim: number } {
  checkGeometry(g);
  return { numTokens: (g.height / g.patchSize) * (g.width / g.patchSize), tokenDim: g.channels * g.patchSize * g.patchSize };
}

/** Throws FARMER_E_BAD_CONFIG unless channels, height, width and patch size are positive integers and the patch size divides both sides. */
export function checkGeometry(g: PatchGeometry): void {
  const { channels, height, width, patchSize } = g;
  for (const [k, v] of Object.entries({ channels, height, width, patchSize })) {
    if (!Number.isInteger(v) || v <= 0) throw new FarmerError('FARMER_E_BAD_CONFIG', `${k} must be a positive integer, got ${v}`, { field: k });
  }
  if (height % patchSize || width % patchSize) {
    throw new FarmerError(
      'FARMER_E_BAD_CONFIG',
      `image ${height}×${width} is not divisible by patch size ${patchSize}; choose a patch size that divides both sides`,
      { field: 'patchSize' },
    );
  }
}

/** Index map of `patchify` on the host: out[(t·d + f)] = flat NCHW index (per image). */
export function patchIndexMap(g: PatchGeometry): Int32Array {
  const { numTokens, tokenDim } = tokenShape(g);
  const { height: h, width: w, patchSize: p } = g;
  const out = new Int32Array(numTokens * tokenDim);
  const cols = w / p;
  for (let t = 0; t < numTokens; t++) {
    const r = Math.floor(t / cols);
    const col = t % cols;
    for (let f = 0; f < tokenDim; f++) {
      const ch = Math.floor(f / (p * p));
      const i = Math.floor((f % (p * p)) / p);
      const j = f % p;
      out[t * tokenDim + f] = ch * h * w + (r * p + i) * w + (col * p + j);
    }
  }
  return out;
}
