// `npm run bench -- train --check`: proves that bench/torch/farmer_torch.py is the same
// model as farmer-ts. For each config, farmer-ts (tfjs) randomises a fresh model, writes it
// as a checkpoint with a batch of noisy MNIST digits (some with the null label) and its own
// loss and gradients; the script recomputes them in PyTorch and compares.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, f32, gatherExamples, initBackend, loadDataset, ParamStore, Rng, tf } from '@farmer/core';
import { FarmerModel, lossAndGrads, parseTrainConfig, prepareBatch, preset } from '@farmer/ar-gmm';
import { globalNorm } from '@farmer/train';
import { randomise, table } from '../util.mjs';
import { findTorchPython, runTorchScript, writeTorchInputs } from './torch-bench.mjs';

/** Tolerances: the step-0 loss bound, and its per-parameter gradient bound max|a−b| ≤ 1e-4·max(max|b|, 1e-3). */
const LOSS_RTOL = 1e-5;
const GRAD_NORM_RTOL = 1e-5;
const PARAM_TOL = 1e-4;

const tiny = preset('mnist-tiny');
/** mnist-small, plus configs covering what mnist-small leaves out. */
const CASES = [
  { name: 'mnist-small', config: preset('mnist-small'), noise: { mode: 'uniform' } },
  {
    // A class-conditional AF (mean class embedding), alphaClamp, an odd block count, forced flip.
    name: 'AF classes, alphaClamp, flip',
    config: { ...tiny, flow: { ...tiny.flow, numBlocks: 3, numClasses: 10, alphaClamp: 2 }, finalPermute: 'flip' },
    noise: { mode: 'gaussian', sigmaStart: 0.1, sigmaEnd: 0.005 },
  },
  {
    // Volume-preserving blocks and no redundant group (d_I = d), unconditional AR.
    name: 'nvp false, d_I = d, K_I 3',
    config: { ...tiny, flow: { ...tiny.flow, nvp: false }, ar: { ...tiny.ar, informativeDim: 16, componentsInformative: 3 }, numClasses: 0, finalPermute: 'identity' },
    noise: { mode: 'uniform' },
  },
];

/** loss, grad_norm and grad.<name> in PyTorch layout ([out, in] for Linear weights). */
function referenceTensors(model, r) {
  const out = {
    loss: { dtype: 'F64', shape: [], data: Float64Array.of(r.loss) },
    grad_norm: { dtype: 'F64', shape: [], data: Float64Array.of(globalNorm(r.grads)) },
  };
  model.variableNames().forEach((name, i) => {
    const g = ParamStore.isLinearWeight(name, r.grads[i].shape) ? tf.transpose(r.grads[i]) : r.grads[i];
    out[`grad.${name}`] = f32(Float32Array.from(g.dataSync()), g.shape);
    if (g !== r.grads[i]) g.dispose();
  });
  return out;
}

async function checkCase(python, c, data, dir) {
  const model = FarmerModel.create(c.config, 0);
  randomise(model.flow.params, `bench-torch:${c.name}:flow`, 0.1);
  randomise(model.ar.params, `bench-torch:${c.name}:ar`, 0.1);
  const rng = new Rng(`bench-torch:${c.name}:batch`);
  const cfg = parseTrainConfig({ steps: 1, noise: c.noise, labelDrop: 0.25 });
  const batch = prepareBatch({ ...gatherExamples(data, Int32Array.from({ length: 16 }, (_, i) => i * 7)) }, cfg, rng, 0, model.config.numClasses);
  const r = lossAndGrads(model, batch);
  const { checkpoint, batchFile } = await writeTorchInputs(dir, model, batch);
  const reference = join(dir, 'reference.safetensors');
  await fs.writeFile(reference, encodeSafetensors(referenceTensors(model, r)));
  tf.dispose(r.grads);
  model.dispose();
  return runTorchScript(python, 'check', { checkpoint, batch: batchFile, reference });
}

export async function checkTorchParity() {
  const found = await findTorchPython();
  if (!found.python) {
    console.log(`\n## train --check: skipped. ${found.reason}`);
    process.exitCode = 1;
    return;
  }
  const backend = await initBackend();
  const data = await loadDataset('mnist');
  const rows = [];
  let ok = true;
  for (const c of CASES) {
    const dir = await fs.mkdtemp(join(tmpdir(), 'farmer-torch-check-'));
    try {
      const r = await checkCase(found.python, c, data, dir);
      const pass = r.lossRelErr <= LOSS_RTOL && r.gradNormRelErr <= GRAD_NORM_RTOL && r.worstParamErr <= PARAM_TOL && r.paramsWithoutReference.length === 0;
      ok &&= pass;
      rows.push({
        config: c.name,
        params: r.parameters,
        'loss tfjs': r.referenceLoss.toFixed(7),
        'loss torch': r.loss.toFixed(7),
        'loss rel': r.lossRelErr.toExponential(1),
        'loss torch f64': r.lossFloat64.toFixed(7),
        '|grad| tfjs': r.referenceGradNorm.toFixed(5),
        '|grad| rel': r.gradNormRelErr.toExponential(1),
        'worst param': `${r.worstParamErr.toExponential(1)} (${r.worstParam})`,
        result: pass ? 'same' : 'DIFFERENT',
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
  console.log(`\n## train --check: farmer-ts (tfjs ${backend.name}) vs bench/torch/farmer_torch.py (PyTorch ${found.version}), batch 16, randomised weights`);
  console.log(`bounds: loss and |grad| ${LOSS_RTOL} relative; per parameter max|a−b| ≤ ${PARAM_TOL}·max(max|b|, 1e-3)`);
  table(rows);
  if (!ok) process.exitCode = 1;
}
