import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const src = new URL('../src/', import.meta.url);

describe('entry points', () => {
  it('keeps onnxruntime-node out of the main entry: only src/onnx/ imports it', () => {
    const offenders = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.startsWith('onnx'))
      .filter((f) => /from ['"](onnxruntime-node|onnxruntime-common|\.\/onnx\/)/.test(readFileSync(new URL(f, src), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('@farmer/eval/onnx imports without onnxruntime-node (an optional dependency): only loadOrtNode loads it, on first use', () => {
    const offenders = (readdirSync(new URL('onnx/', src), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /^import (?!type )[^;]*from ['"]onnxruntime-node['"]/m.test(readFileSync(new URL(`onnx/${f}`, src), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
