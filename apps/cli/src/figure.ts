import sharp from 'sharp';
import { encodePng, FarmerError, imageGrid, NULL_LABEL, sliceImages, type U8Images } from '@farmer/core';

export interface FigureCell {
  images: U8Images;
}

/** One labelled row of a figure: cells side by side, each a small image grid. */
export interface FigureRow {
  label: string;
  cells: U8Images[];
}

/**
 * The rows of a per-class sample grid: images [count] drawn `perClass` at a
 * time per class (as `--per-class` lays them out), one row per class,
 * labelled with its class name (`name(y)`; the null label is 'unconditional').
 */
export function classRows(images: U8Images, labels: ArrayLike<number>, perClass: number, name: (y: number) => string): FigureRow[] {
  return Array.from({ length: Math.ceil(images.count / perClass) }, (_, r) => {
    const y = labels[r * perClass];
    return { label: y === NULL_LABEL ? 'unconditional' : name(y), cells: [sliceImages(images, r * perClass, Math.min(perClass, images.count - r * perClass))] };
  });
}

/**
 * Copies `tile` (HWC u8, 1 or 3 channels) into the RGB image `into` with its
 * top-left corner at (x, y), every pixel a scale × scale block (nearest
 * neighbour, so the figure holds exactly the tile's pixels; a grey tile is
 * replicated into R = G = B).
 */
export function pasteScaled(into: U8Images, tile: U8Images, x: number, y: number, scale: number): void {
  const c = tile.channels;
  for (let ty = 0; ty < tile.height * scale; ty++) {
    for (let tx = 0; tx < tile.width * scale; tx++) {
      const src = (Math.floor(ty / scale) * tile.width + Math.floor(tx / scale)) * c;
      const dst = ((y + ty) * into.width + x + tx) * 3;
      for (let k = 0; k < 3; k++) into.data[dst + k] = tile.data[src + (c === 1 ? 0 : k)];
    }
  }
}

/**
 * A labelled figure as an RGB PNG (colour type 2): rows of cells (each cell a
 * small image grid), a label on the left of every row and a header over every
 * column. The text is drawn as SVG and rasterised by sharp on white; the
 * cells are pasted in afterwards at whole pixels, `scale` times (default 2)
 * by nearest neighbour, so every sample's pixels are in the figure as drawn.
 */
export async function labelledFigure(rows: FigureRow[], headers: string[], options: { title?: string; scale?: number } = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 2;
  const tiles = rows.map((r) => r.cells.map((c) => imageGrid(c, { columns: c.count, padding: 1, background: 128 })));
  const textW = (t: string, size = 13) => t.length * size * 0.6;
  const cw = Math.ceil(Math.max(Math.max(...tiles.flat().map((t) => t.width)) * scale, ...headers.map((h) => textW(h) + 8)));
  const ch = Math.max(...tiles.flat().map((t) => t.height)) * scale;
  const labelW = 9 * Math.max(...rows.map((r) => r.label.length), 4) + 16;
  const top = (options.title ? 28 : 0) + 22;
  const width = Math.ceil(Math.max(labelW + headers.length * (cw + 8) + 8, options.title ? textW(options.title, 15) + 16 : 0));
  const height = top + rows.length * (ch + 8) + 8;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>`];
  const text = (x: number, y: number, s: string, anchor = 'start', size = 13) =>
    parts.push(`<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="${size}" text-anchor="${anchor}" fill="#222">${esc(s)}</text>`);
  if (options.title) text(width / 2, 20, options.title, 'middle', 15);
  headers.forEach((h, j) => text(labelW + j * (cw + 8) + cw / 2, top - 6, h, 'middle'));
  rows.forEach((r, i) => text(8, top + i * (ch + 8) + ch / 2 + 5, r.label));
  parts.push('</svg>');
  // sharp rasterises SVG to RGBA: flattened on white, 3 channels.
  const { data, info } = await sharp(Buffer.from(parts.join(''))).flatten({ background: '#ffffff' }).raw().toBuffer({ resolveWithObject: true });
  const figure: U8Images = { data: new Uint8Array(data), count: 1, height: info.height, width: info.width, channels: info.channels };
  if (info.channels !== 3 || info.width !== width || info.height !== height) {
    throw new FarmerError('FARMER_E_INTERNAL', `the figure's SVG rasterised to ${info.width}×${info.height}×${info.channels}, not ${width}×${height} RGB`);
  }
  tiles.forEach((row, i) => row.forEach((tile, j) => pasteScaled(figure, tile, labelW + j * (cw + 8), top + i * (ch + 8), scale)));
  return encodePng(figure);
}
