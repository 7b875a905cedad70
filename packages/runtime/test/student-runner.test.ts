import { join } from 'node:path';
import { initBackend } from '@farmer/core';
import { generate } from '@farmer/sampling';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRunnerWithStudent } from '../src/index.js';
import { tinyCheckpoint, tmp } from './helpers.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('loadRunnerWithStudent', () => {
  it('opens the student with its teacher weights, and decodes with it', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'), { ema: true, studentOf: 'ema' });
    const { runner, student, notice } = await loadRunnerWithStudent(dir);
    expect(runner.decoders).toEqual(['flow', 'jacobi', 'student']);
    expect(student).toBeDefined();
    expect(notice).toBeUndefined();
    const r = await generate(runner, { count: 2, labels: [1, 2], seed: 1, decoder: 'student' });
    expect(r.parameters.decoder).toBe('student');
    runner.dispose();
  });

  it('without a student, or with other weights than its teacher (ema: false), decodes with the flow only and says why', async () => {
    const plain = await loadRunnerWithStudent(await tinyCheckpoint(join(tmp(), 'ck')));
    expect(plain.runner.decoders).toEqual(['flow', 'jacobi']);
    expect(plain.notice).toBeUndefined();
    plain.runner.dispose();
    const raw = await loadRunnerWithStudent(await tinyCheckpoint(join(tmp(), 'ck'), { ema: true, studentOf: 'ema' }), { ema: false });
    expect(raw.runner.decoders).toEqual(['flow', 'jacobi']);
    expect(raw.notice).toMatch(/student is not used: it was distilled from the 'ema' weights, these are 'model'/);
    raw.runner.dispose();
  });
});
