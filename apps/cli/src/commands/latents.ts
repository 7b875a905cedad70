import { existsSync, readFileSync } from 'node:fs';
import { readPngFiles } from '../image-inputs.js';
import { Command } from 'commander';
import {
  decodeSafetensors,
  encodePng,
  encodeSafetensors,
  FarmerError,
  imageGrid,
  ownValue,
  readCheckpoint,
  loadDataset,
  resolveCheckpointDir,
  tf,
  toFloat32,
  unpatchify,
  writeFileAtomic,
  type U8Images,
  tensorToImages,
} from '@farmer/core';
import { FARMER_KIND, modelImageOptions, parseFarmerConfig, type ModelImageOptions } from '@farmer/ar-gmm';
import { flowFromCheckpoint, loadFlow } from '@farmer/flow';
import type { CliContext } from '../context.js';
import { intFlag, pathFlag } from '../flags.js';

/** Images from PNG files or a dataset spec (first `count` test images), as the model takes them. */
async function readImages(inputs: string[], image: ModelImageOptions, count: number): Promise<{ images: U8Images; labels: number[] }> {
  if (inputs.length === 1 && !inputs[0].toLowerCase().endsWith('.png')) {
    const ds = await loadDataset(inputs[0], { split: 'test', ...image });
    const n = Math.min(count, ds.images.count);
    const per = ds.images.height * ds.images.width * ds.images.channels;
    return { images: { ...ds.images, data: ds.images.data.slice(0, n * per), count: n }, labels: Array.from(ds.labels.subarray(0, n)) };
  }
  const images = readPngFiles(inputs, image);
  return { images, labels: Array.from({ length: images.count }, () => -1) };
}

/** `farmer encode`: images → AF latents (the final z, and every block's with --per-block) as safetensors. */
export async function runEncode(ctx: CliContext, inputs: string[], flags: { checkpoint: string; out: string; perBlock?: boolean; count: number }): Promise<void> {
  await ctx.initBackend();
  const ck = await readCheckpoint(resolveCheckpointDir(flags.checkpoint), { parts: ['model'] });
  // A FARMER checkpoint's images are composited on its background; a flow-only one has none (black).
  const background = ck.config.kind === FARMER_KIND ? parseFarmerConfig(ck.config.model, `${ck.dir}/config.json model`).background : undefined;
  const flow = flowFromCheckpoint(ck);
  try {
    const { images } = await readImages(inputs, modelImageOptions({ flow: flow.config, background }), flags.count);
    const enc = await flow.encode(images, { keepLatents: flags.perBlock });
    const t = (x: tf.Tensor) => ({ dtype: 'F32' as const, shape: x.shape, data: Float32Array.from(x.dataSync() as Float32Array) });
    const map: Record<string, ReturnType<typeof t>> = { z: t(enc.z) };
    enc.logdets.forEach((l, i) => (map[`logdet.${i}`] = t(l)));
    enc.latents?.forEach((l, i) => (map[`latent.${i}`] = t(l)));
    tf.dispose([enc.z, ...enc.logdets, ...(enc.latents ?? [])]);
    await writeFileAtomic(flags.out, encodeSafetensors(map, { checkpoint: flags.checkpoint, order: 'AF output order [B, N, d]' }));
    ctx.result(`encoded ${images.count} images → ${flags.out} (${Object.keys(map).join(', ')})`, { out: flags.out, images: images.count, tensors: Object.keys(map) });
  } finally {
    flow.dispose();
  }
}

/** `farmer decode`: latents (safetensors tensor `z`, or `latent.t` with --from-block t) → images grid PNG. */
export async function runDecode(ctx: CliContext, flags: { checkpoint: string; latents: string; out: string; fromBlock?: number; tensor?: string }): Promise<void> {
  await ctx.initBackend();
  const flow = await loadFlow(resolveCheckpointDir(flags.checkpoint));
  try {
    if (!existsSync(flags.latents)) throw new FarmerError('FARMER_E_NOT_FOUND', `latents file ${flags.latents} does not exist`, { file: flags.latents });
    const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(flags.latents)), flags.latents);
    const block = flags.fromBlock ?? flow.config.numBlocks - 1;
    const name = flags.tensor ?? (flags.fromBlock === undefined ? 'z' : `latent.${block}`);
    // --tensor is the user's: own entries only ('toString' is no tensor).
    const host = ownValue(tensors, name);
    if (!host) throw new FarmerError('FARMER_E_BAD_INPUT', `${flags.latents} has no tensor '${name}' (it has ${Object.keys(tensors).join(', ')})`, { field: 'tensor' });
    const z = tf.tensor3d(toFloat32(host), host.shape as [number, number, number]);
    const tokens = await flow.reverseFrom(block, z);
    const img = tf.tidy(() => tf.clipByValue(unpatchify(tokens, flow.geometry), -1, 1) as tf.Tensor4D);
    const images = await tensorToImages(img);
    tf.dispose([z, tokens, img]);
    await writeFileAtomic(flags.out, encodePng(imageGrid(images)));
    ctx.result(`decoded ${images.count} latents from block ${block} → ${flags.out}`, { out: flags.out, images: images.count, fromBlock: block });
  } finally {
    flow.dispose();
  }
}

export function encodeCommand(ctx: () => CliContext): Command {
  return new Command('encode')
    .description('map images to AF latents (safetensors: z, logdet.t and, with --per-block, latent.t)')
    .argument('<inputs...>', 'PNG files, or one dataset spec (mnist, idx:DIR, ...) to take test images from')
    .requiredOption('--checkpoint <dir>', 'checkpoint with a flow', pathFlag('--checkpoint'))
    .requiredOption('--out <file>', 'output .safetensors', pathFlag('--out'))
    .option('--per-block', 'also write the latent after every AF block')
    .option('--count <n>', 'images to take from a dataset', intFlag('--count', 1), 16)
    .addHelpText('after', '\nExample:\n  farmer encode mnist --count 8 --checkpoint runs/small --per-block --out latents.safetensors')
    .action(async (inputs: string[], flags: { checkpoint: string; out: string; perBlock?: boolean; count: number }) => runEncode(ctx(), inputs, flags));
}

export function decodeCommand(ctx: () => CliContext): Command {
  return new Command('decode')
    .description('map AF latents back to images (a grid PNG), from the final latent or from block t')
    .requiredOption('--checkpoint <dir>', 'checkpoint with a flow', pathFlag('--checkpoint'))
    .requiredOption('--latents <file>', '.safetensors written by farmer encode', pathFlag('--latents'))
    .option('--from-block <t>', 'decode latent.t back through blocks t..0', intFlag('--from-block', 0))
    .option('--tensor <name>', 'tensor to decode (default z, or latent.t with --from-block)')
    .option('--out <file>', 'grid PNG', pathFlag('--out'), 'decoded.png')
    .addHelpText('after', '\nExample:\n  farmer decode --checkpoint runs/small --latents latents.safetensors --out decoded.png')
    .action(async (flags: { checkpoint: string; latents: string; out: string; fromBlock?: number; tensor?: string }) => runDecode(ctx(), flags));
}
