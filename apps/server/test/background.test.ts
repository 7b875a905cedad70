import { join } from 'node:path';
import { FarmerModel, saveFarmer } from '@farmer/ar-gmm';
import { BLACK_BACKGROUND, compositeRgba, encodePng, initBackend, WHITE_BACKGROUND, type Background } from '@farmer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';
import { http, removeTmp, tmp } from './helpers.js';

// A fresh 8×8 RGB model whose config records a white background (as training on the emoji set
// records it), served on tfjs: its image routes must composite uploaded PNGs on white.
let server: RunningServer;
let url: string;

/** 8×8 straight RGBA: varied colours; alpha 0 in the top row, 100 in the next, opaque below. */
const PX = (() => {
  const d = new Uint8Array(8 * 8 * 4);
  for (let p = 0; p < 64; p++) d.set([(p * 37) % 256, (p * 91 + 5) % 256, 255 - p * 3, p < 8 ? 0 : p < 16 ? 100 : 255], p * 4);
  return d;
})();
const png = (data: Uint8Array, channels: 1 | 3 | 4) => Buffer.from(encodePng({ data, count: 1, height: 8, width: 8, channels }));
/** PX composited on `bg` by the rule of docs/method.md §2.6 Transparency, as an opaque RGB PNG. */
const flat = (bg: Background) => png(compositeRgba(PX, 3, bg), 3);

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const models = tmp();
  const model = FarmerModel.create(
    {
      flow: { inChannels: 3, imageSize: 8, patchSize: 2, width: 16, numBlocks: 1, layersPerBlock: 1, headDim: 8 },
      ar: { width: 16, layers: 1, headDim: 8, prefixLength: 1, informativeDim: 4, componentsInformative: 2, componentsRedundant: 1 },
      numClasses: 3,
      background: [255, 255, 255],
    },
    5,
  );
  await saveFarmer(join(models, 'white'), model);
  model.dispose();
  server = await startServer({ models, port: 0, logger: false, backend: 'wasm', runtime: 'tfjs' });
  url = `${server.url}/v1/models/white`;
});

afterAll(async () => {
  await server?.close();
  removeTmp();
});

const post = async (route: 'likelihood' | 'classify', body: Buffer) => {
  const r = await http('POST', `${url}/${route}?seed=3`, { body, headers: { 'content-type': 'image/png' } });
  expect(r.status, r.body.toString()).toBe(200);
  return r.json();
};

describe('image routes of a model with a white background', () => {
  it('GET /v1/models/{name} shows the background', async () => {
    expect((await http('GET', url)).json().config.background).toEqual([255, 255, 255]);
  });

  it('POST likelihood composites transparent pixels on white: the bits/dim of the image pre-composited on white, not on black', async () => {
    const alpha = (await post('likelihood', png(PX, 4))).bitsPerDim;
    expect(alpha).toBe((await post('likelihood', flat(WHITE_BACKGROUND))).bitsPerDim);
    expect(Math.abs(alpha - (await post('likelihood', flat(BLACK_BACKGROUND))).bitsPerDim)).toBeGreaterThan(1e-3);
  });

  it('POST classify likewise (every class\'s log-likelihood), and reads a grey PNG as its grey replicated into RGB', async () => {
    const alpha = await post('classify', png(PX, 4));
    const white = await post('classify', flat(WHITE_BACKGROUND));
    expect(alpha.logLikelihood).toEqual(white.logLikelihood);
    expect(alpha.bitsPerDim).toBe(white.bitsPerDim);
    const black = await post('classify', flat(BLACK_BACKGROUND));
    expect(Math.abs(alpha.bitsPerDim - black.bitsPerDim)).toBeGreaterThan(1e-3);

    const grey = Uint8Array.from({ length: 64 }, (_, p) => (p * 53) % 256);
    const rgb = Uint8Array.from({ length: 64 * 3 }, (_, i) => grey[Math.floor(i / 3)]);
    expect((await post('classify', png(grey, 1))).logLikelihood).toEqual((await post('classify', png(rgb, 3))).logLikelihood);
  });
});
