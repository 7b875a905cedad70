/**
 * The replica module of FARMER's objective: a worker thread of @farmer/train
 * imports it by path and builds a full FarmerModel from the trainer's config
 * and weights (so @farmer/train needs no model package).
 */
import type { FarmerConfig } from '../config.js';
import { FarmerModel } from '../farmer-model.js';
import { farmerTfBinding } from './farmer-engine.js';

export function createReplica(spec: unknown, weights: Float32Array[]) {
  return farmerTfBinding(FarmerModel.fromValues(spec as FarmerConfig, weights));
}
