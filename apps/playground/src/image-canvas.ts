import type { U8Images } from '@farmer/core/browser';

/** Image i of a batch (HWC u8, 1 or 3 channels) on a canvas of its own size (scaled up by CSS, pixelated). */
export function imageCanvas(images: U8Images, i: number): HTMLCanvasElement {
  const { width: w, height: h, channels: c } = images;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const data = new ImageData(w, h);
  const base = i * w * h * c;
  for (let p = 0; p < w * h; p++) {
    for (let k = 0; k < 3; k++) data.data[4 * p + k] = images.data[base + p * c + (c === 1 ? 0 : k)];
    data.data[4 * p + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(data, 0, 0);
  return canvas;
}

/** All images side by side with a 2-pixel grey gap, as one canvas (the grid download). */
export function gridCanvas(images: U8Images): HTMLCanvasElement {
  const pad = 2;
  const canvas = document.createElement('canvas');
  canvas.width = images.count * (images.width + pad) + pad;
  canvas.height = images.height + 2 * pad;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = 'rgb(128,128,128)';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < images.count; i++) ctx.drawImage(imageCanvas(images, i), pad + i * (images.width + pad), pad);
  return canvas;
}

/** Saves a canvas as a PNG file. */
export function downloadPng(canvas: HTMLCanvasElement, name: string): void {
  canvas.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, 'image/png');
}
