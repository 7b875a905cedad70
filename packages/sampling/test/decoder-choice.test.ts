import { describe, expect, it } from 'vitest';
import { GENERATE_OPTIONS_SCHEMA, generateOptionFields, JACOBI_AUTO_MAX_BATCH, resolveDecoder } from '../src/index.js';

const runner = (runtime: string, provider?: string, decoders = ['flow', 'jacobi', 'student'] as const) => ({ runtime, decoders: [...decoders], ...(provider ? { executionProvider: { name: provider } } : {}) });

describe("decoder 'auto'", () => {
  it('picks Jacobi on tfjs up to its measured batch, the sequential inverse above it and on onnxruntime', () => {
    const max = JACOBI_AUTO_MAX_BATCH.tfjs;
    expect(max).toBeGreaterThan(0);
    expect(resolveDecoder(runner('tfjs'), 1)).toBe('jacobi');
    expect(resolveDecoder(runner('tfjs'), max)).toBe('jacobi');
    expect(resolveDecoder(runner('tfjs'), max + 1)).toBe('flow');
    expect(resolveDecoder(runner('onnxruntime', 'cpu'), 1)).toBe(JACOBI_AUTO_MAX_BATCH['onnxruntime/cpu'] >= 1 ? 'jacobi' : 'flow');
    // A runtime nobody measured, or a runner without the Jacobi decoder, gets the sequential inverse.
    expect(resolveDecoder(runner('onnxruntime', 'webgpu'), 1)).toBe('flow');
    expect(resolveDecoder(runner('tfjs', undefined, ['flow'] as never), 1)).toBe('flow');
  });

  it('is declared once, in the schema, with the Jacobi settings and their bounds (the CLI flags derive from it)', () => {
    const p = GENERATE_OPTIONS_SCHEMA.parse({ decoder: 'jacobi' });
    expect(p.jacobi).toEqual({ tolerance: 1e-4 });
    expect(() => GENERATE_OPTIONS_SCHEMA.parse({ jacobi: { tolerance: -1 } })).toThrow();
    expect(() => GENERATE_OPTIONS_SCHEMA.parse({ jacobi: { maxIterations: 0 } })).toThrow();
    const flags = generateOptionFields().map((f) => f.flag);
    expect(flags).toEqual(expect.arrayContaining(['decoder', 'jacobi-tolerance', 'jacobi-max-iterations', 'jacobi-modules']));
    expect(generateOptionFields().find((f) => f.key === 'decoder')!.choices).toEqual(['flow', 'jacobi', 'student', 'auto']);
  });
});
