import { AR_PREFIX, arParamShapes, type FarmerConfig } from '@farmer/ar-gmm';
import { ParamStore } from '@farmer/core';
import { FLOW_PREFIX, flowParamShapes, type FlowConfig } from '@farmer/flow';
import type { ParamSpec } from './graph-ops.js';

/** Checkpoint names (under `prefix`) and in-memory shapes of a store's parameters, in its fixed order. */
function specsOf(prefix: string, shapes: Record<string, number[]>): ParamSpec[] {
  const store = new ParamStore(shapes);
  return store.names().map((n) => ({ name: prefix + n, shape: store.internalShape(n) }));
}

/**
 * Every FARMER parameter, AF first, then AR, in `FarmerModel.variables()`
 * order, with its checkpoint name and in-memory shape: the order in which
 * the training graph takes its parameter inputs and returns gradients.
 * Allocates nothing.
 */
export function farmerParamSpecs(c: FarmerConfig): ParamSpec[] {
  return [...specsOf(FLOW_PREFIX, flowParamShapes(c.flow)), ...specsOf(AR_PREFIX, arParamShapes(c))];
}

/** An AF's parameters under `prefix` (`flow.` for a FARMER teacher, `student.` for a student), in ParamStore order. */
export function flowParamSpecs(c: FlowConfig, prefix: string): ParamSpec[] {
  return specsOf(prefix, flowParamShapes(c));
}
