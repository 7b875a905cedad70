import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { FarmerError } from '../errors.js';

/** The two image sets of the emoji dataset, by the vendor name emoji-data uses in its paths and fields. */
export const EMOJI_VENDORS = ['google', 'twitter'] as const;

/** One of {@link EMOJI_VENDORS}: `google` (Noto Emoji, Apache-2.0) or `twitter` (Twemoji, CC-BY-4.0). */
export type EmojiVendor = (typeof EMOJI_VENDORS)[number];

/** The npm package holding a vendor's images and `emoji.json`. */
export const emojiPackageName = (vendor: EmojiVendor): string => `emoji-datasource-${vendor}`;

/** One entry of a package's `emoji.json`: the fields the dataset reads. */
export interface EmojiEntry {
  unified: string;
  name: string | null;
  short_name: string;
  image: string;
  category: string;
  subcategory: string;
  has_img_google?: boolean;
  has_img_twitter?: boolean;
}

/** An installed emoji image package: where it is and what `emoji.json` lists. */
export interface EmojiPackage {
  vendor: EmojiVendor;
  dir: string;
  version: string;
  entries: EmojiEntry[];
}

/** Where packages are resolved from by default: the process's cwd, then @farmer/core's own location. */
function defaultBases(): string[] {
  return [join(process.cwd(), 'package.json'), import.meta.url];
}

/** The package's folder, resolved like `require` from each base in turn; undefined when none finds it. */
function findPackageDir(name: string, bases: readonly string[]): string | undefined {
  for (const base of bases) {
    try {
      return dirname(createRequire(base).resolve(`${name}/package.json`));
    } catch {
      // Not installed where this base looks; try the next.
    }
  }
  return undefined;
}

/** A vendor's package found at the wanted version, or what is wrong with it. */
function installedPackage(vendor: EmojiVendor, version: string, bases: readonly string[], where: string): EmojiPackage | string {
  const name = emojiPackageName(vendor);
  const dir = findPackageDir(name, bases);
  if (!dir) return `${name} is not installed (looked from ${where})`;
  const found = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  if (found !== version) return `${name} ${found} is installed at ${dir}, but the emoji split is made for ${version}`;
  if (!existsSync(join(dir, 'emoji.json'))) return `${dir} has no emoji.json`;
  return { vendor, dir, version, entries: JSON.parse(readFileSync(join(dir, 'emoji.json'), 'utf8')) as EmojiEntry[] };
}

/**
 * The installed emoji packages, at exactly the versions in `versions` (by
 * package name: the ones the fixed split was made for). Resolved from
 * `resolveFrom` (folders) when given, else from the process's cwd and then
 * from @farmer/core's location. A missing package or another version is
 * FARMER_E_BAD_INPUT whose message has the `npm install` line that fixes it.
 */
export function resolveEmojiPackages(versions: Readonly<Record<string, string>>, resolveFrom?: readonly string[]): EmojiPackage[] {
  const bases = resolveFrom ? resolveFrom.map((d) => join(resolve(d), 'package.json')) : defaultBases();
  const where = resolveFrom ? resolveFrom.join(', ') : `${process.cwd()} and @farmer/core's location`;
  const found = EMOJI_VENDORS.map((v) => installedPackage(v, versions[emojiPackageName(v)], bases, where));
  const problems = found.filter((f): f is string => typeof f === 'string');
  if (problems.length) {
    const install = `npm install ${EMOJI_VENDORS.map((v) => `${emojiPackageName(v)}@${versions[emojiPackageName(v)]}`).join(' ')}`;
    throw new FarmerError('FARMER_E_BAD_INPUT', `the emoji dataset reads its images from two npm packages: ${problems.join('; ')}. Install them in your project (the split is made for these versions), then run again:\n${install}\n`, { field: 'data' });
  }
  return found as EmojiPackage[];
}

/** The 64×64 PNG of one entry in its package, or undefined when the vendor has no image of it. */
export function emojiImagePath(pkg: EmojiPackage, entry: EmojiEntry): string | undefined {
  return entry[`has_img_${pkg.vendor}`] ? join(pkg.dir, 'img', pkg.vendor, '64', entry.image) : undefined;
}
