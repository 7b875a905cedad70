import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { BUILTIN_MODEL_INFO, BUILTIN_MODELS, builtinExportPath, builtinModelDir, type BuiltinModelName } from '@farmer/models';
import { readOnnxExport, type OnnxExport } from '@farmer/onnx';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../errors.js';
import { sendExportFile } from '../export-file.js';

/**
 * Cross-origin isolation, which onnxruntime-web's threaded wasm needs
 * (SharedArrayBuffer): sent with every file of the page.
 */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
});

/** The built playground (apps/playground/dist), or undefined when it is not installed or not built. */
export function playgroundDist(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@farmer/playground/package.json');
    const dist = join(dirname(pkg), 'dist');
    return existsSync(join(dist, 'index.html')) ? dist : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A built-in model's ONNX export, from its installed package (or
 * FARMER_MODELS_DIR) through @farmer/models. The message names the package
 * to install, never the server's paths.
 */
async function builtinExport(name: BuiltinModelName): Promise<OnnxExport> {
  try {
    return await readOnnxExport(join(builtinModelDir(name), 'onnx'), { verify: false });
  } catch {
    const pkg = BUILTIN_MODEL_INFO[name].packageName;
    throw new HttpError('FARMER_E_NOT_FOUND', `the built-in model ${name} has no readable ONNX export on this server; install (or reinstall) it: npm install ${pkg}`, { field: 'name' });
  }
}

/**
 * GET /playground/: the static page of @farmer/playground (generation and
 * likelihood in the browser, on onnxruntime-web), with the cross-origin
 * isolation headers. No computation runs here: the page fetches the served
 * models' exports from GET /v1/onnx, and the built-in models' exports where
 * it looks for them (`builtinExportPath` under /playground/), read from the
 * installed model packages: the published page carries no copies.
 * Unauthenticated, like /docs: the page itself asks for the API key when the
 * export routes of served models need one.
 */
export async function registerPlaygroundRoutes(app: FastifyInstance): Promise<void> {
  const root = playgroundDist();
  if (!root) {
    app.get('/playground*', { schema: { hide: true } }, async () => {
      throw new HttpError('FARMER_E_NOT_FOUND', 'the playground is not built: run `npm run build` (or `npm run playground`) in the farmer-ts checkout');
    });
    return;
  }
  for (const name of BUILTIN_MODELS) {
    app.get<{ Params: { file: string } }>(`/playground/${builtinExportPath(name)}:file`, { schema: { hide: true } }, async (request, reply) => {
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) reply.header(k, v);
      return sendExportFile(reply, await builtinExport(name), request.params.file, `the built-in ${name}`);
    });
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/playground',
    decorateReply: false,
    redirect: true,
    index: ['index.html'],
    schemaHide: true,
    setHeaders: (res) => {
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    },
  });
}
