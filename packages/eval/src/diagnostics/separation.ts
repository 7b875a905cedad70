import { FarmerError, normalTensor, Rng, tf, unpatchify, tensorToImages, type U8Images } from '@farmer/core';
import type { Flow } from '@farmer/flow';

/** Options of {@link separationExperiment}. */
export interface SeparationOptions {
  /** Interpolation strengths λ in [0, 1]: z' = (1 − λ)·z + λ·ε (docs/method.md §10.2 information separation). */
  strengths: number[];
  /** d_I: channels [d_I, d) of every token are the redundant group. */
  informativeDim: number;
  /** Blocks whose latents to perturb (default all). */
  blocks?: number[];
  seed?: number;
}

/** The decoded images of {@link separationExperiment}, per block, mode and strength. */
export interface SeparationResult {
  /** images[block][mode][strength] is a batch of the decoded images. */
  rows: { block: number; mode: 'partial' | 'full'; images: U8Images[] }[];
  strengths: number[];
}

/**
 * The paper's information-separation experiment
 * (docs/method.md §10.2 information separation): take the latent
 * after AF block t, interpolate it with Gaussian noise either only in the
 * redundant channels (partial) or in all channels (full), and map it back
 * through blocks t..0. If the AF separates information, partial noise leaves
 * the structure intact at deep blocks while full noise destroys it.
 */
export async function separationExperiment(flow: Flow, images: U8Images, options: SeparationOptions): Promise<SeparationResult> {
  const d = flow.tokenDim;
  const dI = options.informativeDim;
  if (!Number.isInteger(dI) || dI < 1 || dI > d) throw new FarmerError('FARMER_E_BAD_INPUT', `informativeDim must be in [1, ${d}], got ${dI}`, { field: 'informativeDim' });
  for (const s of options.strengths) if (!(s >= 0 && s <= 1)) throw new FarmerError('FARMER_E_BAD_INPUT', `strengths must lie in [0, 1], got ${s}`, { field: 'strengths' });
  const blocks = options.blocks ?? Array.from({ length: flow.config.numBlocks }, (_, t) => t);
  const enc = await flow.encode(images, { keepLatents: true });
  const rng = new Rng(`separation:${options.seed ?? 0}`);
  // One noise draw per block, shared by every strength and mode, so rows differ only in what is perturbed.
  const mask = tf.tidy(() => tf.concat([tf.zeros([1, 1, dI]), tf.ones([1, 1, d - dI])], 2));
  const rows: SeparationResult['rows'] = [];
  try {
    for (const t of blocks) {
      const z = enc.latents![t];
      const eps = normalTensor(rng, z.shape);
      for (const mode of ['partial', 'full'] as const) {
        const out: U8Images[] = [];
        for (const s of options.strengths) {
          const mixed = tf.tidy(() => {
            const m = tf.add(tf.mul(z, 1 - s), tf.mul(eps, s));
            return (mode === 'full' ? m : tf.add(tf.mul(z, tf.sub(1, mask)), tf.mul(m, mask))) as tf.Tensor3D;
          });
          const tokens = await flow.reverseFrom(t, mixed);
          const img = tf.tidy(() => tf.clipByValue(unpatchify(tokens, flow.geometry), -1, 1) as tf.Tensor4D);
          out.push(await tensorToImages(img));
          tf.dispose([mixed, tokens, img]);
        }
        rows.push({ block: t, mode, images: out });
      }
      eps.dispose();
    }
  } finally {
    tf.dispose([mask, enc.z, ...enc.logdets, ...(enc.latents ?? [])]);
  }
  return { rows, strengths: options.strengths };
}
