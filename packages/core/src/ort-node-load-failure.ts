/**
 * The onnxruntime-node version farmer-ts runs on. Every package that lists
 * onnxruntime-node lists it at exactly this version, as an optional
 * dependency (a test checks that): its install script downloads the CUDA
 * provider from api.nuget.org on linux/x64, and npm leaves an optional
 * dependency out when its script fails instead of failing the install.
 */
export const ORT_NODE_VERSION = '1.30.0';

/** The command that installs onnxruntime-node for the CPU (no download from NuGet). */
export const ORT_NODE_CPU_INSTALL = `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@${ORT_NODE_VERSION}`;

/**
 * Whether `e` (from importing onnxruntime-node, or a module that imports it)
 * says that onnxruntime-node itself is not installed, in ESM's wording
 * ("Cannot find package 'onnxruntime-node' imported from ...") or CJS's
 * ("Cannot find module 'onnxruntime-node'"). A package missing inside
 * onnxruntime-node is a broken install, not a missing one.
 */
export function isOrtNodeMissing(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /Cannot find (?:package|module) 'onnxruntime-node'/.test(message);
}

/**
 * Why onnxruntime-node cannot be used, in one line for a notice or an
 * error: when it is not installed, why that happens and the command that
 * installs it for the CPU; otherwise the first line of its load error.
 */
export function describeOrtNodeLoadFailure(e: unknown): string {
  if (isOrtNodeMissing(e)) {
    return `onnxruntime-node is not installed (npm leaves out this optional dependency when its install script fails, e.g. without access to api.nuget.org); for onnxruntime on the CPU, install it with \`${ORT_NODE_CPU_INSTALL}\``;
  }
  const message = e instanceof Error ? e.message : String(e);
  return `onnxruntime-node failed to load (${message.split('\n')[0]})`;
}
