import { FarmerError, makeCheckpointConfig, ParamStore, readCheckpoint, writeCheckpoint, type LoadedCheckpoint, type TensorMap } from '@farmer/core';
import { parseFlowConfig, type FlowConfig } from './config.js';
import { Flow } from './flow.js';
import { flowParamShapes } from './params.js';

/** In every checkpoint (flow-only or FARMER), AF weights sit under this prefix (docs/method.md §9.2 weight names). */
export const FLOW_PREFIX = 'flow.';

/**
 * Writes a flow-only checkpoint (kind 'flow'): config `{ flow }`, weights
 * under `flow.`. An existing `dir` is replaced only when it is a flow
 * checkpoint or empty, unless `options.force` (see writeCheckpoint).
 */
export async function saveFlowCheckpoint(dir: string, flow: Flow, options: { meta?: Record<string, unknown>; extraTensors?: TensorMap; force?: boolean } = {}): Promise<void> {
  await writeCheckpoint(
    dir,
    {
      config: makeCheckpointConfig('flow', { flow: flow.config }, { meta: options.meta }),
      tensors: { model: { ...flow.params.toTensorMap(FLOW_PREFIX), ...options.extraTensors } },
    },
    { force: options.force },
  );
}

/** The flow config inside any checkpoint's `config.model.flow`. */
export function flowConfigOf(ck: LoadedCheckpoint): FlowConfig {
  const raw = ck.config.model.flow;
  if (raw === undefined) throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir}/config.json has no model.flow section; is this a farmer-ts checkpoint?`, { file: `${ck.dir}/config.json` });
  return parseFlowConfig(raw, `${ck.dir}/config.json model.flow`);
}

/** Builds a Flow from a loaded checkpoint's `flow.*` weights (exact shapes checked). */
export function flowFromCheckpoint(ck: LoadedCheckpoint, part = 'model'): Flow {
  const config = flowConfigOf(ck);
  const tensors = ck.tensors[part];
  if (!tensors) throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir} has no ${part}.safetensors`, { file: ck.dir });
  const store = new ParamStore(flowParamShapes(config));
  store.loadTensorMap(tensors, `${ck.dir}/${part}.safetensors`, FLOW_PREFIX);
  return new Flow(config, store);
}

/** Loads the flow of any checkpoint directory. */
export async function loadFlow(dir: string): Promise<Flow> {
  return flowFromCheckpoint(await readCheckpoint(dir, { parts: ['model'] }));
}
