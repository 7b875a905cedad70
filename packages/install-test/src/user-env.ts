import { delimiter, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * Variables of the checkout's own runs, never of a user's shell: npm's
 * per-script ones (`npm test` sets them), the CI's ONNXRUNTIME_NODE_INSTALL,
 * farmer's own (FARMER_MODELS_DIR, ...), nx's and vitest's (NODE_ENV=test),
 * and NODE_OPTIONS. npm's other `npm_config_*` (registry, cache, proxy) are
 * the machine's settings and stay.
 */
const RUN_VARIABLES = /^(npm_lifecycle_|npm_package_|npm_command$|npm_config_call$|INIT_CWD$|ONNXRUNTIME_NODE_INSTALL|FARMER_|NX_|VITEST|NODE_OPTIONS$|NODE_ENV$)/i;

/** Whether `path` is `root` or inside it. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The keys an .npmrc sets (`key=value` lines; comments and blank lines skipped). */
export function npmrcKeys(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';') && l.includes('='))
    .map((l) => l.slice(0, l.indexOf('=')).trim());
}

/**
 * The environment of a user's shell, from the test's: without the
 * variables above, without the `npm_config_*` that the checkout's .npmrc
 * sets (`npm_config_onnxruntime_node_install=skip` reaches every script of
 * `npm test`), without any other variable naming a path in the checkout
 * (`npm_config_local_prefix`, ...), and without PATH entries in the checkout
 * (npm puts its node_modules/.bin folders first), so that `npx farmer` and
 * `tsc` resolve in the user's project. `extra` is added last.
 */
export function userEnv(env: NodeJS.ProcessEnv, checkout: string, extra: Record<string, string> = {}, checkoutNpmrcKeys: readonly string[] = []): NodeJS.ProcessEnv {
  const fromNpmrc = new Set(checkoutNpmrcKeys.map((k) => `npm_config_${k.toLowerCase().replace(/-/g, '_')}`));
  const root = resolve(checkout);
  const namesCheckout = (v: string) => v === root || v.includes(`${root}${sep}`) || new RegExp(`${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[${delimiter}])`).test(v);
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || RUN_VARIABLES.test(k) || fromNpmrc.has(k.toLowerCase())) continue;
    if (k.toUpperCase() === 'PATH') out[k] = v.split(delimiter).filter((p) => p !== '' && !isInside(root, p)).join(delimiter);
    else if (!namesCheckout(v)) out[k] = v;
  }
  return { ...out, ...extra };
}
