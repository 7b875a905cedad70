import { classify, likelihoodBitsPerDim, modelImageOptions, type Classification } from '@farmer/ar-gmm/browser';
import { BLACK_BACKGROUND, compositeRgba, Rng, sameBackground, type Background, type U8Images } from '@farmer/core/browser';
import { canvasImage } from './canvas-image.js';
import type { OrtRunner } from '@farmer/onnx/web';
import { PageError } from './page-error.js';

/**
 * The drawing pad: strokes in white on black (as MNIST digits are), or a
 * dropped image, scored at the model's resolution. A dropped image keeps its
 * transparency: it is composited on the model's background when scored
 * (docs/method.md §2.6 Transparency), and the pad shows that colour behind it.
 */
export class DrawPad {
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;
  private bg: Background = BLACK_BACKGROUND;
  /**
   * The dropped image at its own size (straight RGBA, as a canvas gives it
   * back), until a stroke or a clear: an image of the model's size is scored
   * as these pixels, not resampled through the pad, so it scores as the file
   * does in `farmer classify` and the server.
   */
  private dropped?: ImageData;
  /** True once something was drawn or dropped. */
  inked = false;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onChange: () => void,
  ) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    const at = (e: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height] as const;
    };
    canvas.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      this.dropped = undefined;
      canvas.setPointerCapture(e.pointerId);
      const [x, y] = at(e);
      this.ctx.beginPath();
      this.ctx.moveTo(x, y);
      this.ctx.lineTo(x, y);
      this.ctx.stroke();
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!this.drawing) return;
      const [x, y] = at(e);
      this.ctx.lineTo(x, y);
      this.ctx.stroke();
      this.inked = true;
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.inked = true;
      this.onChange();
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('dragover', (e) => e.preventDefault());
    canvas.addEventListener('drop', (e) => {
      e.preventDefault();
      const file = e.dataTransfer?.files[0];
      if (file) void this.dropImage(file).catch((err: unknown) => canvas.dispatchEvent(new CustomEvent('pad-error', { detail: err })));
    });
  }

  /** The colour transparent pixels are composited on: the loaded model's background (black until one is set). */
  get background(): Background {
    return this.bg;
  }

  set background(bg: Background) {
    this.bg = bg;
    this.canvas.style.backgroundColor = `rgb(${bg.join(', ')})`;
  }

  clear(): void {
    const { ctx, canvas } = this;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    this.inked = false;
    this.dropped = undefined;
    this.onChange();
  }

  /**
   * Puts an image file on the pad, scaled to fit, its transparency kept. For
   * a model on black, a light image (a dark digit on paper) is inverted to
   * MNIST's white on black (composited on black first); returns whether it was.
   */
  async dropImage(file: Blob): Promise<boolean> {
    let bitmap: ImageBitmap;
    try {
      // Its stored values, as decodePng reads them: no colour-space conversion, alpha not premultiplied.
      bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    } catch {
      throw new PageError('FARMER_E_BAD_INPUT', 'that file is not an image this browser can read (use a PNG, JPEG or WebP)');
    }
    const { ctx, canvas } = this;
    this.clear();
    // Transparent, not black, under the image: its alpha is composited on the model's background when scored.
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const s = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
    ctx.drawImage(bitmap, (canvas.width - bitmap.width * s) / 2, (canvas.height - bitmap.height * s) / 2, bitmap.width * s, bitmap.height * s);
    const own = document.createElement('canvas');
    own.width = bitmap.width;
    own.height = bitmap.height;
    const octx = own.getContext('2d', { willReadFrequently: true })!;
    octx.drawImage(bitmap, 0, 0);
    this.dropped = octx.getImageData(0, 0, own.width, own.height);
    const invert = sameBackground(this.bg, BLACK_BACKGROUND) && this.invertsOnBlack();
    this.inked = true;
    this.onChange();
    return invert;
  }

  /** Whether the pad composited on black is light on average (> 127); if so, it (and the dropped image) is made its inverse on black. */
  private invertsOnBlack(): boolean {
    const { ctx, canvas } = this;
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const rgb = canvasImage(px.data, canvas.width, 3, BLACK_BACKGROUND).data;
    let sum = 0;
    for (let i = 0; i < rgb.length; i += 3) sum += 0.299 * rgb[i] + 0.587 * rgb[i + 1] + 0.114 * rgb[i + 2];
    if (sum / (rgb.length / 3) <= 127) return false;
    ctx.putImageData(inverseOnBlack(px), 0, 0);
    if (this.dropped) this.dropped = inverseOnBlack(this.dropped);
    return true;
  }

  /**
   * The pad at size × size, HWC u8 with 1 or 3 channels, composited on
   * `background` (default the pad's; see {@link canvasImage}): a dropped
   * image of that size as it is, anything else the pad scaled down.
   */
  image(size: number, channels: number, background: Background = this.bg): U8Images {
    if (channels !== 1 && channels !== 3) throw new PageError('FARMER_E_UNSUPPORTED', `the pad makes 1- or 3-channel images, not ${channels}`);
    const d = this.dropped;
    if (d && d.width === size && d.height === size) return canvasImage(d.data, size, channels, background);
    const small = document.createElement('canvas');
    small.width = size;
    small.height = size;
    const sctx = small.getContext('2d', { willReadFrequently: true })!;
    sctx.imageSmoothingEnabled = true;
    sctx.imageSmoothingQuality = 'high';
    sctx.drawImage(this.canvas, 0, 0, size, size);
    return canvasImage(sctx.getImageData(0, 0, size, size).data, size, channels, background);
  }
}

/** Straight RGBA pixels composited on black and inverted (255 − v, opaque): a light image made MNIST's white on black. */
function inverseOnBlack(px: ImageData): ImageData {
  const rgb = compositeRgba(px.data, 3, BLACK_BACKGROUND);
  const out = new ImageData(px.width, px.height);
  for (let p = 0; p < px.width * px.height; p++) {
    for (let k = 0; k < 3; k++) out.data[p * 4 + k] = 255 - rgb[p * 3 + k];
    out.data[p * 4 + 3] = 255;
  }
  return out;
}

/**
 * Bits/dim of the pad's image under the model
 * (docs/method.md §5.2 bits per dim): uniform dequantisation from a fixed seed, the null label.
 */
export async function padBitsPerDim(pad: DrawPad, runner: OrtRunner): Promise<number> {
  const [bpd] = await likelihoodBitsPerDim(runner, padImage(pad, runner), null, new Rng('playground:bpd'));
  return bpd;
}

/**
 * The pad's class posterior p(y|x) under a class-conditional model
 * (docs/method.md §5.4 Bayes classification), with `classify`'s defaults
 * (uniform prior, T = 1, its fixed dequantisation seed), so it equals
 * `classify` on any other runtime for the same pixels. Null for an
 * unconditional model, which has no p(x|y) to compare.
 */
export async function padClassify(pad: DrawPad, runner: OrtRunner): Promise<Classification | null> {
  const image = padImage(pad, runner);
  return runner.config.numClasses === 0 ? null : classify(runner, image);
}

/** The pad at the model's geometry; an empty pad is an error, not a score. */
function padImage(pad: DrawPad, runner: OrtRunner): U8Images {
  if (!pad.inked) throw new PageError('FARMER_E_BAD_INPUT', 'the pad is empty: draw a digit or drop an image first');
  const { imageSize, channels, background } = modelImageOptions(runner.config);
  return pad.image(imageSize, channels, background);
}
