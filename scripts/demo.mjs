#!/usr/bin/env node
// Smoke demo until `farmer demo` lands (apps/cli): brings up the backend, loads the
// built-in MNIST digits, round-trips them through patchify and writes a grid PNG.
import { writeFileSync } from 'node:fs';
import {
  BatchStream, describeBackend, encodePng, imageGrid, imagesToTensor, initBackend, loadDataset, patchify, tensorToImages, tf, unpatchify,
} from '@farmer/core';

const t0 = Date.now();
const info = await initBackend();
console.log(describeBackend(info));
const test = await loadDataset('mnist', { split: 'test' });
const batch = new BatchStream(test, { batchSize: 64, seed: 0 }).next();
const x = imagesToTensor(batch.images);
const tokens = patchify(x, 4);
const back = unpatchify(tokens, { channels: 1, height: 28, width: 28, patchSize: 4 });
const images = await tensorToImages(back);
tf.dispose([x, tokens, back]);
writeFileSync('samples.png', encodePng(imageGrid(images, { columns: 8 })));
console.log(`patchified 64 test digits into ${tokens.shape.join('×')} tokens and back (exact round trip)`);
console.log(`wrote samples.png (8×8 grid of built-in MNIST test digits) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
