import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, initBackend, tf, toFloat32, type TensorMap } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { importTarflowStateDict } from '../src/index.js';
import { relErr } from '@farmer/test-utils';

/** PyTorch reference vectors made by fixtures/tarflow/make_tarflow_reference.py. */
const dir = join(__dirname, 'fixtures', 'tarflow');
const load = (name: string): TensorMap => decodeSafetensors(new Uint8Array(readFileSync(join(dir, name))), name).tensors;
const TOL = 1e-4;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const results: Record<string, number> = {};

describe.each(['uncond', 'cond', 'vp'])('PyTorch TARFlow parity: %s', (name) => {
  const hyper = JSON.parse(readFileSync(join(dir, `${name}.config.json`), 'utf8'));
  const io = load(`${name}.io.safetensors`);
  const arr = (k: string) => toFloat32(io[k]);
  const labels = io.y ? Array.from(io.y.data as BigInt64Array, Number) : undefined;

  it('imports the state dict, skipping the attn_mask and var buffers explicitly', () => {
    const { flow, skipped, priorVar } = importTarflowStateDict(readFileSync(join(dir, `${name}.weights.safetensors`)), hyper, name);
    expect(skipped).toContain('var');
    expect(skipped.filter((s) => s.endsWith('attn_mask'))).toHaveLength(hyper.num_blocks);
    expect(priorVar).toBeUndefined();
    flow.dispose();
  });

  it('matches z, every block latent and every block logdet to 1e-4', () => {
    const { flow } = importTarflowStateDict(readFileSync(join(dir, `${name}.weights.safetensors`)), hyper, name);
    const x = tf.tensor4d(arr('x'), io.x.shape as [number, number, number, number]);
    const r = tf.tidy(() => flow.forwardImages(x, { labels, keepLatents: true }));
    results[`${name} z`] = relErr(r.z.dataSync(), arr('z'));
    expect(results[`${name} z`]).toBeLessThan(TOL);
    for (let t = 0; t < hyper.num_blocks; t++) {
      expect(relErr(r.latents![t].dataSync(), arr(`latent.${t}`)), `latent.${t}`).toBeLessThan(TOL);
      const ld = relErr(r.logdets[t].dataSync(), arr(`logdet.${t}`));
      results[`${name} logdet.${t}`] = ld;
      if (hyper.nvp) expect(ld, `logdet.${t}`).toBeLessThan(TOL);
      else expect(Array.from(r.logdets[t].dataSync(), Math.abs)).toEqual(Array.from(arr(`logdet.${t}`), Math.abs));
    }
    if (io['z.null']) {
      const n = tf.tidy(() => flow.forwardImages(x, { labels: null }).z.dataSync());
      expect(relErr(n, arr('z.null'))).toBeLessThan(TOL);
    }
    tf.dispose([x, r.z, ...r.logdets, ...r.latents!]);
    flow.dispose();
  });

  it('matches the reverse of z and of a noise latent (and the guided reverses) to 1e-4', async () => {
    const { flow } = importTarflowStateDict(readFileSync(join(dir, `${name}.weights.safetensors`)), hyper, name);
    const geo = flow.geometry;
    const rev = async (k: string, opts: Parameters<typeof flow.reverse>[1] = {}) => {
      const z = tf.tensor3d(arr(k), io[k].shape as [number, number, number]);
      const tokens = await flow.reverse(z, { labels, ...opts });
      const img = tf.tidy(() => {
        const [b] = tokens.shape;
        const { channels: c, height: h, width: w, patchSize: p } = geo;
        return tf.transpose(tf.reshape(tokens, [b, h / p, w / p, c, p, p]), [0, 3, 1, 4, 2, 5]).reshape([b, c, h, w]).dataSync();
      });
      tf.dispose([z, tokens]);
      return img;
    };
    const cases: [string, string, Parameters<typeof flow.reverse>[1]][] = [
      ['reverse.x', 'z', {}],
      ['reverse.from_noise', 'noise', {}],
    ];
    if (io['reverse.guided']) {
      cases.push(['reverse.guided', 'noise', { guidance: { scale: 1.5, attnTemp: 1.0 } }]);
      cases.push(['reverse.guided_annealed', 'noise', { guidance: { scale: 2.0, annealed: true, attnTemp: 1.3 } }]);
    }
    for (const [out, input, opts] of cases) {
      const got = await rev(input, opts);
      results[`${name} ${out}`] = relErr(got, arr(out));
      expect(results[`${name} ${out}`], out).toBeLessThan(TOL);
    }
    flow.dispose();
  });
});

describe('parity summary', () => {
  it('prints the measured relative errors', () => {
    const worst = Math.max(...Object.values(results));
    console.log(`TARFlow parity (max |a−b| / max |b|): worst ${worst.toExponential(2)}\n${Object.entries(results).map(([k, v]) => `  ${k}: ${v.toExponential(2)}`).join('\n')}`);
    expect(Object.keys(results).length).toBeGreaterThan(10);
    expect(worst).toBeLessThan(TOL);
  });
});
