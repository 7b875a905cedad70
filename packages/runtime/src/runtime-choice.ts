import { FarmerError } from '@farmer/core';

/**
 * What a user may ask to run a model on:
 * - `auto` (the default): onnxruntime whenever onnxruntime-node loads,
 *   exporting the checkpoint on first use; else tfjs, with the reason;
 * - `onnx`: onnxruntime, from an up-to-date export that already exists
 *   (never writes one), or an error saying how to make one;
 * - `tfjs`: TensorFlow.js, on the backend `initBackend` chose.
 */
export const RUNTIME_CHOICES = ['auto', 'onnx', 'tfjs'] as const;
/** A runtime a user can ask for, one of {@link RUNTIME_CHOICES}. */
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

/** Validates a runtime choice from a flag or the environment; `source` names it in the error (e.g. '--runtime'). */
export function parseRuntimeChoice(value: string, source = 'runtime'): RuntimeChoice {
  if ((RUNTIME_CHOICES as readonly string[]).includes(value)) return value as RuntimeChoice;
  throw new FarmerError('FARMER_E_BAD_INPUT', `${source} must be one of ${RUNTIME_CHOICES.join(', ')}, got '${value}'`, { field: 'runtime' });
}
