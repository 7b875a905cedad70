import { FarmerError } from './errors.js';

/**
 * safetensors, per the format spec: an 8-byte little-endian header length n,
 * n bytes of JSON header { name: { dtype, shape, data_offsets: [begin, end] },
 * "__metadata__"?: { string: string } }, then the raw little-endian data.
 * Offsets are relative to the end of the header.
 */
export type SafeDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** A typed array that holds one safetensors dtype on the host. */
export type HostArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint8Array;

/** A host tensor: dtype, shape and row-major data. F16/BF16 data are raw Uint16 bits. */
export interface HostTensor {
  dtype: SafeDtype;
  shape: number[];
  data: HostArray;
}

/** Named host tensors in insertion order. */
export type TensorMap = Record<string, HostTensor>;

const BYTES: Record<SafeDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };

type Ctor = { new (buf: ArrayBuffer): HostArray; new (n: number): HostArray };
const CTORS: Record<SafeDtype, Ctor> = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
} as unknown as Record<SafeDtype, Ctor>;

/** Every safetensors dtype the codec reads and writes. */
export const SAFE_DTYPES = Object.keys(BYTES) as SafeDtype[];

const MAX_HEADER = 100 * 1024 * 1024;

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Convenience constructor for an F32 host tensor. */
export function f32(data: Float32Array | number[], shape: number[]): HostTensor {
  const arr = data instanceof Float32Array ? data : Float32Array.from(data);
  if (arr.length !== numel(shape)) throw new FarmerError('FARMER_E_SHAPE', `f32: ${arr.length} values for shape [${shape}]`);
  return { dtype: 'F32', shape, data: arr };
}

/** Encodes tensors (and optional string metadata) as a safetensors file. */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const entries: [string, unknown][] = metadata && Object.keys(metadata).length ? [['__metadata__', metadata]] : [];
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name];
    if (name === '__metadata__') throw new FarmerError('FARMER_E_BAD_INPUT', "a tensor may not be named '__metadata__'");
    if (!Object.hasOwn(BYTES, t.dtype)) throw new FarmerError('FARMER_E_BAD_INPUT', `tensor '${name}': unknown dtype ${t.dtype}`);
    const bytes = numel(t.shape) * BYTES[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new FarmerError('FARMER_E_SHAPE', `tensor '${name}': ${t.data.byteLength} data bytes, shape [${t.shape}] ${t.dtype} needs ${bytes}`);
    }
    entries.push([name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] }]);
    offset += bytes;
  }
  // Object.fromEntries keeps every name an entry of the header, even '__proto__'.
  let json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(entries)));
  // Pad the header with spaces to 8 bytes, as the reference writer does, so data stay aligned.
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Parsed header entry. */
interface Entry {
  dtype: SafeDtype;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * Decodes a safetensors file. `source` names the file in error messages.
 * Checks the header, every offset, dtype and shape, and that the data region
 * is covered exactly (no gaps, overlaps or trailing bytes).
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): { tensors: TensorMap; metadata: Record<string, string> } {
  const corrupt = (msg: string, tensor?: string): never => {
    throw new FarmerError('FARMER_E_CORRUPT', `${source}: ${tensor ? `tensor '${tensor}': ` : ''}${msg}`, { file: source, tensor });
  };
  if (bytes.length < 8) corrupt(`file is ${bytes.length} bytes, too short for a safetensors header (truncated?)`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) corrupt(`header length ${n} exceeds the file size ${bytes.length} (truncated or not safetensors)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return corrupt(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) corrupt('header is not a JSON object');
  // Names come from the file: Object.fromEntries keeps even '__proto__' an entry of its own.
  let metadata: Record<string, string> = {};
  if (header.__metadata__ !== undefined) {
    const m = header.__metadata__;
    if (typeof m !== 'object' || m === null) corrupt('__metadata__ is not an object');
    for (const [k, v] of Object.entries(m as object)) if (typeof v !== 'string') corrupt(`__metadata__.${k} is not a string`);
    metadata = Object.fromEntries(Object.entries(m as Record<string, string>));
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const entries: [string, Entry][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as Entry;
    if (typeof e !== 'object' || e === null) corrupt('entry is not an object', name);
    // Own keys only: 'toString' or 'constructor' is no dtype.
    if (typeof e.dtype !== 'string' || !Object.hasOwn(BYTES, e.dtype)) corrupt(`unknown dtype '${e.dtype}'`, name);
    if (!Array.isArray(e.shape) || e.shape.some((s) => !Number.isInteger(s) || s < 0)) corrupt('shape is not a list of non-negative integers', name);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[1] < off[0]) {
      corrupt('data_offsets must be [begin, end] with 0 <= begin <= end', name);
    }
    const need = numel(e.shape) * BYTES[e.dtype];
    if (off[1] - off[0] !== need) corrupt(`holds ${off[1] - off[0]} bytes, but ${e.dtype}[${e.shape}] needs ${need}`, name);
    if (off[1] > dataLen) corrupt(`data ends at byte ${off[1]} but the file has only ${dataLen} data bytes (truncated?)`, name);
    entries.push([name, e]);
  }
  // The spec requires the byte buffer to be entirely indexed, without holes or overlaps.
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let expect = 0;
  for (const [name, e] of sorted) {
    if (e.data_offsets[0] !== expect) corrupt(`data region starts at ${e.data_offsets[0]}, expected ${expect} (overlap or gap)`, name);
    expect = e.data_offsets[1];
  }
  if (expect !== dataLen) corrupt(`${dataLen - expect} trailing bytes after the last tensor`);
  const tensors: TensorMap = Object.fromEntries(
    entries.map(([name, e]) => {
      const begin = dataStart + e.data_offsets[0];
      // Copy into a fresh, aligned buffer: the source may be misaligned for the dtype, and a
      // Node Buffer's slice() is a view into a shared pool, not a copy.
      const buf = new ArrayBuffer(e.data_offsets[1] - e.data_offsets[0]);
      new Uint8Array(buf).set(bytes.subarray(begin, dataStart + e.data_offsets[1]));
      return [name, { dtype: e.dtype, shape: e.shape, data: new CTORS[e.dtype](buf) }];
    }),
  );
  return { tensors, metadata };
}

/** IEEE half → float. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Float → IEEE half bits, round to nearest even. */
export function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Any numeric host tensor → Float32Array (F16/BF16 decoded, ints converted). */
export function toFloat32(t: HostTensor): Float32Array {
  const d = t.data;
  if (t.dtype === 'F32') return d as Float32Array;
  const out = new Float32Array(d.length);
  if (t.dtype === 'F16') for (let i = 0; i < d.length; i++) out[i] = f16ToF32((d as Uint16Array)[i]);
  else if (t.dtype === 'BF16') {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < d.length; i++) u[i] = (d as Uint16Array)[i] << 16;
  } else for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}
