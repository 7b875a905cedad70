import { readFileSync } from 'node:fs';
import { WHITE_BACKGROUND, type Background } from '../background.js';
import { boxDownsample2 } from '../box-downsample.js';
import { FarmerError } from '../errors.js';
import type { U8Images } from '../image.js';
import { decodePng } from '../png.js';
import { makeDataset, type DatasetSplit, type ImageDataset } from './dataset.js';
import { emojiImagePath, resolveEmojiPackages, type EmojiPackage, type EmojiVendor } from './emoji-packages.js';
import splitFile from './emoji-split.json';

/** The 9 classes of the emoji dataset, in label order: emoji-data's categories without "Component" (the 5 skin-tone swatches). */
export const EMOJI_CLASSES = [
  'Smileys & Emotion',
  'People & Body',
  'Animals & Nature',
  'Food & Drink',
  'Travel & Places',
  'Activities',
  'Objects',
  'Symbols',
  'Flags',
] as const;

/** The colour the emoji dataset composites transparency on: white, the page emoji are drawn for. */
export const EMOJI_BACKGROUND: Background = WHITE_BACKGROUND;

/** Side length of an emoji image: the packages' 64×64 PNGs halved. */
export const EMOJI_IMAGE_SIZE = 32;

/** The fixed split: the package versions it was made for, how it was made, its near-twin groups, the test emoji. */
export interface EmojiSplit {
  /** Package name → the exact version the split was made for. */
  packages: Record<string, string>;
  /** Mean |pixel difference| (levels 0..255, same vendor) below which two emoji count as near-twins. */
  threshold: number;
  /** Seed of the order in which groups were offered to the test split. */
  seed: string;
  /** The share of each category's images aimed at for test. */
  testFraction: number;
  /** The near-twin groups of more than one emoji, each by `unified`; a group is on one side of the split. */
  groups: string[][];
  /** The test emoji by `unified`; every other kept emoji is in train. */
  test: string[];
}

/** The committed split (emoji-split.json). */
export const EMOJI_SPLIT: EmojiSplit = splitFile;

/** Every kept emoji image of both vendors, before the split. */
export interface EmojiImages {
  /** [count, 32, 32, 3] u8, composited on white. */
  images: U8Images;
  /** [count] index into {@link EMOJI_CLASSES}. */
  labels: Int32Array;
  /** [count] the emoji's code points as emoji-data spells them, e.g. `1F600`. */
  unified: string[];
  /** [count] whose drawing it is. */
  vendor: EmojiVendor[];
}

/** Options of {@link loadEmojiImages} and {@link loadEmojiDataset}. */
export interface EmojiOptions {
  /** Folders to resolve the two npm packages from (default: the process's cwd, then @farmer/core's location). */
  resolveFrom?: readonly string[];
}

const PER_IMAGE = EMOJI_IMAGE_SIZE * EMOJI_IMAGE_SIZE * 3;
const cache = new Map<string, EmojiImages>();

/** One 64×64 RGBA PNG → 32×32×3 u8 on the emoji background. */
function decodeEmojiPng(file: string): Uint8Array {
  const im = decodePng(new Uint8Array(readFileSync(file)), 3, { background: EMOJI_BACKGROUND });
  if (im.width !== 2 * EMOJI_IMAGE_SIZE || im.height !== 2 * EMOJI_IMAGE_SIZE) {
    throw new FarmerError('FARMER_E_CORRUPT', `${file} is ${im.width}×${im.height}, expected 64×64`, { file });
  }
  return boxDownsample2(im).data;
}

/** The kept images of one package: its base images (no skin tones) outside "Component", in emoji.json order. */
function vendorImages(pkg: EmojiPackage): { file: string; label: number; unified: string }[] {
  const out = [];
  for (const entry of pkg.entries) {
    const label = (EMOJI_CLASSES as readonly string[]).indexOf(entry.category);
    const file = emojiImagePath(pkg, entry);
    if (label >= 0 && file) out.push({ file, label, unified: entry.unified });
  }
  return out;
}

/**
 * Every kept image of both installed packages (google's, then twitter's, each
 * in emoji.json order), decoded once per process and package location.
 */
export function loadEmojiImages(options: EmojiOptions = {}): EmojiImages {
  const packages = resolveEmojiPackages(EMOJI_SPLIT.packages, options.resolveFrom);
  const key = packages.map((p) => p.dir).join('\n');
  const hit = cache.get(key);
  if (hit) return hit;
  const list = packages.flatMap((pkg) => vendorImages(pkg).map((x) => ({ ...x, vendor: pkg.vendor })));
  const data = new Uint8Array(list.length * PER_IMAGE);
  list.forEach((x, i) => data.set(decodeEmojiPng(x.file), i * PER_IMAGE));
  const all: EmojiImages = {
    images: { data, count: list.length, height: EMOJI_IMAGE_SIZE, width: EMOJI_IMAGE_SIZE, channels: 3 },
    labels: Int32Array.from(list, (x) => x.label),
    unified: list.map((x) => x.unified),
    vendor: list.map((x) => x.vendor),
  };
  cache.set(key, all);
  return all;
}

/** The indices of `all` on one side of the committed split. */
export function emojiSplitIndices(all: Pick<EmojiImages, 'unified'>, split: DatasetSplit): number[] {
  const test = new Set(EMOJI_SPLIT.test);
  const known = new Set(all.unified);
  const stray = EMOJI_SPLIT.test.filter((u) => !known.has(u));
  if (stray.length) throw new FarmerError('FARMER_E_CORRUPT', `emoji-split.json names test emoji the packages do not have: ${stray.slice(0, 5).join(', ')}`);
  const out: number[] = [];
  all.unified.forEach((u, i) => {
    if (test.has(u) === (split === 'test')) out.push(i);
  });
  return out;
}

/**
 * One split of the emoji dataset, [N, 32, 32, 3] u8 with labels in
 * {@link EMOJI_CLASSES}: drawings of the 1,906 emoji outside "Component" by
 * two vendors, Noto Emoji (`emoji-datasource-google`, Apache-2.0 images) and
 * Twemoji (`emoji-datasource-twitter`, CC-BY-4.0 images), both 16.0.0. Each
 * package's 64×64 RGBA PNG is composited on {@link EMOJI_BACKGROUND}
 * (docs/method.md §2.6 Transparency) and halved by an exact 2×2 mean.
 *
 * Skin-tone variants are left out (base images only): with them People & Body
 * would be 2,261 of 3,781 images per vendor (60%), and each variant is its
 * base image with the skin recoloured, a near-twin.
 *
 * The split is fixed, by emoji, in `emoji-split.json` (made by
 * scripts/make-emoji-split.mjs): both vendors' drawings of an emoji are on one
 * side, and so is each group of near-twins (emoji whose images on one vendor
 * differ by less than 12 levels of mean |pixel difference|, joined
 * transitively, and emoji that differ only in gender). About 15% of each
 * category is test. Images per split (2 per emoji):
 *
 * | category          | train | test |
 * |-------------------|------:|-----:|
 * | Smileys & Emotion |   288 |   50 |
 * | People & Body     |   656 |  116 |
 * | Animals & Nature  |   270 |   48 |
 * | Food & Drink      |   224 |   38 |
 * | Travel & Places   |   372 |   64 |
 * | Activities        |   144 |   26 |
 * | Objects           |   450 |   78 |
 * | Symbols           |   382 |   66 |
 * | Flags             |   460 |   80 |
 * | all               | 3,246 |  566 |
 */
export function loadEmojiDataset(split: DatasetSplit, options: EmojiOptions = {}): ImageDataset {
  const all = loadEmojiImages(options);
  const keep = emojiSplitIndices(all, split);
  const data = new Uint8Array(keep.length * PER_IMAGE);
  keep.forEach((j, i) => data.set(all.images.data.subarray(j * PER_IMAGE, (j + 1) * PER_IMAGE), i * PER_IMAGE));
  return makeDataset({
    name: 'emoji',
    split,
    images: { data, count: keep.length, height: EMOJI_IMAGE_SIZE, width: EMOJI_IMAGE_SIZE, channels: 3 },
    labels: Int32Array.from(keep, (j) => all.labels[j]),
    numClasses: EMOJI_CLASSES.length,
    classNames: [...EMOJI_CLASSES],
    background: EMOJI_BACKGROUND,
  });
}
