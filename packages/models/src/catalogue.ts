/**
 * The built-in models, by name. Each ships as its own npm package
 * (`@farmer/model-<name>`) holding its checkpoint and its dataset's feature
 * classifier. Browser-safe: the playground lists the same names.
 */
export const BUILTIN_MODELS = ['mnist-small', 'fashion-small', 'emoji-small'] as const;
/** A built-in model's name. */
export type BuiltinModelName = (typeof BUILTIN_MODELS)[number];

/** The default built-in model (`farmer demo`, `sample`, `eval` without `--model` or `--checkpoint`). */
export const BUILTIN_MODEL: BuiltinModelName = BUILTIN_MODELS[0];

/** The built-in feature classifiers (for `--classifier NAME`), each shipped in its dataset's model package. */
export const BUILTIN_CLASSIFIERS = ['classifier-mnist', 'classifier-fashion', 'classifier-emoji'] as const;
/** A built-in classifier's name. */
export type BuiltinClassifierName = (typeof BUILTIN_CLASSIFIERS)[number];

/** What is known of a built-in model without opening it. */
export interface BuiltinModelInfo {
  /** Its name, as `--model` takes it. */
  name: BuiltinModelName;
  /** The npm package that holds it. */
  packageName: `@farmer/model-${BuiltinModelName}`;
  /** The dataset it was trained on. */
  dataset: string;
  /** Its dataset's feature classifier, in the same package. */
  classifier: BuiltinClassifierName;
}

/** Every built-in model's facts, by name. */
export const BUILTIN_MODEL_INFO: Readonly<Record<BuiltinModelName, Readonly<BuiltinModelInfo>>> = Object.freeze({
  'mnist-small': Object.freeze({ name: 'mnist-small', packageName: '@farmer/model-mnist-small', dataset: 'MNIST', classifier: 'classifier-mnist' }),
  'fashion-small': Object.freeze({ name: 'fashion-small', packageName: '@farmer/model-fashion-small', dataset: 'Fashion-MNIST', classifier: 'classifier-fashion' }),
  'emoji-small': Object.freeze({ name: 'emoji-small', packageName: '@farmer/model-emoji-small', dataset: 'emoji', classifier: 'classifier-emoji' }),
});

/** Whether `name` is a built-in model's name. */
export function isBuiltinModelName(name: string): name is BuiltinModelName {
  return (BUILTIN_MODELS as readonly string[]).includes(name);
}

/** Whether `name` is a built-in classifier's name. */
export function isBuiltinClassifierName(name: string): name is BuiltinClassifierName {
  return (BUILTIN_CLASSIFIERS as readonly string[]).includes(name);
}

/** The built-in model whose package holds a built-in classifier. */
export function classifierOwner(name: BuiltinClassifierName): BuiltinModelName {
  return BUILTIN_MODELS.find((m) => BUILTIN_MODEL_INFO[m].classifier === name)!;
}

/**
 * Where a page finds a built-in model's ONNX export, relative to its
 * index.html: `models/<name>/onnx/`. The playground loads it from there;
 * `farmer serve` serves the installed packages' exports there under
 * /playground/, and the playground's static site copies them there.
 */
export function builtinExportPath(name: BuiltinModelName): string {
  return `models/${name}/onnx/`;
}
