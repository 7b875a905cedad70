import type { U8Images } from '@farmer/core';

/**
 * Whether the first image of `tile` (HWC, 1 or 3 channels), each pixel a
 * scale × scale block, equals the block of the RGB image `big` whose top-left
 * corner is (x, y). A grey tile matches R = G = B.
 */
export function scaledImageAt(big: U8Images, tile: U8Images, x: number, y: number, scale = 1): boolean {
  if (big.channels !== 3) throw new Error(`scaledImageAt looks in RGB images, got ${big.channels} channels`);
  const c = tile.channels;
  for (let ty = 0; ty < tile.height * scale; ty++) {
    for (let tx = 0; tx < tile.width * scale; tx++) {
      const a = ((y + ty) * big.width + x + tx) * 3;
      const b = (Math.floor(ty / scale) * tile.width + Math.floor(tx / scale)) * c;
      for (let k = 0; k < 3; k++) if (big.data[a + k] !== tile.data[b + (c === 1 ? 0 : k)]) return false;
    }
  }
  return true;
}

/** Where the first image of `tile`, scaled `scale`× by nearest neighbour, appears in the RGB image `big` (the first place, row-major), or null. */
export function findScaledImage(big: U8Images, tile: U8Images, scale = 1): { x: number; y: number } | null {
  for (let y = 0; y + tile.height * scale <= big.height; y++) {
    for (let x = 0; x + tile.width * scale <= big.width; x++) if (scaledImageAt(big, tile, x, y, scale)) return { x, y };
  }
  return null;
}
