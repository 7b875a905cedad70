/**
 * The built-in models, by name: their folders under `models/` (and in the
 * playground's build). The first is the default. Browser-safe: the page
 * lists the same names.
 */
export const BUILTIN_MODELS = ['mnist-small', 'fashion-small'] as const;
/** The name of a built-in model, one of {@link BUILTIN_MODELS}. */
export type BuiltinModelName = (typeof BUILTIN_MODELS)[number];

/** The default built-in model (`farmer demo`, `sample`, `eval` without `--model` or `--checkpoint`). */
export const BUILTIN_MODEL: BuiltinModelName = BUILTIN_MODELS[0];
