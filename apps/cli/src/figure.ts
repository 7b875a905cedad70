import sharp from 'sharp';
import { encodePng, imageGrid, NULL_LABEL, sliceImages, type U8Images } from '@farmer/core';

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
 * A labelled figure: rows of cells (each cell a small image grid), a label on
 * the left of every row and a header over every column. Drawn as SVG with the
 * cells embedded as PNG, then rasterised by sharp.
 */
export async function labelledFigure(rows: FigureRow[], headers: string[], options: { title?: string; scale?: number } = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 2;
  const tiles = rows.map((r) => r.cells.map((c) => imageGrid(c, { columns: c.count, padding: 1, background: 128 })));
  const textW = (t: string, size = 13) => t.length * size * 0.6;
  const cw = Math.max(Math.max(...tiles.flat().map((t) => t.width)) * scale, ...headers.map((h) => textW(h) + 8));
  const ch = Math.max(...tiles.flat().map((t) => t.height)) * scale;
  const labelW = 9 * Math.max(...rows.map((r) => r.label.length), 4) + 16;
  const top = (options.title ? 28 : 0) + 22;
  const width = Math.max(labelW + headers.length * (cw + 8) + 8, options.title ? textW(options.title, 15) + 16 : 0);
  const height = top + rows.length * (ch + 8) + 8;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>`];
  const text = (x: number, y: number, s: string, anchor = 'start', size = 13) =>
    parts.push(`<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="${size}" text-anchor="${anchor}" fill="#222">${esc(s)}</text>`);
  if (options.title) text(width / 2, 20, options.title, 'middle', 15);
  headers.forEach((h, j) => text(labelW + j * (cw + 8) + cw / 2, top - 6, h, 'middle'));
  tiles.forEach((row, i) => {
    const y = top + i * (ch + 8);
    text(8, y + ch / 2 + 5, rows[i].label);
    row.forEach((tile, j) => {
      const b64 = Buffer.from(encodePng(tile)).toString('base64');
      parts.push(`<image x="${labelW + j * (cw + 8)}" y="${y}" width="${tile.width * scale}" height="${tile.height * scale}" image-rendering="pixelated" href="data:image/png;base64,${b64}"/>`);
    });
  });
  parts.push('</svg>');
  return new Uint8Array(await sharp(Buffer.from(parts.join(''))).png().toBuffer());
}
