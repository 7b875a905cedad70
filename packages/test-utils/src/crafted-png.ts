import { once } from 'node:events';
import { createDeflate } from 'node:zlib';

/** CRC-32 (ISO-HDLC, as PNG chunks use), bitwise: test files are small or written once. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** zlib of `rows` all-zero scanlines of `rowBytes` bytes (filter byte included), streamed so the raw rows never sit in memory. */
async function zeroRows(rows: number, rowBytes: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const ended = once(deflate, 'end');
  const row = Buffer.alloc(rowBytes);
  for (let r = 0; r < rows; r++) if (!deflate.write(row)) await once(deflate, 'drain');
  deflate.end();
  await ended;
  return Buffer.concat(parts);
}

/**
 * A grayscale 8-bit PNG whose header says width×height, with valid chunks
 * and CRCs. `body` 'zeros' is the real image (all black: a decompression
 * bomb, a few hundred KB that inflate to width·height bytes); 'garbage' is
 * a few bytes that are not zlib at all, so only a reader that checks the
 * header before decoding can tell its size.
 */
export async function craftedPng(width: number, height: number, body: 'zeros' | 'garbage'): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, grayscale, deflate, adaptive filtering, no interlace
  const idat = body === 'zeros' ? await zeroRows(height, width + 1) : Buffer.from('not a zlib stream at all');
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}
