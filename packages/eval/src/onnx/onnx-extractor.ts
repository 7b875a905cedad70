import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import { checkU8Images, FarmerError, sliceImages, type U8Images } from '@farmer/core';
import type * as ort from 'onnxruntime-node';
import type { ExtractOptions, ExtractorIdentity, FeatureExtractor } from '../feature-extractor.js';
import { hashParts } from '../feature-extractor.js';
import type { FeatureMatrix } from '../feature-matrix.js';
import { preprocessImages } from './preprocess.js';
import { defaultSidecarPath, loadOnnxExtractorSidecar, type OnnxExtractorSpec } from './sidecar.js';
import { loadOrtNode, type OrtNode } from './load-ort-node.js';

/** Options for {@link OnnxFeatureExtractor.load}. */
export interface OnnxExtractorOptions {
  /** The sidecar JSON. Default: the model path with `.onnx` replaced by `.json`. */
  sidecarPath?: string;
  /** Images per onnxruntime call, overriding the sidecar's `batchSize`. */
  batchSize?: number;
  /** onnxruntime intra-op threads. Default: onnxruntime's (all cores). */
  intraOpNumThreads?: number;
}

/** Version of the identity hash recipe; bump it when preprocessing semantics change. */
const IDENTITY_RECIPE = 'farmer-onnx-extractor/1';

/**
 * A feature extractor backed by any ONNX model that maps images to features
 * (or logits), run by onnxruntime-node on the CPU execution provider. The
 * sidecar JSON next to the model declares input/output names, input size,
 * layout, channels, value range and normalisation, and batch size; images
 * are resized bilinearly (PyTorch `align_corners=False` semantics).
 *
 * The identity hash covers the model bytes and every preprocessing field of
 * the sidecar (not the batch size), so reference statistics computed with a
 * different network or preprocessing are refused.
 */
export class OnnxFeatureExtractor implements FeatureExtractor {
  readonly identity: ExtractorIdentity;
  readonly spec: OnnxExtractorSpec;
  readonly modelPath: string;
  /** Images per onnxruntime call. */
  readonly batchSize: number;
  /** True when the model's batch dimension is fixed; short batches are then zero-padded. */
  readonly fixedBatch: boolean;
  private session: ort.InferenceSession | null;
  private readonly ort: OrtNode;

  private constructor(ortNode: OrtNode, modelPath: string, spec: OnnxExtractorSpec, session: ort.InferenceSession, identity: ExtractorIdentity, batchSize: number, fixedBatch: boolean) {
    this.ort = ortNode;
    this.modelPath = modelPath;
    this.spec = spec;
    this.session = session;
    this.identity = identity;
    this.batchSize = batchSize;
    this.fixedBatch = fixedBatch;
  }

  /**
   * Loads the model and its sidecar and checks that they agree: the declared
   * input and output exist, the input is float32 with rank 4, and any fixed
   * dimensions match the declared layout, size and channels.
   */
  static async load(modelPath: string, opts: OnnxExtractorOptions = {}): Promise<OnnxFeatureExtractor> {
    let modelBytes: Uint8Array;
    try {
      modelBytes = await fs.readFile(modelPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new FarmerError('FARMER_E_NOT_FOUND', `ONNX feature extractor ${modelPath} does not exist`, { file: modelPath });
      }
      throw e;
    }
    const sidecarPath = opts.sidecarPath ?? defaultSidecarPath(modelPath);
    const spec = await loadOnnxExtractorSidecar(sidecarPath);
    const ortNode = await loadOrtNode(`the ONNX feature extractor ${modelPath}`);
    let session: ort.InferenceSession;
    try {
      session = await ortNode.InferenceSession.create(modelPath, {
        executionProviders: ['cpu'],
        ...(opts.intraOpNumThreads !== undefined ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
      });
    } catch (e) {
      throw new FarmerError(
        'FARMER_E_CORRUPT',
        `onnxruntime-node could not load ${modelPath}: ${stripPeriod((e as Error).message)}. ` +
          'Check that the file is a complete ONNX model whose IR version and opset onnxruntime 1.30 supports; re-export it if needed',
        { file: modelPath },
        { cause: e },
      );
    }
    try {
      const { batchSize, fixedBatch } = checkModelAgainstSpec(session, spec, sidecarPath, opts.batchSize ?? spec.batchSize);
      const preprocessing = { ...spec, batchSize: undefined, id: undefined };
      const identity: ExtractorIdentity = {
        id: spec.id ?? basename(modelPath),
        hash: hashParts([IDENTITY_RECIPE, modelBytes, canonicalJson(preprocessing)]),
      };
      return new OnnxFeatureExtractor(ortNode, modelPath, spec, session, identity, batchSize, fixedBatch);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /**
   * Runs the model over `images` in batches.
   *
   * @param images - `[count, h, w, c]` u8, c = 1 or 3, count ≥ 1.
   * @returns float32 `[count, f]`, f = the output's size per image.
   */
  async extract(images: U8Images, opts: ExtractOptions = {}): Promise<FeatureMatrix> {
    const session = this.session;
    if (!session) throw new FarmerError('FARMER_E_BAD_INPUT', `the ONNX extractor for ${this.modelPath} was disposed`);
    checkU8Images(images);
    if (images.count < 1) throw new FarmerError('FARMER_E_BAD_INPUT', 'extract: no images given');
    const { inputSize: [h, w], channels: c, layout } = this.spec;
    const dims = layout === 'NCHW' ? [this.batchSize, c, h, w] : [this.batchSize, h, w, c];
    const perImage = c * h * w;
    const input = new Float32Array(this.batchSize * perImage);
    let out: Float32Array | undefined;
    let dim = 0;
    for (let start = 0; start < images.count; start += this.batchSize) {
      if (opts.signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', `feature extraction aborted after ${start} of ${images.count} images`);
      const b = Math.min(this.batchSize, images.count - start);
      // A fixed-batch model always gets full batches: the tail is zero-padded and its outputs dropped.
      const rows = this.fixedBatch ? this.batchSize : b;
      if (rows > b) input.fill(0, b * perImage);
      preprocessImages(sliceImages(images, start, b), this.spec, input);
      const tensor = new this.ort.Tensor('float32', input.subarray(0, rows * perImage), [rows, ...dims.slice(1)]);
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run({ [this.spec.input]: tensor }, [this.spec.output]);
      } catch (e) {
        throw new FarmerError(
          'FARMER_E_BAD_CONFIG',
          `onnxruntime failed on images [${start}, ${start + b}) with input '${this.spec.input}' of shape [${[rows, ...dims.slice(1)].join(', ')}]: ${stripPeriod((e as Error).message)}. ` +
            'Check inputSize, layout and channels in the sidecar against the model',
          { file: this.modelPath },
          { cause: e },
        );
      }
      const feats = result[this.spec.output] as ort.Tensor;
      if (!feats || !(feats.data instanceof Float32Array || feats.data instanceof Float64Array)) {
        throw new FarmerError('FARMER_E_BAD_CONFIG', `output '${this.spec.output}' of ${this.modelPath} is ${feats?.type ?? 'missing'}; features must be float32 or float64`);
      }
      if (feats.dims[0] !== rows || feats.data.length % rows !== 0) {
        throw new FarmerError('FARMER_E_SHAPE', `output '${this.spec.output}' has shape [${feats.dims.join(', ')}]; its first dimension must be the batch (${rows})`);
      }
      const f = feats.data.length / rows;
      if (!out) {
        dim = f;
        out = new Float32Array(images.count * dim);
      }
      out.set(feats.data.subarray(0, b * dim), start * dim);
      feats.dispose();
      opts.onProgress?.(start + b, images.count);
    }
    return { data: out as Float32Array, count: images.count, dim };
  }

  /** Releases the onnxruntime session. */
  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    await s?.release();
  }
}

function checkModelAgainstSpec(session: ort.InferenceSession, spec: OnnxExtractorSpec, sidecar: string, wantBatch: number): { batchSize: number; fixedBatch: boolean } {
  const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');
  if (!session.inputNames.includes(spec.input)) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `sidecar ${sidecar} names input '${spec.input}', but the model's inputs are ${list(session.inputNames)}; fix "input"`, {
      file: sidecar,
    });
  }
  if (session.inputNames.length !== 1) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `the model has inputs ${list(session.inputNames)}; a feature extractor must take exactly one image input`, { file: sidecar });
  }
  if (!session.outputNames.includes(spec.output)) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `sidecar ${sidecar} names output '${spec.output}', but the model's outputs are ${list(session.outputNames)}; fix "output"`, {
      file: sidecar,
    });
  }
  if (!Number.isInteger(wantBatch) || wantBatch < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `batchSize must be a positive integer, got ${wantBatch}`, { field: 'batchSize' });
  const meta = session.inputMetadata.find((m) => m.name === spec.input);
  if (!meta || !meta.isTensor) return { batchSize: wantBatch, fixedBatch: false };
  if (meta.type !== 'float32') {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `the model's input '${spec.input}' is ${meta.type}; only float32 image inputs are supported`, { file: sidecar });
  }
  const shape = meta.shape;
  if (shape.length === 0) return { batchSize: wantBatch, fixedBatch: false };
  const [h, w] = spec.inputSize;
  const want = spec.layout === 'NCHW' ? [null, spec.channels, h, w] : [null, h, w, spec.channels];
  const mismatch = shape.length !== 4 || want.some((d, i) => d !== null && typeof shape[i] === 'number' && shape[i] !== d);
  if (mismatch) {
    throw new FarmerError(
      'FARMER_E_BAD_CONFIG',
      `the model's input '${spec.input}' has shape [${shape.join(', ')}], but sidecar ${sidecar} declares layout ${spec.layout}, ` +
        `${spec.channels} channel(s), inputSize [${h}, ${w}], i.e. [N, ${want.slice(1).join(', ')}]; fix the sidecar`,
      { file: sidecar },
    );
  }
  const batchDim = shape[0];
  return typeof batchDim === 'number' && batchDim > 0 ? { batchSize: batchDim, fixedBatch: true } : { batchSize: wantBatch, fixedBatch: false };
}

function stripPeriod(msg: string): string {
  return msg.replace(/\.+\s*$/, '');
}

/** JSON with sorted keys and undefined fields dropped, so equal specs hash equally. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>)
            .filter(([, x]) => x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : val,
  );
}
