import { HttpError } from './errors.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Width and height from a PNG's IHDR chunk, read without decoding the image
 * (so an oversized image is refused before anything is inflated).
 */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  if (bytes.length < 24 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new HttpError('FARMER_E_BAD_INPUT', 'image is not a PNG file (bad signature); upload PNG bytes', { field: 'image' });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (type !== 'IHDR') throw new HttpError('FARMER_E_BAD_INPUT', 'image is not a valid PNG (first chunk is not IHDR)', { field: 'image' });
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
