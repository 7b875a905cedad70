import { FarmerError } from '@farmer/core/browser';
import { permutedIndex } from './permutation.js';

/**
 * Throws FARMER_E_NON_FINITE if tokens x [B, N, d] (original token order,
 * on the host) hold NaN/Inf after block t's forward or reverse. The error
 * names the block, the first offending token in the block's sequential
 * order (where a reverse first went wrong) and its sample, also as
 * `{ block, token, sample }` details. The tfjs flow and the onnxruntime
 * runner both check through here.
 */
export function assertFiniteTokens(x: ArrayLike<number>, shape: readonly [number, number, number], t: number, phase: 'forward' | 'reverse'): void {
  const [b, n, d] = shape;
  let first = { sample: -1, token: n, pos: n };
  for (let s = 0; s < b; s++) {
    for (let j = 0; j < n; j++) {
      let bad = false;
      for (let k = 0; k < d && !bad; k++) bad = !Number.isFinite(x[(s * n + j) * d + k]);
      const pos = permutedIndex(t, j, n);
      if (bad && pos < first.pos) first = { sample: s, token: j, pos };
    }
  }
  if (first.sample < 0) return;
  throw new FarmerError(
    'FARMER_E_NON_FINITE',
    `flow ${phase} produced a non-finite value in block ${t} at token ${first.token} (sample ${first.sample}); ` +
      `if exp(α) overflows, set alphaClamp in the flow config or lower the guidance`,
    { block: t, token: first.token, sample: first.sample },
  );
}
