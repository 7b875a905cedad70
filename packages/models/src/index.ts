/**
 * @farmer/models: the one place that knows FARMER's built-in models: their
 * names (also in `@farmer/models/browser`), the npm packages that hold them
 * (`@farmer/model-<name>`, found where they are installed; this package does
 * not depend on them), and `FARMER_MODELS_DIR`, which overrides them.
 */
export * from './browser.js';
export { builtinSource, type BuiltinLookup, type BuiltinSource } from './builtin-lookup.js';
export { builtinModelDir, builtinModels } from './builtin-model-dir.js';
export { builtinClassifierDir, classifierDirOf } from './builtin-classifier-dir.js';
