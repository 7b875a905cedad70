import { resolveCheckpointDir } from '@farmer/core';
import { isOnnxExport, readOnnxExport, type OnnxExport } from '@farmer/onnx';
import { findCurrentExport } from '@farmer/runtime';
import type { FastifyInstance } from 'fastify';
import { bearerAuth } from '../auth.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { sendExportFile } from '../export-file.js';
import type { ModelEntry } from '../model-registry.js';
import { modelParamsSchema } from '../schemas/generate-schema.js';

const errorRef = { $ref: 'FarmerError#' } as const;

/**
 * A served model's up-to-date ONNX export: the model's folder itself when
 * it is one, else `<checkpoint>/onnx` or the export cache (as the runtime
 * finds it). Files are not re-hashed here: the page checks every SHA-256.
 */
async function exportOf(entry: ModelEntry): Promise<OnnxExport | undefined> {
  try {
    const dir = (await isOnnxExport(entry.dir)) ? entry.dir : (await findCurrentExport(resolveCheckpointDir(entry.dir))).dir;
    return dir ? await readOnnxExport(dir, { verify: false }) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GET /v1/onnx lists the served models that have an ONNX export (others
 * are left out); GET /v1/models/{name}/onnx/{file} serves its manifest and
 * the files the manifest lists, for the playground page to run in the
 * browser. Both follow the generate route's API-key rule.
 */
export function registerOnnxExportRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { apiKey } = ctx.options;
  const auth = apiKey ? { onRequest: [bearerAuth(apiKey)], security: [{ bearerAuth: [] }] } : undefined;
  app.get(
    '/v1/onnx',
    {
      ...(auth ? { onRequest: auth.onRequest } : {}),
      schema: {
        summary: 'Served models with an ONNX export',
        description: 'The models whose ONNX export the playground page can run in the browser (models without one are not listed), with where to fetch it.',
        tags: ['models'],
        ...(auth ? { security: auth.security } : {}),
        response: {
          200: {
            type: 'object',
            required: ['models'],
            properties: {
              models: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['name', 'url', 'files', 'bytes'],
                  properties: { name: { type: 'string' }, url: { type: 'string', description: 'The export folder: GET url + file name.' }, files: { type: 'integer' }, bytes: { type: 'integer' } },
                },
              },
            },
          },
          '4xx': errorRef,
        },
      },
    },
    async () => {
      const models = [];
      for (const entry of ctx.registry.entries()) {
        const exp = await exportOf(entry);
        if (!exp) continue;
        const files = Object.values(exp.manifest.files);
        models.push({ name: entry.name, url: `/v1/models/${encodeURIComponent(entry.name)}/onnx/`, files: files.length + 1, bytes: files.reduce((a, f) => a + f.bytes, 0) });
      }
      return { models };
    },
  );

  app.get<{ Params: { name: string; file: string } }>(
    '/v1/models/:name/onnx/:file',
    {
      ...(auth ? { onRequest: auth.onRequest } : {}),
      schema: {
        summary: "A file of a model's ONNX export",
        description: 'manifest.json, or a file it lists (graphs and weights).',
        tags: ['models'],
        ...(auth ? { security: auth.security } : {}),
        params: { type: 'object', required: ['name', 'file'], properties: { name: modelParamsSchema.properties.name, file: { type: 'string' } } },
        response: { 200: { type: 'string', format: 'binary' }, '4xx': errorRef },
      },
    },
    async (request, reply) => {
      const { name, file } = request.params;
      const entry = ctx.registry.get(name);
      if (!entry) throw new HttpError('FARMER_E_NOT_FOUND', `no model named '${name}' (GET /v1/onnx lists those with an export)`, { field: 'name' });
      const exp = await exportOf(entry);
      if (!exp) throw new HttpError('FARMER_E_NOT_FOUND', `model '${name}' has no ONNX export; write one with \`farmer export onnx\``, { field: 'name' });
      return sendExportFile(reply, exp, file, `'${name}'`);
    },
  );
}
