import type { FarmerLikelihood, FarmerRunner } from '@farmer/ar-gmm';
import { FarmerError } from '@farmer/core';
import { HttpError } from '../errors.js';
import { publicMessage, type ModelEntry, type ModelRegistry } from '../model-registry.js';

/** The ready model called `name`, or the 404/503 that says why not. */
export function requireModel(registry: ModelRegistry, name: string): ModelEntry & { runner: FarmerRunner } {
  const entry = registry.get(name);
  if (!entry) {
    const names = registry.entries().map((e) => e.name);
    throw new HttpError('FARMER_E_NOT_FOUND', `no model named '${name}'; this server has: ${names.join(', ') || '(none)'} (GET /v1/models)`, { field: 'name' });
  }
  if (entry.status === 'loading') {
    throw new HttpError('FARMER_E_UNAVAILABLE', `model '${name}' is still loading; retry shortly`, { field: 'name', headers: { 'retry-after': '2' } });
  }
  if (entry.status === 'failed' || !entry.runner) {
    const why = entry.error ? `${entry.error.code}: ${publicMessage(entry.error.message, entry)}` : 'unknown reason';
    throw new HttpError('FARMER_E_UNAVAILABLE', `model '${name}' failed to load (${why}); the server's operator has to fix its checkpoint`, { field: 'name' });
  }
  return entry as ModelEntry & { runner: FarmerRunner };
}

/**
 * The likelihood of a ready model, or FARMER_E_UNSUPPORTED (its HTTP status
 * comes from the one table, HTTP_STATUS) when it was opened without one.
 */
export function requireLikelihood(entry: ModelEntry & { runner: FarmerRunner }): FarmerLikelihood {
  if (entry.likelihood) return entry.likelihood;
  throw new FarmerError('FARMER_E_UNSUPPORTED', `model '${entry.name}' (runtime ${entry.runner.runtime}) was opened without a likelihood, so it cannot score images; it can still generate`, { field: 'name' });
}
