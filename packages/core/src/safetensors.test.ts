import { describe, expect, it } from 'vitest';
import { isFarmerError } from './errors.js';
import { decodeSafetensors, encodeSafetensors, f16ToF32, f32ToF16, toFloat32, type TensorMap } from './safetensors.js';

/** Builds a file by hand from the spec, independent of our encoder. */
function handBuilt(header: object | string, data: number[]): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  const n = json.length;
  for (let i = 0; i < 8; i++) out[i] = Math.floor(n / 2 ** (8 * i)) & 0xff;
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('reads a file written byte by byte to the spec', () => {
    // F32 [2] = [1, -2]; I64 [1] = [-3]; BF16 [2] = [1.0, -0.5]; F16 [1] = [65504]; BOOL [3]; U8 [] = 7.
    const f32 = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0];
    const i64 = [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const bf16 = [0x80, 0x3f, 0x00, 0xbf];
    const f16 = [0xff, 0x7b];
    const bool = [1, 0, 1];
    const u8 = [7];
    const bytes = handBuilt(
      {
        // Unsorted, with metadata in the middle, as other writers may emit.
        b: { dtype: 'I64', shape: [1], data_offsets: [8, 16] },
        __metadata__: { format: 'pt' },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        c: { dtype: 'BF16', shape: [2, 1], data_offsets: [16, 20] },
        d: { dtype: 'F16', shape: [1], data_offsets: [20, 22] },
        e: { dtype: 'BOOL', shape: [3], data_offsets: [22, 25] },
        s: { dtype: 'U8', shape: [], data_offsets: [25, 26] },
      },
      [...f32, ...i64, ...bf16, ...f16, ...bool, ...u8],
    );
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Array.from(tensors.a.data as Float32Array)).toEqual([1, -2]);
    expect(Array.from(tensors.b.data as BigInt64Array)).toEqual([-3n]);
    expect(Array.from(toFloat32(tensors.c))).toEqual([1, -0.5]);
    expect(tensors.c.shape).toEqual([2, 1]);
    expect(Array.from(toFloat32(tensors.d))).toEqual([65504]);
    expect(Array.from(tensors.e.data as Uint8Array)).toEqual([1, 0, 1]);
    expect(tensors.s.shape).toEqual([]);
    expect(Array.from(tensors.s.data as Uint8Array)).toEqual([7]);
  });

  it('round-trips every dtype, scalars and empty tensors', () => {
    const t: TensorMap = {
      f64: { dtype: 'F64', shape: [2, 2], data: Float64Array.from([1.5, -2.25, 1e-300, Math.PI]) },
      f32: { dtype: 'F32', shape: [3], data: Float32Array.from([0, -0, 3.5]) },
      f16: { dtype: 'F16', shape: [2], data: Uint16Array.from([f32ToF16(0.5), f32ToF16(-1024)]) },
      bf16: { dtype: 'BF16', shape: [1], data: Uint16Array.from([0x4049]) },
      i64: { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 60n), 5n]) },
      u64: { dtype: 'U64', shape: [1], data: BigUint64Array.from([2n ** 63n]) },
      i32: { dtype: 'I32', shape: [2], data: Int32Array.from([-7, 2 ** 31 - 1]) },
      u32: { dtype: 'U32', shape: [1], data: Uint32Array.from([2 ** 32 - 1]) },
      i16: { dtype: 'I16', shape: [1], data: Int16Array.from([-300]) },
      u16: { dtype: 'U16', shape: [1], data: Uint16Array.from([65535]) },
      i8: { dtype: 'I8', shape: [2], data: Int8Array.from([-128, 127]) },
      u8: { dtype: 'U8', shape: [], data: Uint8Array.from([9]) },
      bool: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([0, 1]) },
      empty: { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    };
    const bytes = encodeSafetensors(t, { note: 'x' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'x' });
    for (const [k, v] of Object.entries(t)) {
      expect(back.tensors[k].dtype).toBe(v.dtype);
      expect(back.tensors[k].shape).toEqual(v.shape);
      expect(Array.from(back.tensors[k].data as ArrayLike<unknown>)).toEqual(Array.from(v.data as ArrayLike<unknown>));
    }
    expect(toFloat32(back.tensors.bf16)[0]).toBeCloseTo(3.140625, 6);
  });

  it('decodes from a Node Buffer that is a view into a larger pool', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: Float32Array.from([1.5, -3]) } });
    const pool = Buffer.alloc(bytes.length + 16);
    pool.set(bytes, 5);
    const view = pool.subarray(5, 5 + bytes.length);
    expect(Array.from(decodeSafetensors(view).tensors.w.data as Float32Array)).toEqual([1.5, -3]);
  });

  it("keeps a tensor or metadata key named '__proto__' as an entry of its own, never as the map's prototype", () => {
    const bytes = handBuilt('{"__metadata__":{"__proto__":"m"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', [5, 6]);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(Object.keys(tensors)).toEqual(['__proto__', 'w']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(tensors, '__proto__')?.value.data).toEqual(Uint8Array.of(5));
    expect(Object.keys(metadata)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
  });

  it('converts half precision both ways', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -0.333251953125]) expect(f16ToF32(f32ToF16(v))).toBe(v);
    expect(f16ToF32(f32ToF16(1e6))).toBe(Infinity);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
    expect(f16ToF32(f32ToF16(1 + 2 ** -11))).toBe(1); // ties to even
  });

  const good = encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) } });
  const bad: [string, Uint8Array, RegExp][] = [
    ['too short', good.slice(0, 5), /too short/],
    ['truncated data', good.slice(0, good.length - 3), /trailing|truncated/],
    ['header longer than file', (() => { const b = good.slice(); b[0] = 0xff; b[1] = 0xff; return b; })(), /exceeds the file size/],
    ['not JSON', handBuilt({}, []).fill(0x41, 8), /not valid JSON|exceeds/],
    ['shape/bytes mismatch', handBuilt({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)), /tensor 'w'.*needs 12/],
    ['unknown dtype', handBuilt({ w: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }, [0]), /unknown dtype/],
    ["dtype 'toString' (an Object member, not a dtype)", handBuilt({ w: { dtype: 'toString', shape: [1], data_offsets: [0, 1] } }, [0]), /unknown dtype 'toString'/],
    ["dtype 'constructor'", handBuilt({ w: { dtype: 'constructor', shape: [1], data_offsets: [0, 1] } }, [0]), /unknown dtype 'constructor'/],
    ['overlap', handBuilt({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } }, [0, 0, 0]), /overlap or gap/],
    ['trailing bytes', handBuilt({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [0, 0]), /trailing/],
  ];
  for (const [name, bytes, re] of bad) {
    it(`rejects a corrupt file: ${name}`, () => {
      let err: unknown;
      try {
        decodeSafetensors(bytes, 'x.safetensors');
      } catch (e) {
        err = e;
      }
      expect(isFarmerError(err, 'FARMER_E_CORRUPT')).toBe(true);
      expect((err as Error).message).toMatch(/^x\.safetensors: /);
      expect((err as Error).message).toMatch(re);
    });
  }
});
