import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { isFarmerError, type FarmerErrorCode } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxExport } from '../src/index.js';
import { readWebExport, type PickedFile } from '../src/web/index.js';

// The built-in model's export, read the way a page reads it: picked files or a URL.
const exportDir = join(builtinModelDir(), 'onnx');

async function picked(dir: string, edit: (name: string, bytes: Uint8Array) => Uint8Array | null = (_, b) => b): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  for (const name of await fs.readdir(dir)) {
    const bytes = edit(name, new Uint8Array(await fs.readFile(join(dir, name))));
    if (bytes) out.push({ name, size: bytes.length, arrayBuffer: async () => bytes.slice().buffer });
  }
  return out;
}

async function refused(p: Promise<unknown>): Promise<{ code: FarmerErrorCode; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isFarmerError(e)) throw new Error(`expected a FarmerError, got ${String(e)}`);
  return { code: e.code, message: e.message };
}

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const m = /^\/onnx\/([^/]+)$/.exec(req.url ?? '');
    const bytes = m ? await fs.readFile(join(exportDir, decodeURIComponent(m[1]))).catch(() => undefined) : undefined;
    if (!bytes) return res.writeHead(404).end();
    res.writeHead(200).end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/onnx/`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('readWebExport: an export read in memory, checked as on disk', () => {
  it('picked files and a URL give the manifest readOnnxExport gives, every file hashed', async () => {
    const disk = await readOnnxExport(exportDir);
    for (const from of [{ files: await picked(exportDir) }, { url: base }]) {
      const web = await readWebExport(from);
      expect(web.manifest).toEqual(disk.manifest);
      expect(web.config).toEqual(disk.config);
      expect(web.hashed).toBe(true);
      expect([...web.bytes.keys()].sort()).toEqual(Object.keys(disk.manifest.files).sort());
      const model = await web.graph(disk.manifest.graphs.arStep);
      expect(model.externalData).toEqual([{ path: disk.manifest.graphs.arStep.weights, data: web.bytes.get(disk.manifest.graphs.arStep.weights) }]);
    }
  });

  it('a flipped byte, a truncated file, a missing file and no manifest are refused, naming the file', async () => {
    const flip = await picked(exportDir, (name, b) => (name === 'flow.weights' ? b.map((v, i) => (i === 100 ? v ^ 1 : v)) : b));
    expect(await refused(readWebExport({ files: flip }))).toEqual({ code: 'FARMER_E_CORRUPT', message: 'flow.weights fails its SHA-256 check (corrupted); re-export the model' });
    const cut = await picked(exportDir, (name, b) => (name === 'ar.weights' ? b.subarray(0, 10) : b));
    expect((await refused(readWebExport({ files: cut }))).message).toMatch(/^ar\.weights is 10 bytes, the manifest says \d+ \(truncated or replaced\)/);
    const missing = await picked(exportDir, (name, b) => (name === 'student.onnx' ? null : b));
    expect(await refused(readWebExport({ files: missing }))).toMatchObject({ code: 'FARMER_E_NOT_FOUND', message: expect.stringMatching(/is missing student\.onnx/) });
    const none = await picked(exportDir, (name, b) => (name === 'manifest.json' ? null : b));
    expect(await refused(readWebExport({ files: none }))).toMatchObject({ code: 'FARMER_E_NOT_FOUND', message: expect.stringMatching(/holds no manifest\.json/) });
    expect(await refused(readWebExport({ url: `${base}nowhere/` }))).toMatchObject({ code: 'FARMER_E_NOT_FOUND', message: expect.stringMatching(/answered HTTP 404/) });
  });
});
