import { decodePng } from '@farmer/core';
import { imagesSha256, REFERENCE_CASES } from '@farmer/test-utils';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';

/*
 * The reference images (issue 29): POST generate answers the same bytes as
 * before the sampling-options refactor, for the built-in models on
 * onnxruntime with passes of 4 images (so the ten-image case spans three).
 * The hashes are packages/test-utils/fixtures/reference-images.json,
 * recorded by scripts/record-reference-images.mjs before the refactor.
 */
let app: FastifyInstance;

beforeAll(async () => {
  app = await buildApp({ runtime: 'onnx', batchSize: 4, processMetrics: false });
  await app.farmer.registry.load();
});

afterAll(async () => {
  await app?.close();
});

describe('POST /v1/models/{name}/generate draws the reference images', () => {
  it.each(REFERENCE_CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const r = await app.inject({ method: 'POST', url: `/v1/models/${c.model}/generate`, payload: c.server });
    expect(r.statusCode, r.body).toBe(200);
    const images: { label: number; png: string }[] = r.json().images;
    expect(images.map((x) => x.label)).toEqual(c.labels);
    expect(imagesSha256(images.map((x) => decodePng(new Uint8Array(Buffer.from(x.png, 'base64')), 1).data))).toBe(c.sha256.server);
  });
});
