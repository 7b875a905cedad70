#!/usr/bin/env node
// `npm run bench`: every package's benchmarks, each printing ratios measured side by side.
// Pass section names to run a subset: `npm run bench -- core`.
import { benchCore } from './core.mjs';
import { benchFlow } from './flow.mjs';
import { benchTrain } from './train.mjs';
import { benchSampling } from './sampling.mjs';
import { benchDistill, benchDistillQuality } from './distill.mjs';
import { benchServer } from './server.mjs';
import { benchOnnx } from './onnx.mjs';
import { benchOrtGrad } from './ort-grad.mjs';
import { benchFid } from './fid.mjs';
import { benchClassify } from './classify.mjs';
import { benchPlayground } from './playground.mjs';
import { benchScaleOut } from './scale-out.mjs';
import { benchJacobi } from './jacobi.mjs';

const sections = { core: benchCore, flow: benchFlow, train: benchTrain, sampling: benchSampling, distill: benchDistill, 'distill-quality': benchDistillQuality, server: benchServer, onnx: benchOnnx, 'ort-grad': benchOrtGrad, fid: benchFid, classify: benchClassify, playground: benchPlayground, 'scale-out': benchScaleOut, jacobi: benchJacobi };
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const [name, fn] of Object.entries(sections)) {
  if (wanted.length && !wanted.includes(name)) continue;
  await fn();
}
