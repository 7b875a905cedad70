import { FarmerError } from './errors.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The bytes {@link pngSize} reads: the signature and IHDR up to its width and height. */
export const PNG_HEADER_BYTES = 24;

/**
 * Width and height from a PNG's IHDR chunk, read without decoding the image
 * (so an oversized image is refused before anything is inflated). Needs the
 * first {@link PNG_HEADER_BYTES} bytes only; `what` names the image in errors.
 */
export function pngSize(bytes: Uint8Array, what = 'image'): { width: number; height: number } {
  if (bytes.length >= 8 && SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${what} is not a PNG file (bad signature); give PNG bytes`, { field: 'image' });
  }
  if (bytes.length < PNG_HEADER_BYTES) throw new FarmerError('FARMER_E_BAD_INPUT', `${what} is too short (${bytes.length} bytes) to be a PNG file`, { field: 'image' });
  const type = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (type !== 'IHDR') throw new FarmerError('FARMER_E_BAD_INPUT', `${what} is not a valid PNG (first chunk is not IHDR)`, { field: 'image' });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Refuses a PNG whose header says it is not `want` (a model's image size),
 * before any decoding; returns its size. The CLI and the server check
 * images they are given with this.
 */
export function checkPngSize(bytes: Uint8Array, want: { width: number; height: number }, what = 'image'): { width: number; height: number } {
  const size = pngSize(bytes, what);
  if (size.width !== want.width || size.height !== want.height) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${what} must be ${want.width}×${want.height} pixels (this model's size), got ${size.width}×${size.height}`, { field: 'image' });
  }
  return size;
}
