import {
  backgroundOf,
  BatchStream,
  checkOutputDirectory,
  checkpointOutput,
  FarmerError,
  formatZodIssues,
  makeCheckpointConfig,
  normalTensor,
  ParamStore,
  readCheckpoint,
  resolveCheckpointDir,
  Rng,
  tf,
  u8ToFloatNCHW,
  writeCheckpoint,
  type ImageDataset,
  type OutputDirectoryOptions,
  type U8Images,
} from '@farmer/core';
import { AdamW, cosineLr } from '@farmer/train';
import { z } from 'zod';
import { hashParts, type ExtractOptions, type FeatureExtractor, type ExtractorIdentity } from '../feature-extractor.js';
import { featureMatrix, type FeatureMatrix } from '../feature-matrix.js';
import { conv3x3Same } from './conv3x3.js';
import { shiftAugment } from './shift-augment.js';

/**
 * The built-in feature network (docs/method.md §13.7 Feature classifier):
 * optional convolution stages (3×3 'same' conv + bias, ReLU, 2×2 max pool),
 * then an MLP (flatten → hidden… → classes, ReLU layers). The convolutions
 * are built from slices and one matMul, because tfjs-wasm lacks the conv
 * filter gradient and the net must train on the default backend. Its last
 * hidden activations are the FID features; its softmax gives IS.
 */
export const ClassifierConfigSchema = z
  .object({
    channels: z.number().int().positive(),
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    /**
     * Output channels of each convolution stage; each stage halves the side
     * (2×2 max pool, floor). Absent or empty: no stage, the MLP classifier
     * (whose config and identity hash are then exactly those of before
     * stages existed).
     */
    conv: z.array(z.number().int().positive()).optional(),
    hidden: z.array(z.number().int().positive()).min(1).default([512, 256]),
    numClasses: z.number().int().min(2),
    /** The dataset spec it was trained on (for the extractor identity). */
    data: z.string().default(''),
  })
  .strict();
/** A validated config of the built-in feature classifier (docs/method.md §13.7 Feature classifier). */
export type ClassifierConfig = z.infer<typeof ClassifierConfigSchema>;
/** The model kind a classifier checkpoint's `config.json` records. */
export const CLASSIFIER_KIND = 'classifier';

/** The convolution stages' output channels (none for an MLP classifier). */
const convStages = (c: ClassifierConfig): number[] => c.conv ?? [];

/** Side after `stages` 2×2 'valid' poolings (each floors). */
const pooledSide = (side: number, stages: number): number => Math.floor(side / 2 ** stages);

/** Length of the MLP's input: the pixels [C·H·W] (NCHW), or the last stage's map flattened [H'·W'·C'] (NHWC). */
function mlpInputSize(c: ClassifierConfig): number {
  const conv = convStages(c);
  if (!conv.length) return c.channels * c.height * c.width;
  return pooledSide(c.height, conv.length) * pooledSide(c.width, conv.length) * conv[conv.length - 1];
}

/**
 * Every parameter's checkpoint (PyTorch-layout) shape. `conv.{i}.weight` is
 * held [9·Cin, Cout] in memory (row (ky·3 + kx)·Cin + c, `tf.conv2d`'s HWIO
 * filter reshaped; see conv3x3Same) and, as every rank-2 weight, stored
 * transposed [Cout, 9·Cin] (docs/method.md §9.3 Linear weight layout).
 */
function shapes(c: ClassifierConfig): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  let cin = c.channels;
  convStages(c).forEach((cout, i) => {
    out[`conv.${i}.weight`] = [cout, 9 * cin];
    out[`conv.${i}.bias`] = [cout];
    cin = cout;
  });
  const dims = [mlpInputSize(c), ...c.hidden, c.numClasses];
  for (let i = 0; i + 1 < dims.length; i++) {
    out[`layers.${i}.weight`] = [dims[i + 1], dims[i]];
    out[`layers.${i}.bias`] = [dims[i + 1]];
  }
  return out;
}

/** The built-in feature classifier: conv stages (optional) and an MLP (docs/method.md §13.7 Feature classifier). */
export class FeatureClassifier implements FeatureExtractor {
  readonly identity: ExtractorIdentity;

  constructor(
    readonly config: ClassifierConfig,
    readonly params: ParamStore,
  ) {
    const w = params.toTensorMap();
    const kind = convStages(config).length ? 'conv' : 'mlp';
    this.identity = { id: `farmer-${kind}-classifier/${config.data || 'custom'}/penultimate`, hash: hashParts([JSON.stringify(config), ...Object.keys(w).sort().map((k) => new Uint8Array((w[k].data as Float32Array).buffer))]) };
  }

  /** A new classifier with initial weights drawn from `seed`. */
  static create(config: z.input<typeof ClassifierConfigSchema>, seed = 0): FeatureClassifier {
    const c = parseClassifierConfig(config);
    const rng = new Rng(`classifier:${seed}`);
    const store = new ParamStore(shapes(c)).initialise((name, shape) => {
      if (name.endsWith('.bias')) return tf.zeros(shape);
      // He init for ReLU layers: shape is the in-memory [fan_in, fan_out] (9·Cin for a conv stage).
      return normalTensor(rng, shape, Math.sqrt(2 / shape[0]));
    });
    return new FeatureClassifier(c, store);
  }

  private get layers(): number {
    return this.config.hidden.length + 1;
  }

  /**
   * The conv stages: x [B, C·H·W] (NCHW) → [B, H'·W'·C'] (NHWC flattened).
   * Max pooling keeps a feature's strongest response in each window, so a
   * stroke or edge survives a one-pixel shift; a mean would blur it into
   * the white background (docs/method.md §13.7 Feature classifier).
   */
  private convFeatures(x: tf.Tensor2D): tf.Tensor2D {
    const { channels, height, width } = this.config;
    const b = x.shape[0];
    let h = tf.transpose(tf.reshape(x, [b, channels, height, width]), [0, 2, 3, 1]) as tf.Tensor4D;
    convStages(this.config).forEach((_, i) => {
      const z = tf.add(conv3x3Same(h, this.params.get(`conv.${i}.weight`) as tf.Tensor as tf.Tensor2D), this.params.get(`conv.${i}.bias`)) as tf.Tensor4D;
      h = tf.maxPool(tf.relu(z), 2, 2, 'valid');
    });
    return tf.reshape(h, [b, -1]);
  }

  /** x [B, C·H·W] in [-1, 1] (NCHW) → { features [B, hidden_last], logits [B, classes] }. */
  forward(x: tf.Tensor2D): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    let h = convStages(this.config).length ? this.convFeatures(x) : x;
    let features = h;
    for (let i = 0; i < this.layers; i++) {
      h = tf.add(tf.matMul(h, this.params.get(`layers.${i}.weight`) as tf.Tensor as tf.Tensor2D), this.params.get(`layers.${i}.bias`)) as tf.Tensor2D;
      if (i < this.layers - 1) {
        h = tf.relu(h);
        features = h;
      }
    }
    return { features, logits: h };
  }

  private checkImages(images: U8Images): void {
    const c = this.config;
    if (images.channels !== c.channels || images.height !== c.height || images.width !== c.width) {
      throw new FarmerError('FARMER_E_SHAPE', `the classifier takes ${c.height}×${c.width}×${c.channels} images, got ${images.height}×${images.width}×${images.channels}`, { field: 'images' });
    }
  }

  /** Penultimate features [count, hidden_last] (the FeatureExtractor contract). */
  async extract(images: U8Images, opts: ExtractOptions = {}): Promise<FeatureMatrix> {
    return this.run(images, 'features', opts);
  }

  /** Class probabilities [count, classes]. */
  async probabilities(images: U8Images, opts: ExtractOptions = {}): Promise<FeatureMatrix> {
    return this.run(images, 'probs', opts);
  }

  /** Predicted class per image. */
  async predict(images: U8Images): Promise<Int32Array> {
    const p = await this.probabilities(images);
    const out = new Int32Array(p.count);
    for (let i = 0; i < p.count; i++) {
      let best = 0;
      for (let k = 1; k < p.dim; k++) if (p.data[i * p.dim + k] > p.data[i * p.dim + best]) best = k;
      out[i] = best;
    }
    return out;
  }

  private async run(images: U8Images, what: 'features' | 'probs', opts: ExtractOptions): Promise<FeatureMatrix> {
    this.checkImages(images);
    const per = images.height * images.width * images.channels;
    const dim = what === 'features' ? this.config.hidden[this.config.hidden.length - 1] : this.config.numClasses;
    const out = new Float32Array(images.count * dim);
    const bs = 256;
    for (let s = 0; s < images.count; s += bs) {
      if (opts.signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'feature extraction was cancelled');
      const n = Math.min(bs, images.count - s);
      const x = u8ToFloatNCHW({ ...images, data: images.data.subarray(s * per, (s + n) * per), count: n });
      const v = tf.tidy(() => {
        const r = this.forward(tf.tensor2d(x, [n, per]));
        return (what === 'features' ? r.features : tf.softmax(r.logits)).dataSync();
      });
      out.set(v, s * dim);
      opts.onProgress?.(s + n, images.count);
    }
    return featureMatrix(out, images.count, dim);
  }

  async dispose(): Promise<void> {
    this.params.dispose();
  }
}

/**
 * Validates a classifier config (defaults filled in); FARMER_E_BAD_CONFIG
 * names each failing field. An empty `conv` is dropped, so an MLP config
 * reads, hashes and saves exactly as before conv stages existed.
 */
export function parseClassifierConfig(input: unknown): ClassifierConfig {
  const r = ClassifierConfigSchema.safeParse(input);
  if (!r.success) throw new FarmerError('FARMER_E_BAD_CONFIG', `classifier config is invalid: ${formatZodIssues(r.error)}`);
  const { conv, ...mlp } = r.data;
  if (!conv?.length) return mlp;
  const side = Math.min(r.data.height, r.data.width);
  if (pooledSide(side, conv.length) < 1) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `classifier config is invalid: conv: ${conv.length} stages halve the side ${conv.length} times, more than a ${r.data.height}×${r.data.width} image allows (at most ${Math.floor(Math.log2(side))})`, { field: 'conv' });
  }
  return r.data;
}

/** Options of {@link trainClassifier}: epochs, batch size, learning rate, conv stages, hidden layer widths, augmentation, seed, the dataset name recorded, progress. */
export interface TrainClassifierOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Output channels of each conv stage (default none: an MLP). */
  conv?: number[];
  hidden?: number[];
  /** Also mirror half of the training images left–right (default false). */
  flip?: boolean;
  seed?: number;
  data?: string;
  /** Called after each step with the step, the total and the loss. */
  onProgress?: (e: { step: number; steps: number; loss: number }) => void;
}

/**
 * Trains the built-in classifier (AdamW, cosine LR, ±2 px random shifts
 * filled with the dataset's background as augmentation) and reports its
 * test accuracy.
 */
export async function trainClassifier(train: ImageDataset, test: ImageDataset, o: TrainClassifierOptions = {}): Promise<{ classifier: FeatureClassifier; testAccuracy: number }> {
  const { channels, height, width } = train.images;
  const clf = FeatureClassifier.create({ channels, height, width, conv: o.conv, hidden: o.hidden, numClasses: train.numClasses, data: o.data ?? train.name }, o.seed ?? 0);
  const bs = o.batchSize ?? 128;
  const stream = new BatchStream(train, { batchSize: bs, seed: `classifier:${o.seed ?? 0}` });
  const steps = Math.ceil(((o.epochs ?? 8) * train.images.count) / bs);
  const opt = new AdamW(clf.params.variables(), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 });
  const rng = new Rng(`classifier-aug:${o.seed ?? 0}`);
  const background = backgroundOf(train);
  const per = channels * height * width;
  for (let step = 0; step < steps; step++) {
    const b = stream.next();
    const x = shiftAugment(u8ToFloatNCHW(b.images), { count: b.images.count, channels, height, width }, background, rng, { flip: o.flip ?? false });
    const y = b.labels;
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => {
        const { logits } = clf.forward(tf.tensor2d(x, [b.images.count, per]));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(y, 'int32'), train.numClasses), logits) as tf.Scalar;
      }),
    );
    const gs = clf.params.variables().map((v) => grads[v.name]);
    opt.apply(gs, cosineLr(step, steps, o.lr ?? 2e-3, Math.min(100, steps / 10), 1e-5));
    o.onProgress?.({ step: step + 1, steps, loss: value.dataSync()[0] });
    tf.dispose([value, ...gs]);
    if (step % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  opt.dispose();
  const pred = await clf.predict(test.images);
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === test.labels[i]) correct++;
  // The identity hash must cover the trained weights.
  const trained = new FeatureClassifier(clf.config, clf.params);
  return { classifier: trained, testAccuracy: correct / pred.length };
}

/**
 * Saves the classifier as a normal checkpoint (kind 'classifier'), replacing
 * only a classifier checkpoint or an empty folder at `dir` unless
 * `options.force` ({@link checkClassifierOutput} says so before training).
 */
export async function saveClassifier(dir: string, clf: FeatureClassifier, meta: Record<string, unknown> = {}, options: OutputDirectoryOptions = {}): Promise<void> {
  await writeCheckpoint(dir, { config: makeCheckpointConfig(CLASSIFIER_KIND, clf.config as unknown as Record<string, unknown>, { meta }), tensors: { model: clf.params.toTensorMap('classifier.') } }, options);
}

/** Whether {@link saveClassifier} may write `dir`, checked before a classifier is trained for it (see checkOutputDirectory). */
export function checkClassifierOutput(dir: string, options: OutputDirectoryOptions = {}): void {
  checkOutputDirectory(dir, checkpointOutput(CLASSIFIER_KIND), options);
}

/** Opens a classifier checkpoint (its folder, or a run folder holding `checkpoint/`), verifying its checksums. */
export async function loadClassifier(dir: string): Promise<FeatureClassifier> {
  const ck = await readCheckpoint(resolveCheckpointDir(dir));
  if (ck.config.kind !== CLASSIFIER_KIND) throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is a '${ck.config.kind}' checkpoint, not a classifier (train one with farmer eval train-classifier)`, { file: dir });
  const config = parseClassifierConfig(ck.config.model);
  const store = new ParamStore(shapes(config)).loadTensorMap(ck.tensors.model, `${ck.dir}/model.safetensors`, 'classifier.');
  return new FeatureClassifier(config, store);
}

/** Fraction of images the classifier labels as their intended class, overall and per class. */
export async function classifierAgreement(clf: FeatureClassifier, images: U8Images, labels: ArrayLike<number>): Promise<{ agreement: number; perClass: number[]; predictions: Int32Array }> {
  const pred = await clf.predict(images);
  const hits = new Array(clf.config.numClasses).fill(0);
  const totals = new Array(clf.config.numClasses).fill(0);
  let ok = 0;
  for (let i = 0; i < pred.length; i++) {
    totals[labels[i]]++;
    if (pred[i] === labels[i]) {
      ok++;
      hits[labels[i]]++;
    }
  }
  return { agreement: ok / pred.length, perClass: hits.map((h, c) => (totals[c] ? h / totals[c] : NaN)), predictions: pred };
}

/** @deprecated The built-in classifier has conv stages now: use {@link FeatureClassifier} (the same class). */
export const MlpClassifier = FeatureClassifier;
/** @deprecated Use {@link FeatureClassifier}. */
export type MlpClassifier = FeatureClassifier;
