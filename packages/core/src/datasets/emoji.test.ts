import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxDownsample2 } from '../box-downsample.js';
import { isFarmerError } from '../errors.js';
import { meanAbsPixelDifference } from '../pixel-distance.js';
import { decodePng } from '../png.js';
import type { ImageDataset } from './dataset.js';
import { EMOJI_BACKGROUND, EMOJI_CLASSES, EMOJI_SPLIT, loadEmojiImages, type EmojiImages } from './emoji.js';
import { loadDataset } from './load.js';

const INSTALL = 'npm install emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0';

/** Images per category, in EMOJI_CLASSES order: the table in loadEmojiDataset's doc comment. */
const COUNTS = {
  train: [288, 656, 270, 224, 372, 144, 450, 382, 460],
  test: [50, 116, 48, 38, 64, 26, 78, 66, 80],
};

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('the emoji dataset', () => {
  let train: ImageDataset;
  let test: ImageDataset;
  let all: EmojiImages;
  beforeAll(async () => {
    train = await loadDataset('emoji');
    test = await loadDataset('emoji', { split: 'test' });
    all = loadEmojiImages();
  });

  it('is 32×32 RGB with the 9 categories as classes, in their order, and the documented counts per category and split', () => {
    for (const ds of [train, test]) {
      expect([ds.images.height, ds.images.width, ds.images.channels]).toEqual([32, 32, 3]);
      expect(ds.numClasses).toBe(9);
      expect(ds.classNames).toEqual(['Smileys & Emotion', 'People & Body', 'Animals & Nature', 'Food & Drink', 'Travel & Places', 'Activities', 'Objects', 'Symbols', 'Flags']);
    }
    const count = (ds: ImageDataset) => EMOJI_CLASSES.map((_, c) => ds.labels.filter((l) => l === c).length);
    expect(count(train)).toEqual(COUNTS.train);
    expect(count(test)).toEqual(COUNTS.test);
    // 1,906 emoji (no skin tones, no Component), each drawn by both vendors.
    expect(train.images.count + test.images.count).toBe(2 * 1906);
    expect(all.images.count).toBe(2 * 1906);
    expect(test.images.count / all.images.count).toBeCloseTo(0.15, 2);
  });

  it('is each package PNG composited on white and halved by a 2×2 mean', () => {
    expect(EMOJI_BACKGROUND).toEqual([255, 255, 255]);
    // The sets say so, for the model trained on them to record.
    expect(train.background).toEqual([255, 255, 255]);
    expect(test.background).toEqual([255, 255, 255]);
    const req = createRequire(import.meta.url);
    const i = all.unified.findIndex((u, k) => u === '1F600' && all.vendor[k] === 'twitter');
    const file = join(dirname(req.resolve('emoji-datasource-twitter/package.json')), 'img/twitter/64/1f600.png');
    const want = boxDownsample2(decodePng(new Uint8Array(readFileSync(file)), 3, { background: [255, 255, 255] })).data;
    expect(all.images.data.subarray(i * 3072, (i + 1) * 3072)).toEqual(want);
    // The corners of a round face are transparent in the package: white here.
    expect(Array.from(want.subarray(0, 3))).toEqual([255, 255, 255]);
  });

  it('puts both drawings of an emoji, and every near-twin group, on one side of the split', () => {
    const testSet = new Set(EMOJI_SPLIT.test);
    const trainUnified = new Set(all.unified.filter((u) => !testSet.has(u)));
    expect(EMOJI_SPLIT.test.filter((u) => trainUnified.has(u))).toEqual([]);
    for (const u of EMOJI_SPLIT.test) expect(all.unified.filter((x) => x === u), u).toHaveLength(2);
    expect(EMOJI_SPLIT.groups.filter((g) => new Set(g.map((u) => testSet.has(u))).size > 1)).toEqual([]);
    expect(EMOJI_SPLIT.packages).toEqual({ 'emoji-datasource-google': '16.0.0', 'emoji-datasource-twitter': '16.0.0' });
  });

  it('has no test image within the near-twin threshold of a training image of the same vendor', () => {
    // This alone keeps every near-twin group whole: a group that crossed the split would have a pair below the threshold across it.
    const threshold = EMOJI_SPLIT.threshold;
    expect(threshold).toBeGreaterThan(0);
    const testSet = new Set(EMOJI_SPLIT.test);
    const close: string[] = [];
    for (let i = 0; i < all.images.count; i++) {
      if (!testSet.has(all.unified[i])) continue;
      for (let j = 0; j < all.images.count; j++) {
        if (testSet.has(all.unified[j]) || all.vendor[j] !== all.vendor[i]) continue;
        const d = meanAbsPixelDifference(all.images, i, all.images, j, threshold);
        if (d < threshold) close.push(`${all.vendor[i]} ${all.unified[i]} ~ ${all.unified[j]}: ${d.toFixed(2)}`);
      }
    }
    expect(close).toEqual([]);
  });

  it('without the two packages, says how to install them (FARMER_E_BAD_INPUT, which the CLI maps to exit 2)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'farmer-emoji-'));
    const err = await caught(loadDataset('emoji', { split: 'test', resolveFrom: [empty] }));
    expect(isFarmerError(err, 'FARMER_E_BAD_INPUT'), String(err)).toBe(true);
    const message = (err as Error).message;
    expect(message.split('\n')).toContain(INSTALL);
    expect(message).toMatch(/emoji-datasource-google is not installed .*; emoji-datasource-twitter is not installed/);
  });

  it('refuses another version of a package, since the split is made for 16.0.0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'farmer-emoji-'));
    const pkg = join(dir, 'node_modules', 'emoji-datasource-google');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'emoji-datasource-google', version: '15.1.2' }));
    writeFileSync(join(pkg, 'emoji.json'), '[]');
    const err = await caught(loadDataset('emoji', { resolveFrom: [dir] }));
    expect(isFarmerError(err, 'FARMER_E_BAD_INPUT'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/emoji-datasource-google 15\.1\.2 is installed at .*, but the emoji split is made for 16\.0\.0/);
    expect((err as Error).message.split('\n')).toContain(INSTALL);
  });
});
