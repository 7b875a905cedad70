// A static file server for the built page (apps/playground/dist): what `npm run playground`
// serves, and what the browser tests load the page from. With `isolation` (the default) it
// sends the cross-origin isolation headers that threaded wasm needs, as `farmer serve` does;
// without them it is a plain static host, where the page falls back to one thread.
import { createReadStream, promises as fs } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

/**
 * Serves `root` on 127.0.0.1:`port` (0: any free port), and each folder of
 * `mounts` under its URL prefix (e.g. { '/other/': dir }). Resolves with the
 * base URL and a `close()`.
 * @param {{ root: string, mounts?: Record<string, string>, port?: number, host?: string, isolation?: boolean }} options
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function serveStatic({ root, mounts = {}, port = 0, host = '127.0.0.1', isolation = true }) {
  const server = createServer(async (req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const mount = Object.keys(mounts).find((prefix) => path.startsWith(prefix));
    const base = resolve(mount ? mounts[mount] : root);
    if (mount) path = path.slice(mount.length - 1);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) return res.writeHead(403).end();
    let stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isDirectory()) {
      file = join(file, 'index.html');
      stat = await fs.stat(file).catch(() => undefined);
    }
    if (!stat) return res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': 'no-cache',
      ...(isolation ? ISOLATION_HEADERS : {}),
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(port, host, () => ok(undefined)));
  const address = server.address();
  return {
    url: `http://${host}:${typeof address === 'object' && address ? address.port : port}/`,
    close: () => new Promise((ok) => server.close(() => ok(undefined))),
  };
}
