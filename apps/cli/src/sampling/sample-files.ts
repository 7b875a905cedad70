import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { directoryWriteProblem, encodePng, ensureDirectory, imageGrid, sliceImages, writeFileAtomic } from '@farmer/core';
import type { GenerateResult } from '@farmer/sampling';
import { UsageError } from '../errors.js';
import { classRows, labelledFigure } from '../figure.js';

/** The file name of image `i` (label -1: unconditional) in a `--separate` folder, in one process and sharded alike. */
export function sampleFileName(i: number, label: number): string {
  return `${String(i).padStart(4, '0')}-label${label}.png`;
}

/** The JSON sidecar of a grid PNG: `samples.png` → `samples.json`. */
export function sidecarOf(grid: string): string {
  return `${grid.replace(/\.png$/i, '')}.json`;
}

/**
 * Writes a grid (rows of `columns`) and optionally one PNG per image; returns
 * the paths. With `perClass`, the grid has one row per class, labelled with
 * `className(y)`.
 */
export async function writeSamples(
  result: GenerateResult,
  out: string,
  options: { separate?: string; columns?: number; perClass?: { count: number; className: (y: number) => string } } = {},
): Promise<{ grid: string; files: string[] }> {
  const grid = resolve(out);
  const pc = options.perClass;
  const png = pc
    ? await labelledFigure(classRows(result.images, result.labels, pc.count, pc.className), [result.parameters.sampler])
    : encodePng(imageGrid(result.images, { columns: options.columns ?? Math.ceil(Math.sqrt(result.images.count)), padding: 2, background: 128 }));
  await writeFileAtomic(grid, png);
  const files: string[] = [];
  if (options.separate) {
    await ensureDirectory(options.separate);
    for (let i = 0; i < result.images.count; i++) {
      const f = resolve(join(options.separate, sampleFileName(i, result.labels[i])));
      await writeFileAtomic(f, encodePng(sliceImages(result.images, i, 1)));
      files.push(f);
    }
  }
  return { grid, files };
}

/**
 * Checks, before any work, that the grid PNG, its JSON sidecar and the
 * `--separate` folder can be written: a directory where a file goes, or a
 * folder that cannot be created or written, is a usage error naming the flag.
 */
export function checkSampleOutputs(flags: { out: string; separate?: string }): void {
  const grid = resolve(flags.out);
  const sidecar = sidecarOf(grid);
  const isDirectory = (path: string): boolean => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false; // missing, or under a file: the write check below says which
    }
  };
  for (const [file, what] of [[grid, 'the grid'], [sidecar, "the grid's JSON sidecar"]] as const) {
    if (isDirectory(file)) {
      throw new UsageError(`--out ${flags.out}: ${file} is a directory, where ${what} goes; give a file name, e.g. --out ${join(flags.out, 'samples.png')}`);
    }
  }
  const problem = directoryWriteProblem(dirname(grid), { create: true });
  if (problem) throw new UsageError(`cannot write --out ${flags.out} (into ${dirname(grid)}): ${problem}; choose another location`);
  const separate = flags.separate && directoryWriteProblem(resolve(flags.separate), { create: true });
  if (separate) throw new UsageError(`cannot write --separate ${flags.separate}: ${separate}; choose another directory`);
}
