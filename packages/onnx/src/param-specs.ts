import { AR_PREFIX, arParamShapes, type FarmerConfig } from '@farmer/ar-gmm';
import { ParamStore } from '@farmer/core';
import { FLOW_PREFIX, flowParamShapes } from '@farmer/flow';
import type { ParamSpec } from './graph-ops.js';

/**
 * Every FARMER parameter, AF first, then AR, in `FarmerModel.variables()`
 * order, with its checkpoint name and in-memory shape: the order in which
 * the training graph takes its parameter inputs and returns gradients.
 * Allocates nothing.
 */
export function farmerParamSpecs(c: FarmerConfig): ParamSpec[] {
  const part = (prefix: string, shapes: Record<string, number[]>) => {
    const store = new ParamStore(shapes);
    return store.names().map((n) => ({ name: prefix + n, shape: store.internalShape(n) }));
  };
  return [...part(FLOW_PREFIX, flowParamShapes(c.flow)), ...part(AR_PREFIX, arParamShapes(c))];
}
