import { initBackend, normalTensor, ParamStore, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from 'node:net';
import { maxAbsDiff, missingPackageError, randomize, relErr, startRedisServer, watchOpenHandles } from '../src/index.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const shapes = { 'blocks.0.proj_out.weight': [2, 3], 'blocks.0.norm.weight': [3], 'blocks.0.proj_in.bias': [4] };
const zeros = () => new ParamStore(shapes).initialise((_name, shape) => tf.zeros(shape));
const values = (s: ParamStore, name: string) => Array.from(s.get(name).dataSync());

describe('maxAbsDiff and relErr', () => {
  it('measure the largest difference, absolute and relative to the reference', () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(relErr([1, 2, 3], [1, 2.5, 2])).toBeCloseTo(1 / 2.5, 15);
    expect(() => maxAbsDiff([1], [1, 2])).toThrow(/length 1 vs 2/);
  });
});

describe('randomize', () => {
  it('draws std projOut on proj_out, 0.1 on LayerNorm scales and `scale` elsewhere, from the stream `randomize:seed`', () => {
    const s = zeros();
    randomize(s, 3, { scale: 0.5, projOut: 0.02 });
    const rng = new Rng('randomize:3');
    for (const [name, std] of [['blocks.0.proj_out.weight', 0.02], ['blocks.0.norm.weight', 0.1], ['blocks.0.proj_in.bias', 0.5]] as const) {
      const want = Array.from(normalTensor(rng, s.get(name).shape, std).dataSync());
      expect(maxAbsDiff(values(s, name), want), name).toBe(0);
    }
    s.dispose();
  });

  it('leaves proj_out untouched without drawing when projOut is 0, and takes the stream name', () => {
    const a = zeros();
    const b = zeros();
    randomize(a, 1, { scale: 0.1, projOut: 0 });
    randomize(b, 1, { scale: 0.1, projOut: 0, stream: 'other' });
    expect(values(a, 'blocks.0.proj_out.weight')).toEqual([0, 0, 0, 0, 0, 0]);
    // The first drawn tensor comes first in the stream: no draws were spent on proj_out.
    const first = Array.from(normalTensor(new Rng('randomize:1'), [3], 0.1).dataSync());
    expect(values(a, 'blocks.0.norm.weight')).toEqual(first);
    expect(values(b, 'blocks.0.norm.weight')).not.toEqual(first);
    a.dispose();
    b.dispose();
  });
});

/** Sends raw RESP commands to a Redis on loopback and resolves with its replies once `replies` lines came (or the socket closed). */
function redisSay(port: number, commands: string, replies: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const c = createConnection({ port, host: '127.0.0.1' }, () => c.write(commands));
    const done = (): void => {
      c.destroy();
      resolve(got);
    };
    c.on('data', (d) => {
      got += d;
      if (got.split('\r\n').length > replies) done();
    });
    c.on('error', () => done());
    c.on('close', () => done());
  });
}

describe('startRedisServer', () => {
  it('asks for its password, dies at kill(), and comes back on the same port', async () => {
    const r = await startRedisServer({ password: 'p@ss word' });
    expect(r.url).toBe(`redis://:p%40ss%20word@127.0.0.1:${r.port}`);
    expect(await redisSay(r.port, 'PING\r\n', 1)).toMatch(/^-NOAUTH/);
    expect(await redisSay(r.port, 'AUTH "p@ss word"\r\nPING\r\n', 2)).toBe('+OK\r\n+PONG\r\n');
    await r.kill();
    expect(await redisSay(r.port, 'PING\r\n', 1)).toBe('');
    const back = await startRedisServer({ port: r.port });
    try {
      expect(back.url).toBe(`redis://127.0.0.1:${r.port}`);
      expect(await redisSay(r.port, 'PING\r\n', 1)).toBe('+PONG\r\n');
    } finally {
      await back.stop();
    }
  });
});

describe('watchOpenHandles', () => {
  it('names the timers set since a mark that keep the process alive, and forgets them once cleared or fired', async () => {
    const handles = watchOpenHandles();
    try {
      const since = handles.mark();
      const kept = setTimeout(() => undefined, 60_000);
      setTimeout(() => undefined, 10);
      setTimeout(() => undefined, 60_000).unref();
      expect(handles.openSince(since)).toHaveLength(2);
      expect(handles.openSince(since)[0]).toMatch(/^a timer set at .*test-utils\.test\.ts/);
      await handles.sleep(50);
      expect(handles.openSince(since)).toHaveLength(1);
      clearTimeout(kept);
      await handles.nothingLeftOpen(since, 100);
      const late = setInterval(() => undefined, 1000);
      await expect(handles.nothingLeftOpen(since, 100)).rejects.toThrow(/left open after 100 ms: a timer set at/);
      clearInterval(late);
    } finally {
      handles.stop();
    }
  });
});

describe('missingPackageError', () => {
  it("is Node's own error for a package that is not installed, in ESM's or CJS's wording", () => {
    const esm = missingPackageError('farmer-no-such-package');
    expect(esm.code).toBe('ERR_MODULE_NOT_FOUND');
    expect(esm.message).toMatch(/^Cannot find package 'farmer-no-such-package' imported from /);
    const cjs = missingPackageError('farmer-no-such-package', 'cjs');
    expect(cjs.code).toBe('MODULE_NOT_FOUND');
    expect(cjs.message).toMatch(/^Cannot find module 'farmer-no-such-package'/);
  });
});
