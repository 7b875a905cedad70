// @farmer/flow benchmarks: AF forward and reverse images/s for a small MNIST-sized
// config, the reverse with and without the KV cache side by side.
import { initBackend, Rng, tf } from '@farmer/core';
import { Flow } from '@farmer/flow';
import { fmt, table, timeIt } from './util.mjs';

export const BENCH_FLOW = { inChannels: 1, imageSize: 28, patchSize: 4, width: 128, numBlocks: 4, layersPerBlock: 2, headDim: 64 };

/** Gives the flow small random proj_out weights so it is not the identity. */
function randomise(flow, seed) {
  const rng = new Rng(seed);
  for (const name of flow.params.names()) {
    if (!name.includes('proj_out')) continue;
    const v = flow.params.get(name);
    const t = rng.normalTensor(v.shape, 0.01);
    v.assign(t);
    t.dispose();
  }
}

export async function benchFlow() {
  await initBackend();
  const flow = Flow.create(BENCH_FLOW, 0);
  randomise(flow, 1);
  const rows = [];
  for (const batch of [16, 64]) {
    const x = new Rng(2).normalTensor([batch, flow.numTokens, flow.tokenDim], 0.5);
    const s = await timeIt(() => tf.tidy(() => flow.forward(x).z.dataSync()), { warmup: 1, reps: 5 });
    rows.push({ pass: 'forward', batch, 'images/s': fmt(batch / s, 1), 'no KV cache images/s': '-', 'KV cache speed-up': '-' });
    x.dispose();
  }
  for (const batch of [1, 16]) {
    const z = new Rng(3).normalTensor([batch, flow.numTokens, flow.tokenDim]);
    const cached = await timeIt(async () => (await flow.reverse(z)).dispose(), { warmup: 1, reps: 3 });
    const naive = await timeIt(async () => (await flow.reverse(z, { useKVCache: false })).dispose(), { warmup: 0, reps: 1 });
    rows.push({
      pass: 'reverse',
      batch,
      'images/s': fmt(batch / cached, 2),
      'no KV cache images/s': fmt(batch / naive, 2),
      'KV cache speed-up': `${fmt(naive / cached, 2)}×`,
    });
    z.dispose();
  }
  console.log(`\n## flow: AF ${BENCH_FLOW.imageSize}×${BENCH_FLOW.imageSize}×1, patch 4, ${BENCH_FLOW.numBlocks} blocks × ${BENCH_FLOW.layersPerBlock} layers, width 128 (${tf.getBackend()})`);
  table(rows);
  flow.dispose();
}
