import { compositeRgba, type Background, type U8Images } from '@farmer/core/browser';

/**
 * A canvas's pixels as model input: `getImageData`'s straight RGBA
 * [size, size, 4] → [1, size, size, channels] u8, alpha composited on the
 * model's background by the rule `decodePng` applies to an uploaded PNG
 * (`compositeRgba`, docs/method.md §2.6 Transparency): grey is the luma of
 * the composited colour, colour keeps it. A dropped PNG of the model's size
 * scores here as it does in `farmer classify` and the server.
 */
export function canvasImage(rgba: Uint8ClampedArray | Uint8Array, size: number, channels: 1 | 3, background: Background): U8Images {
  return { data: compositeRgba(rgba, channels, background), count: 1, height: size, width: size, channels };
}
