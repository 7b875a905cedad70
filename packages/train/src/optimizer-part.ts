import { FarmerError, type TensorMap } from '@farmer/core';
import type { OptimizerState, ParamSpec } from './engine.js';

/**
 * The optimizer part of a checkpoint: `m.<name>` and `v.<name>` in each
 * parameter's in-memory shape, and the update count `step` (I64). Every
 * engine writes and reads this one layout, so a checkpoint resumes on any.
 */
export function optimizerToTensorMap(params: ParamSpec[], s: OptimizerState): TensorMap {
  const out: TensorMap = { step: { dtype: 'I64', shape: [], data: BigInt64Array.from([BigInt(s.step)]) } };
  params.forEach((p, i) => {
    out[`m.${p.name}`] = { dtype: 'F32', shape: p.shape, data: s.m[i] };
    out[`v.${p.name}`] = { dtype: 'F32', shape: p.shape, data: s.v[i] };
  });
  return out;
}

/** Reads `optimizerToTensorMap`'s layout back; `file` names the source in errors. */
export function optimizerFromTensorMap(params: ParamSpec[], map: TensorMap, file: string): OptimizerState {
  const step = map.step;
  if (!step || step.dtype !== 'I64') throw new FarmerError('FARMER_E_CORRUPT', `${file}: missing optimizer step`, { file, tensor: 'step' });
  const read = (kind: 'm' | 'v', p: ParamSpec): Float32Array => {
    const t = map[`${kind}.${p.name}`];
    const want = p.shape;
    if (!t || t.dtype !== 'F32' || t.shape.length !== want.length || t.shape.some((s, j) => s !== want[j])) {
      throw new FarmerError('FARMER_E_SHAPE', `${file}: optimizer state '${kind}.${p.name}' is missing or not F32[${want}] (was the checkpoint made for another architecture?)`, {
        file,
        tensor: `${kind}.${p.name}`,
      });
    }
    return Float32Array.from(t.data as Float32Array);
  };
  return { m: params.map((p) => read('m', p)), v: params.map((p) => read('v', p)), step: Number((step.data as BigInt64Array)[0]) };
}
