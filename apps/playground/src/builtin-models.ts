import { BUILTIN_MODELS, type BuiltinModelName as BuiltinModel } from '@farmer/core/browser';

// The built-in models' ONNX exports ship inside the page's build (the repo's models/NAME/onnx).
export { BUILTIN_MODELS };

/** Where the page finds a built-in's export, relative to index.html. */
export function builtinExportPath(name: BuiltinModel): string {
  return `models/${name}/onnx/`;
}

/**
 * The built-in a model setting names: 'builtin' (the first, kept for links
 * made before there were two) or 'builtin:NAME'; null for any other setting.
 */
export function builtinOf(model: string): BuiltinModel | null {
  if (model === 'builtin') return BUILTIN_MODELS[0];
  const name = model.startsWith('builtin:') ? model.slice('builtin:'.length) : null;
  return (BUILTIN_MODELS as readonly string[]).includes(name ?? '') ? (name as BuiltinModel) : null;
}
