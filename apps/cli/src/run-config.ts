import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readableDirectory } from '@farmer/core';
import { checkpointDirOf } from '@farmer/train';

/** The config.json of a run's checkpoint (for what a resume defaults to), or undefined when there is none or it does not parse. */
export function runConfigOf(outDir: string): { model?: unknown; meta?: { data?: unknown }; training?: { engine?: string; workers?: number; threads?: number } } | undefined {
  const dir = readableDirectory(checkpointDirOf(outDir));
  if (!dir) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch {
    return undefined;
  }
}
