import { FarmerError } from './errors.js';

/**
 * The most pixels an image file may have to be decoded (8192², 64 MP): a
 * decoder's buffers grow with width × height, which a small compressed file
 * can make huge, so the header's size is checked first.
 */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

/** Refuses an image whose header says more than {@link MAX_IMAGE_PIXELS} pixels; `what` names it (a file, 'image'). */
export function checkPixelLimit(size: { width: number; height: number }, what: string): void {
  if (size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${what} is ${size.width}×${size.height} pixels, over the limit of ${MAX_IMAGE_PIXELS} pixels that farmer decodes; scale it down first`, { field: 'image' });
  }
}
