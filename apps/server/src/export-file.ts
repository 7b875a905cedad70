import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OnnxExport } from '@farmer/onnx';
import type { FastifyReply } from 'fastify';
import { HttpError } from './errors.js';

/**
 * Sends one file of an ONNX export: its manifest.json or a file the
 * manifest lists (own entries only: 'toString' is no file), else
 * FARMER_E_NOT_FOUND naming `whose` export. Files are not re-hashed here:
 * the page checks every SHA-256.
 */
export async function sendExportFile(reply: FastifyReply, exp: OnnxExport, file: string, whose: string): Promise<FastifyReply> {
  if (file !== 'manifest.json' && !Object.hasOwn(exp.manifest.files, file)) throw new HttpError('FARMER_E_NOT_FOUND', `the export of ${whose} has no file '${file}' (its manifest.json lists them)`, { field: 'file' });
  const bytes = await readFile(join(exp.dir, file));
  return reply.type(file.endsWith('.json') ? 'application/json' : 'application/octet-stream').header('cache-control', 'no-cache').send(bytes);
}
