import { classify, likelihoodBitsPerDim, type Classification } from '@farmer/ar-gmm/browser';
import { Rng, type U8Images } from '@farmer/core/browser';
import type { OrtRunner } from '@farmer/onnx/web';
import { PageError } from './page-error.js';

/**
 * The drawing pad: strokes in white on black (as MNIST digits are), or a
 * dropped image, scored at the model's resolution.
 */
export class DrawPad {
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;
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

  clear(): void {
    const { ctx, canvas } = this;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = canvas.width / 12;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    this.inked = false;
    this.onChange();
  }

  /**
   * Puts an image file on the pad, scaled to fit. A light image (a dark
   * digit on paper) is inverted to MNIST's white on black; returns whether
   * it was.
   */
  async dropImage(file: Blob): Promise<boolean> {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      throw new PageError('FARMER_E_BAD_INPUT', 'that file is not an image this browser can read (use a PNG, JPEG or WebP)');
    }
    const { ctx, canvas } = this;
    this.clear();
    const s = Math.min(canvas.width / bitmap.width, canvas.height / bitmap.height);
    ctx.drawImage(bitmap, (canvas.width - bitmap.width * s) / 2, (canvas.height - bitmap.height * s) / 2, bitmap.width * s, bitmap.height * s);
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    for (let i = 0; i < px.data.length; i += 4) sum += luminance(px.data, i);
    const invert = sum / (px.data.length / 4) > 127;
    if (invert) {
      for (let i = 0; i < px.data.length; i += 4) for (let k = 0; k < 3; k++) px.data[i + k] = 255 - px.data[i + k];
      ctx.putImageData(px, 0, 0);
    }
    this.inked = true;
    this.onChange();
    return invert;
  }

  /** The pad at size × size, HWC u8 with `channels` channels (grey replicated). */
  image(size: number, channels: number): U8Images {
    const small = document.createElement('canvas');
    small.width = size;
    small.height = size;
    const sctx = small.getContext('2d', { willReadFrequently: true })!;
    sctx.imageSmoothingEnabled = true;
    sctx.imageSmoothingQuality = 'high';
    sctx.drawImage(this.canvas, 0, 0, size, size);
    const px = sctx.getImageData(0, 0, size, size).data;
    const data = new Uint8Array(size * size * channels);
    for (let p = 0; p < size * size; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = channels === 1 ? Math.round(luminance(px, 4 * p)) : px[4 * p + c];
    return { data, count: 1, height: size, width: size, channels };
  }
}

function luminance(d: Uint8ClampedArray, i: number): number {
  return 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
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
  const f = runner.config.flow;
  return pad.image(f.imageSize, f.inChannels);
}
