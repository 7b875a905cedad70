import { BUILTIN_MODELS, builtinExportPath, type BuiltinModelName as BuiltinModel } from '@farmer/models/browser';

// The built-in models' ONNX exports are found beside the page, at builtinExportPath(NAME): `farmer serve`
// serves them there from the installed model packages, and the static site copies them there.
export { BUILTIN_MODELS, builtinExportPath };

/**
 * The built-in a model setting names: 'builtin' (the first, kept for links
 * made before there were two) or 'builtin:NAME'; null for any other setting.
 */
export function builtinOf(model: string): BuiltinModel | null {
  if (model === 'builtin') return BUILTIN_MODELS[0];
  const name = model.startsWith('builtin:') ? model.slice('builtin:'.length) : null;
  return (BUILTIN_MODELS as readonly string[]).includes(name ?? '') ? (name as BuiltinModel) : null;
}
