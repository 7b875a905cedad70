import { join } from 'node:path';
import { FarmerModel, saveFarmer } from '@farmer/ar-gmm';
import { BLACK_BACKGROUND, compositeRgba, decodePng, encodePng, initBackend, WHITE_BACKGROUND, type Background } from '@farmer/core';
import { randomize, scaledImageAt } from '@farmer/test-utils';
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
  // A grey 8×8 model (no background: black), seeded random weights so that its likelihood depends on every pixel.
  const grey = FarmerModel.create(
    {
      flow: { inChannels: 1, imageSize: 8, patchSize: 2, width: 16, numBlocks: 1, layersPerBlock: 1, headDim: 8 },
      ar: { width: 16, layers: 1, headDim: 8, prefixLength: 1, informativeDim: 2, componentsInformative: 2, componentsRedundant: 1 },
      numClasses: 2,
    },
    6,
  );
  randomize(grey.flow.params, 1, { scale: 0.1, projOut: 0.05 });
  randomize(grey.ar.params, 2, { scale: 0.1, projOut: 0.05 });
  await saveFarmer(join(models, 'grey'), grey);
  grey.dispose();
  server = await startServer({ models, port: 0, logger: false, backend: 'wasm', runtime: 'tfjs' });
  url = `${server.url}/v1/models/white`;
});

afterAll(async () => {
  await server?.close();
  removeTmp();
});

const post = async (route: 'likelihood' | 'classify', body: Buffer, model = url) => {
  const r = await http('POST', `${model}/${route}?seed=3`, { body, headers: { 'content-type': 'image/png' } });
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

describe('image routes of a grey model given colour PNGs', () => {
  const grey = () => `${server.url}/v1/models/grey`;
  /** Straight RGBA pixels composited on black (the grey model's background) as their luma, and as their red channel, as grey PNGs. */
  const luma = (rgba: Uint8Array) => png(compositeRgba(rgba, 1, BLACK_BACKGROUND), 1);
  const red = (rgba: Uint8Array) => png(Uint8Array.from({ length: 64 }, (_, p) => compositeRgba(rgba, 3, BLACK_BACKGROUND)[3 * p]), 1);
  /** Opaque RGBA of RGB pixels. */
  const opaque = (rgb: Uint8Array) => Uint8Array.from({ length: 64 * 4 }, (_, i) => (i % 4 === 3 ? 255 : rgb[Math.floor(i / 4) * 3 + (i % 4)]));

  it('POST likelihood and classify read a colour PNG as its luma 0.299·R + 0.587·G + 0.114·B (docs/method.md §2.6 Transparency), not as one of its channels', async () => {
    // PX with its transparency, and PX flattened on black into an opaque RGB PNG (whose luma is that of its rounded channels).
    for (const [colour, rgba] of [[png(PX, 4), PX], [flat(BLACK_BACKGROUND), opaque(compositeRgba(PX, 3, BLACK_BACKGROUND))]] as const) {
      const l = await post('likelihood', colour, grey());
      expect(l.channels).toBe(1);
      expect(l.bitsPerDim).toBe((await post('likelihood', luma(rgba), grey())).bitsPerDim);
      const c = await post('classify', colour, grey());
      expect(c.logLikelihood).toEqual((await post('classify', luma(rgba), grey())).logLikelihood);
      expect(Math.abs(l.bitsPerDim - (await post('likelihood', red(rgba), grey())).bitsPerDim)).toBeGreaterThan(1e-3);
    }
  });

  it('POST likelihood of the colour model reads a grey PNG as its grey replicated into RGB', async () => {
    const grey8 = Uint8Array.from({ length: 64 }, (_, p) => (p * 53) % 256);
    const rgb = Uint8Array.from({ length: 64 * 3 }, (_, i) => grey8[Math.floor(i / 3)]);
    const l = await post('likelihood', png(grey8, 1));
    expect(l.channels).toBe(3);
    expect(l.bitsPerDim).toBe((await post('likelihood', png(rgb, 3))).bitsPerDim);
  });
});

describe('POST generate of a colour model', () => {
  it('answers RGB PNGs (colour type 2) of the model size: each JSON image, the single PNG and the grid, whose tiles are the JSON images', async () => {
    const colourType = (b: Buffer) => [b.readUInt32BE(16), b.readUInt32BE(20), b[24], b[25]];
    const j = (await http('POST', `${url}/generate`, { body: { count: 4, labels: [0, 1, 2, 0], seed: 9 } })).json();
    const pngs = j.images.map((im: { png: string; channels: number }) => {
      expect(im.channels).toBe(3);
      return Buffer.from(im.png, 'base64');
    });
    for (const b of pngs) expect(colourType(b)).toEqual([8, 8, 8, 2]);
    const one = await http('POST', `${url}/generate`, { body: { labels: 0, seed: 9, format: 'png' } });
    expect(colourType(one.body)).toEqual([8, 8, 8, 2]);
    expect(one.body.equals(pngs[0])).toBe(true);
    // 2×2 tiles of 8 with 2-pixel padding: 2·8 + 3·2 = 22.
    const grid = await http('POST', `${url}/generate`, { body: { count: 4, labels: [0, 1, 2, 0], seed: 9, format: 'grid' } });
    expect(colourType(grid.body)).toEqual([22, 22, 8, 2]);
    const g = decodePng(new Uint8Array(grid.body), 3);
    pngs.forEach((b: Buffer, i: number) => expect(scaledImageAt(g, decodePng(new Uint8Array(b), 3), 2 + (i % 2) * 10, 2 + Math.floor(i / 2) * 10), `tile ${i}`).toBe(true));
  });
});
