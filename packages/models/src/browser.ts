/**
 * @farmer/models/browser: the built-in models' names, datasets,
 * classifiers, npm packages and where a page finds their exports, with no
 * Node module (the playground lists the same names as the CLI and the
 * server). `@farmer/models` re-exports all of it.
 */
export {
  BUILTIN_CLASSIFIERS,
  BUILTIN_MODEL,
  BUILTIN_MODEL_INFO,
  BUILTIN_MODELS,
  builtinExportPath,
  classifierOwner,
  isBuiltinClassifierName,
  isBuiltinModelName,
  type BuiltinClassifierName,
  type BuiltinModelInfo,
  type BuiltinModelName,
} from './catalogue.js';
