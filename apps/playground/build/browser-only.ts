import { builtinModules } from 'node:module';
import type { Plugin } from 'vite';

const NODE_BUILTINS = new Set(builtinModules);

/** Packages that must never reach the page: native or Node-only code, and tfjs (the page runs on onnxruntime-web). */
const NODE_ONLY_PACKAGES = ['onnxruntime-node', '@tensorflow/', 'sharp', 'pngjs', 'mnist'];

/** Why `id` may not be bundled for a browser, or undefined when it may. */
export function nodeOnlyReason(id: string): string | undefined {
  const bare = id.startsWith('node:') ? id.slice(5) : id;
  if (id.startsWith('node:') || NODE_BUILTINS.has(bare.split('/')[0])) return 'a Node built-in module';
  const pkg = NODE_ONLY_PACKAGES.find((p) => id === p || id.startsWith(p.endsWith('/') ? p : `${p}/`));
  return pkg ? `a Node-only package (${pkg.replace(/\/$/, '')})` : undefined;
}

/**
 * Fails the build when the page's code imports a Node built-in, tfjs or a
 * native package (Vite would otherwise swap a built-in for an empty stub and
 * the page would break at run time). The message names the importer: import
 * the browser entry points instead (@farmer/core/browser, @farmer/ar-gmm/browser,
 * @farmer/sampling, @farmer/onnx/web).
 */
export function browserOnly(): Plugin {
  return {
    name: 'farmer-browser-only',
    enforce: 'pre',
    resolveId(id, importer) {
      const why = nodeOnlyReason(id);
      if (why) this.error(`${id} is ${why}, imported by ${importer ?? 'the entry'}; the page may import only browser entry points (@farmer/core/browser, @farmer/ar-gmm/browser, @farmer/sampling, @farmer/onnx/web)`);
      return null;
    },
  };
}
