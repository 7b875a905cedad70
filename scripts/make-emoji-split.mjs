#!/usr/bin/env node
// Makes the fixed train/test split of the emoji dataset (issue 31),
// packages/core/src/datasets/emoji-split.json:
//
//   npm run build && node scripts/make-emoji-split.mjs [--threshold T] [--histogram] [--check]
//
// 1. Every kept emoji (base images, no skin tones, "Component" dropped) is one unit: its
//    google and twitter drawings go to the same side.
// 2. Units whose 32×32 images are near-twins join one group: union-find over the pairs whose
//    mean |pixel difference| on the same vendor (meanAbsPixelDifference, levels 0..255) is
//    below THRESHOLD, and over the pairs that differ only in gender (genderFree).
//    --histogram prints the distances to choose THRESHOLD by.
// 3. Groups go to test in a seeded order while that brings each category closer to
//    TEST_FRACTION of its images (stratified per category, deterministic).
//
// It prints the counts per category and split, the groups, and the smallest test→train
// distance, then writes the file (with --check it only compares with the committed one).
// Reads the installed emoji-datasource-google/-twitter through @farmer/core's loader, so the
// images are exactly the dataset's.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMOJI_CLASSES, EMOJI_SPLIT, EMOJI_VENDORS, loadEmojiImages, meanAbsPixelDifference, Rng } from '@farmer/core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'packages/core/src/datasets/emoji-split.json');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);

/**
 * Near-twin threshold in levels. The distances have no gap to cut at (--histogram: about 50
 * units per level of nearest-neighbour distance from 0 to 30), so it is where the pairs change
 * kind. Below 12, sampled pairs are nearly all one drawing varied: clock faces 2–3, keycaps
 * 2–12, flags that are the same or differ in a detail 0–8 (Norway/Svalbard, Chad/Romania),
 * gendered variants, faces that differ in the mouth or eyes. From 12 up come pairs that only
 * share a layout or a mostly white canvas (mouse ~ white exclamation mark 13.6, pig ~ dumpling
 * 14.4), and above 14 chaining merges groups of 60 to 170 emoji. Coloured circles, squares and
 * hearts are not near-twins by this measure (red ~ orange circle 35–47, ~ blue 94–114).
 */
const THRESHOLD = option('--threshold', 12);
const TEST_FRACTION = 0.15;
const SEED = 'emoji-split';
/** Pairs at or above this distance are not needed exactly (the histogram stops here). */
const CAP = 30;

const t0 = performance.now();
const all = loadEmojiImages();
console.log(`${all.images.count} images decoded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Units: one per emoji, in the order of first appearance; per vendor, the image of each unit.
const units = [...new Set(all.unified)];
const unitOf = new Map(units.map((u, k) => [u, k]));
const imageOf = Object.fromEntries(EMOJI_VENDORS.map((v) => [v, new Int32Array(units.length).fill(-1)]));
all.unified.forEach((u, i) => (imageOf[all.vendor[i]][unitOf.get(u)] = i));
const labelOf = (k) => all.labels[imageOf.google[k] >= 0 ? imageOf.google[k] : imageOf.twitter[k]];
const names = entryNames();

/** Every pair of units closer than CAP on some vendor: [k, l, distance (the smaller of the vendors')]. */
function closePairs() {
  const pairs = [];
  for (let k = 0; k < units.length; k++) {
    for (let l = k + 1; l < units.length; l++) {
      let d = Infinity;
      for (const v of EMOJI_VENDORS) {
        const i = imageOf[v][k];
        const j = imageOf[v][l];
        if (i >= 0 && j >= 0) d = Math.min(d, meanAbsPixelDifference(all.images, i, all.images, j, CAP));
      }
      if (d < CAP) pairs.push([k, l, d]);
    }
  }
  return pairs;
}

/**
 * The emoji as it is without its gender: Unicode spells gendered variants as ZWJ sequences, a
 * ♀/♂ sign after the base (`1F3C3-200D-2640-FE0F`, woman running) or man/woman/person before a
 * role (`1F469-200D-1F33E`, woman farmer). Variants with one key are near-twins whatever their
 * pixel distance (a different haircut can move it past the threshold).
 */
const genderFree = (u) => u.replace(/-200D-(2640|2642)(-FE0F)?$/, '').replace(/^(1F468|1F469|1F9D1)-200D-/, 'PERSON-');

/** Pairs of units that differ only in gender (see genderFree). */
function genderPairs() {
  const byKey = new Map();
  units.forEach((u, k) => byKey.set(genderFree(u), [...(byKey.get(genderFree(u)) ?? []), k]));
  return [...byKey.values()].flatMap((ks) => ks.slice(1).map((k) => [ks[0], k]));
}

/** Union-find over `joins` (pairs of units): the groups of units, each a sorted list of unit indices. */
function unionGroups(joins) {
  const parent = units.map((_, k) => k);
  const find = (k) => (parent[k] === k ? k : (parent[k] = find(parent[k])));
  for (const [k, l] of joins) parent[find(k)] = find(l);
  const groups = new Map();
  units.forEach((_, k) => groups.set(find(k), [...(groups.get(find(k)) ?? []), k]));
  return [...groups.values()];
}

/** Images per category of a list of units. */
function imageCounts(unitList) {
  const counts = new Array(EMOJI_CLASSES.length).fill(0);
  for (const k of unitList) for (const v of EMOJI_VENDORS) if (imageOf[v][k] >= 0) counts[labelOf(k)]++;
  return counts;
}

/**
 * Groups in a seeded order; each goes to test when no category it touches then has more test
 * images than its target (TEST_FRACTION of the category, rounded). The many single emoji fill
 * what the large groups leave, so every category ends within an emoji of its target.
 */
function chooseTest(groups) {
  const target = imageCounts(units.map((_, k) => k)).map((n) => Math.round(TEST_FRACTION * n));
  const have = new Array(EMOJI_CLASSES.length).fill(0);
  const rng = new Rng(SEED);
  const order = groups.map((g) => g);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const test = [];
  for (const g of order) {
    const add = imageCounts(g);
    if (add.some((n, c) => n > 0 && have[c] + n > target[c])) continue;
    test.push(...g);
    add.forEach((n, c) => (have[c] += n));
  }
  return new Set(test);
}

/** The nearest training image (same vendor) of every test image: [distance, test image, train image], smallest first. */
function testToTrain(isTest) {
  const out = [];
  for (const v of EMOJI_VENDORS) {
    const idx = imageOf[v];
    for (let k = 0; k < units.length; k++) {
      if (!isTest.has(k) || idx[k] < 0) continue;
      let best = [Infinity, idx[k], -1];
      for (let l = 0; l < units.length; l++) {
        if (isTest.has(l) || idx[l] < 0) continue;
        const d = meanAbsPixelDifference(all.images, idx[k], all.images, idx[l], best[0]);
        if (d < best[0]) best = [d, idx[k], idx[l]];
      }
      out.push(best);
    }
  }
  return out.sort((a, b) => a[0] - b[0]);
}

function entryNames() {
  const req = createRequire(join(process.cwd(), 'package.json'));
  const entries = JSON.parse(readFileSync(req.resolve('emoji-datasource-google/emoji.json'), 'utf8'));
  return new Map(entries.map((e) => [e.unified, (e.name ?? e.short_name).toLowerCase()]));
}

function printHistogram(pairs) {
  const nearest = new Array(units.length).fill(CAP);
  for (const [k, l, d] of pairs) {
    nearest[k] = Math.min(nearest[k], d);
    nearest[l] = Math.min(nearest[l], d);
  }
  console.log(`\nnearest other emoji of each unit (min over vendors), mean |pixel difference| in levels (≥ ${CAP} lumped):`);
  for (let lo = 0; lo < CAP; lo += 1) {
    const n = nearest.filter((d) => d >= lo && d < lo + 1).length;
    const pairsHere = pairs.filter(([, , d]) => d >= lo && d < lo + 1);
    const ex = pairsHere.slice(0, 3).map(([k, l]) => `${names.get(units[k])} ~ ${names.get(units[l])}`);
    console.log(`  [${String(lo).padStart(2)}, ${String(lo + 1).padStart(2)}) ${String(n).padStart(4)} units ${String(pairsHere.length).padStart(5)} pairs  ${'#'.repeat(Math.ceil(n / 4))}  ${ex.join(' | ')}`);
  }
  console.log(`  ≥ ${CAP}     ${nearest.filter((d) => d >= CAP).length} units`);
}

function printCounts(isTest) {
  const train = imageCounts(units.map((_, k) => k).filter((k) => !isTest.has(k)));
  const test = imageCounts([...isTest]);
  console.log('\nimages per category and split:');
  EMOJI_CLASSES.forEach((c, i) => console.log(`  ${c.padEnd(18)} train ${String(train[i]).padStart(5)}  test ${String(test[i]).padStart(4)}  (${((100 * test[i]) / (train[i] + test[i])).toFixed(1)}% test)`));
  const sum = (a) => a.reduce((s, x) => s + x, 0);
  console.log(`  ${'all'.padEnd(18)} train ${String(sum(train)).padStart(5)}  test ${String(sum(test)).padStart(4)}  (${((100 * sum(test)) / (sum(train) + sum(test))).toFixed(1)}% test)`);
}

const t1 = performance.now();
const pairs = closePairs();
console.log(`${pairs.length} pairs of units closer than ${CAP} levels, found in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
if (args.includes('--histogram')) printHistogram(pairs);

const close = pairs.filter(([, , d]) => d < THRESHOLD);
const byPixels = unionGroups(close);
const groups = unionGroups([...close, ...genderPairs()]);
const multi = groups.filter((g) => g.length > 1).sort((a, b) => b.length - a.length || a[0] - b[0]);
console.log(`\nthreshold ${THRESHOLD}: ${close.length} pairs below it give ${byPixels.length} groups; joining gender variants (${genderPairs().length} pairs) too gives ${groups.length}`);
console.log(`${multi.length} groups of more than one emoji (${multi.reduce((s, g) => s + g.length, 0)} emoji); sizes ${multi.map((g) => g.length).join(' ')}`);
for (const g of multi) console.log(`  ${g.length}: ${g.slice(0, 8).map((k) => names.get(units[k])).join(', ')}${g.length > 8 ? ', …' : ''}`);

const isTest = chooseTest(groups);
printCounts(isTest);
const nearestTrain = testToTrain(isTest);
console.log(`\nsmallest test→train distance (same vendor): ${nearestTrain[0][0].toFixed(3)} levels (threshold ${THRESHOLD})`);
for (const [d, i, j] of nearestTrain.slice(0, 5)) console.log(`  ${d.toFixed(3)}  ${all.vendor[i]}: test ${names.get(all.unified[i])} ~ train ${names.get(all.unified[j])}`);

const split = {
  about: 'The fixed train/test split of the emoji dataset, made by scripts/make-emoji-split.mjs; do not edit by hand.',
  packages: EMOJI_SPLIT.packages,
  threshold: THRESHOLD,
  seed: SEED,
  testFraction: TEST_FRACTION,
  groups: multi.map((g) => g.map((k) => units[k])),
  test: units.filter((_, k) => isTest.has(k)),
};
// One group per line and one test emoji per line, so that a change of the split reads as a diff.
const lines = (list) => `[\n${list.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]`;
const text = `{\n${Object.entries(split)
  .map(([k, v]) => `  ${JSON.stringify(k)}: ${Array.isArray(v) ? lines(v) : JSON.stringify(v)}`)
  .join(',\n')}\n}\n`;
if (args.includes('--check')) {
  const same = readFileSync(OUT, 'utf8') === text;
  console.log(same ? `\n${OUT} is up to date` : `\n${OUT} differs from what this script makes`);
  process.exit(same ? 0 : 1);
}
writeFileSync(OUT, text);
console.log(`\nwrote ${OUT}: ${split.test.length} test emoji of ${units.length}`);
