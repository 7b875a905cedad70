import {
  arLogLikFromHeads,
  decodeByJacobi,
  type AfBlockAccess,
  farmerDims,
  jointNllHost,
  toArOrderHost,
  type ArStream,
  type DecodeOptions,
  type Decoder,
  type FarmerConfig,
  type FarmerDims,
  type FarmerLikelihood,
  type FarmerRunner,
  type ArLogLik,
  type FlowForwardOutputs,
  type HostNll,
} from '@farmer/ar-gmm/browser';
import { FarmerError } from '@farmer/core/browser';
import { assertFiniteTokens, isFlipBlock, type JacobiPlan } from '@farmer/flow/browser';
import { classRows } from '../class-rows.js';
import { kvNames } from '../io-names.js';
import type { GraphEntry, OnnxManifest } from '../manifest.js';
import { disposeTensors, type OrtBinding, type OrtTensor } from './ort-binding.js';
import { OrtArStream } from './ort-ar-stream.js';
import { OrtGraph, type GraphModel, type SessionSettings } from './ort-graph.js';

/** What a runner is opened for: sampling (AR streams, decoders) and/or likelihood (AF forward, AR teacher-forced). */
export type RunnerPurpose = 'sample' | 'likelihood';

/** The execution provider a runner's sessions run on, what was asked for, and better providers skipped with the reason. */
export interface ProviderChoice<P extends string = string> {
  /** The provider the sessions run on. */
  name: P;
  /** What was asked for. */
  requested: P | 'auto';
  /** Better providers that were skipped, each with the reason. */
  skipped: { name: P; reason: string }[];
}

/**
 * A validated export as the runner opens it, wherever its files are: the
 * manifest and model config, and each graph's model in the form the
 * injected binding takes (a path on disk, or bytes with their weights).
 */
export interface OrtExportSource {
  /** The folder or URL, for reports. */
  location: string;
  /** The export's validated manifest. */
  manifest: OnnxManifest;
  /** The model config the export was made from. */
  config: FarmerConfig;
  /** The model of one graph of the manifest, in the form the injected binding opens. */
  graph(entry: GraphEntry): GraphModel | Promise<GraphModel>;
}

/** How the runner is opened: the graphs it needs, how the AF reverse runs, and the providers to try. */
export interface OrtOpenOptions<P extends string = string> extends SessionSettings {
  /** Graphs to open (default both). */
  purposes?: RunnerPurpose[];
  /**
   * How the AF reverse runs: 'block' (default when the export has them):
   * one call per block (the step in an ONNX Loop), progress reported per
   * block; 'step': one call per token with explicit KV caches, progress per
   * token and cancellation between tokens.
   */
  flowReverse?: 'block' | 'step';
  /**
   * Providers to try, best first: the first graph that opens settles the
   * provider for every graph; a failure on a better one is recorded in
   * `skipped` and the next is tried. Default ['cpu'].
   */
  providers?: P[];
  /** What was asked for (reported back in `executionProvider.requested`; default 'auto'). */
  requested?: P | 'auto';
  /** Providers ruled out before any was tried (e.g. CUDA not installed), reported in `executionProvider.skipped`. */
  skipped?: ProviderChoice<P>['skipped'];
}

/** The sessions of a runner. */
interface Graphs {
  flowForward?: OrtGraph;
  flowReverseSteps?: OrtGraph[];
  flowReverseBlocks?: OrtGraph[];
  flowJacobiPasses?: OrtGraph[];
  arForward?: OrtGraph;
  arPrefill?: OrtGraph;
  arStep?: OrtGraph;
  arHeadRedundant?: OrtGraph;
  student?: OrtGraph;
}

/**
 * A FARMER model on onnxruntime, from an export: a `FarmerRunner` (so
 * `generate` from @farmer/sampling runs unchanged) and a `FarmerLikelihood`
 * (so bits/dim do). Written once against onnxruntime-common: the binding
 * (onnxruntime-node through `loadOrtRunner` in `@farmer/onnx/runtime`,
 * onnxruntime-web through `loadWebRunner` in `@farmer/onnx/web`) is
 * injected. Sessions are created once at open, reused by every call, and
 * released by `dispose()`. The samplers' randomness and the GMM math stay
 * in TypeScript; the graphs return raw head outputs.
 */
export class OrtRunner<P extends string = string> implements FarmerRunner, FarmerLikelihood {
  readonly runtime = 'onnxruntime';
  readonly config: FarmerConfig;
  readonly dims: FarmerDims;
  readonly decoders: Decoder[];
  readonly afBlocks?: AfBlockAccess;
  jacobiPlan?: JacobiPlan;
  private disposed = false;

  private constructor(
    private readonly ort: OrtBinding,
    readonly source: OrtExportSource,
    private readonly graphs: Graphs,
    /** The execution provider in use, and those skipped with the reason. */
    readonly executionProvider: ProviderChoice<P>,
  ) {
    this.config = source.config;
    this.dims = farmerDims(this.config);
    const exact = graphs.flowReverseSteps || graphs.flowReverseBlocks;
    this.decoders = exact ? ['flow', ...(graphs.flowJacobiPasses ? (['jacobi'] as const) : []), ...(graphs.student ? (['student'] as const) : [])] : [];
    this.jacobiPlan = source.manifest.jacobiPlan;
    if (exact && graphs.flowJacobiPasses) this.afBlocks = { exact: (t, z, batch) => this.reverseOneBlock(t, z, batch, {}), pass: (t, x, z, batch, tokens) => this.jacobiPass(t, x, z, batch, tokens) };
  }

  /** The export's manifest. */
  get manifest(): OnnxManifest {
    return this.source.manifest;
  }

  /**
   * Opens the sessions of a validated export on the injected binding. A
   * graph that onnxruntime rejects is FARMER_E_CORRUPT naming the file; a
   * provider that fails to start falls back to the next in
   * `options.providers`, and `executionProvider.skipped` says why.
   */
  static async open<P extends string = string>(ort: OrtBinding, source: OrtExportSource, options: OrtOpenOptions<P> = {}): Promise<OrtRunner<P>> {
    const order = options.providers?.length ? options.providers : (['cpu'] as P[]);
    const skipped = [...(options.skipped ?? [])];
    const purposes = new Set(options.purposes ?? ['sample', 'likelihood']);
    const g = source.manifest.graphs;
    const graphs: Graphs = {};
    const opened: OrtGraph[] = [];
    let provider: P | undefined;
    const open = async (entry: GraphEntry): Promise<OrtGraph> => {
      const model = await source.graph(entry);
      let graph: OrtGraph | undefined;
      if (provider) graph = await OrtGraph.open(ort, model, entry, provider, options);
      else {
        // The first graph settles the provider: a failure on a better one (CUDA, WebGPU) is retried on the next.
        for (const p of order) {
          try {
            graph = await OrtGraph.open(ort, model, entry, p, options);
            provider = p;
            break;
          } catch (e) {
            if (p === order[order.length - 1]) throw e;
            skipped.push({ name: p, reason: e instanceof Error ? e.message : String(e) });
          }
        }
      }
      opened.push(graph!);
      return graph!;
    };
    try {
      if (purposes.has('sample')) {
        graphs.arPrefill = await open(g.arPrefill);
        graphs.arStep = await open(g.arStep);
        if (g.arHeadRedundant) graphs.arHeadRedundant = await open(g.arHeadRedundant);
        if (g.flowReverseBlocks && options.flowReverse !== 'step') {
          graphs.flowReverseBlocks = [];
          for (const e of g.flowReverseBlocks) graphs.flowReverseBlocks.push(await open(e));
        } else {
          graphs.flowReverseSteps = [];
          for (const e of g.flowReverseSteps) graphs.flowReverseSteps.push(await open(e));
        }
        if (g.flowJacobiPasses) {
          graphs.flowJacobiPasses = [];
          for (const e of g.flowJacobiPasses) graphs.flowJacobiPasses.push(await open(e));
        }
        if (g.student) graphs.student = await open(g.student);
      }
      if (purposes.has('likelihood')) {
        graphs.flowForward = await open(g.flowForward);
        graphs.arForward = await open(g.arForward);
      }
    } catch (e) {
      await Promise.all(opened.map((s) => s.release()));
      throw e;
    }
    return new OrtRunner(ort, source, graphs, { name: provider ?? order[order.length - 1], requested: options.requested ?? 'auto', skipped });
  }

  private need<K extends keyof Graphs>(key: K, purpose: RunnerPurpose): NonNullable<Graphs[K]> {
    if (this.disposed) throw new FarmerError('FARMER_E_BAD_INPUT', 'this ONNX runner was disposed');
    const g = this.graphs[key];
    if (!g) throw new FarmerError('FARMER_E_BAD_INPUT', `this ONNX runner was opened without '${purpose}' (pass purposes: ['${purpose}'] when loading it)`, { field: 'purposes' });
    return g as NonNullable<Graphs[K]>;
  }

  /** labels [B]: a class or -1 (null label). */
  openArStream(labels: ArrayLike<number>): ArStream {
    return new OrtArStream(this.ort, this.config, this.need('arPrefill', 'sample'), this.need('arStep', 'sample'), this.graphs.arHeadRedundant, labels, labels.length);
  }

  /** Final latents z [B, N, d] (AF order) → patch tokens [B, N, d], by the AF reverse (KV-cached steps) or the student. */
  async decode(z: Float32Array, batch: number, options: DecodeOptions = {}): Promise<Float32Array> {
    const { numTokens: N, tokenDim: d } = this.dims;
    if (z.length !== batch * N * d) throw new FarmerError('FARMER_E_SHAPE', `decode: z has ${z.length} values, expected B·N·d = ${batch}·${N}·${d}`);
    if ((options.decoder ?? 'flow') === 'student') {
      if (!this.graphs.student) throw new FarmerError('FARMER_E_BAD_INPUT', 'this export has no distilled student; run `farmer distill` and export again, or use the flow decoder', { field: 'decoder' });
      const input = new this.ort.Tensor('float32', z, [batch, N, d]);
      const out = await this.need('student', 'sample').run({ z: input });
      const x = Float32Array.from(out.x.data as Float32Array);
      disposeTensors([input, out.x]);
      assertFiniteTokens(x, [batch, N, d], 0, 'reverse');
      return x;
    }
    if (options.decoder === 'jacobi') {
      if (!this.afBlocks) throw new FarmerError('FARMER_E_BAD_INPUT', 'this export has no Jacobi pass graphs (made before they existed); export it again, or use the flow decoder', { field: 'decoder' });
      return decodeByJacobi(this, this.afBlocks, z, batch, options);
    }
    const n = this.config.flow.numBlocks;
    let h = z;
    for (let t = n - 1; t >= 0; t--) h = await this.reverseOneBlock(t, h, batch, options, n - 1 - t);
    return h === z ? z.slice() : h;
  }

  /** Block t's exact inverse: z [B, N, d] → x [B, N, d] (AF order), by its Loop graph or, without one, token by token. */
  private reverseOneBlock(t: number, z: Float32Array, batch: number, options: DecodeOptions, blocksDone = 0): Promise<Float32Array> {
    if (this.graphs.flowReverseBlocks) return this.reverseWholeBlock(this.graphs.flowReverseBlocks[t], t, z, batch, options, blocksDone);
    return this.reverseBlock(this.need('flowReverseSteps', 'sample')[t], t, z, batch, options, blocksDone);
  }

  /** Block t's Jacobi fixed-point map on a working-order prefix of `tokens` tokens: one call of its pass graph. */
  private async jacobiPass(t: number, x: Float32Array, z: Float32Array, batch: number, tokens: number): Promise<Float32Array> {
    const { tokenDim: d } = this.dims;
    const feeds = { x: new this.ort.Tensor('float32', x, [batch, tokens, d]), z: new this.ort.Tensor('float32', z, [batch, tokens, d]) };
    const out = await this.need('flowJacobiPasses', 'sample')[t].run(feeds);
    disposeTensors(Object.values(feeds));
    return out.x_next.data as Float32Array;
  }

  /** Inverts block t in one call of its Loop graph. */
  private async reverseWholeBlock(graph: OrtGraph, t: number, z: Float32Array, batch: number, options: DecodeOptions, blocksDone: number): Promise<Float32Array> {
    const { numTokens: N, tokenDim: d } = this.dims;
    if (options.signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'flow reverse was cancelled');
    const input = new this.ort.Tensor('float32', z, [batch, N, d]);
    const out = await graph.run({ z: input });
    const x = out.x.data as Float32Array;
    disposeTensors([input]);
    assertFiniteTokens(x, [batch, N, d], t, 'reverse');
    options.onProgress?.({ block: t, token: N - 1, tokens: N - 1, blocksDone, blocks: this.config.flow.numBlocks });
    return x;
  }

  /**
   * Inverts block t on the host loop: x_0 = z_0, then for i = 0..N−2 one run
   * of the block's step graph turns (x_i, z_{i+1}) into x_{i+1}, feeding
   * each run's caches and output to the next (docs/method.md §3.3 block inverse).
   */
  private async reverseBlock(step: OrtGraph, t: number, z: Float32Array, batch: number, options: DecodeOptions, blocksDone: number): Promise<Float32Array> {
    const { numTokens: N, tokenDim: d } = this.dims;
    const c = this.config.flow;
    const heads = c.width / c.headDim;
    const out = new Float32Array(z.length);
    // Original index of the token at working position i.
    const orig = (i: number) => (isFlipBlock(t) ? N - 1 - i : i);
    const token = (src: Float32Array, j: number) => {
      const v = new Float32Array(batch * d);
      for (let b = 0; b < batch; b++) v.set(src.subarray((b * N + j) * d, (b * N + j + 1) * d), b * d);
      return v;
    };
    const put = (v: Float32Array, j: number) => {
      for (let b = 0; b < batch; b++) out.set(v.subarray(b * d, (b + 1) * d), (b * N + j) * d);
    };
    put(token(z, orig(0)), orig(0));
    let x: OrtTensor = new this.ort.Tensor('float32', token(z, orig(0)), [batch, d]);
    let past: Record<string, OrtTensor> = {};
    for (let l = 0; l < c.layersPerBlock; l++) {
      const n = kvNames(l);
      past[n.pastK] = new this.ort.Tensor('float32', new Float32Array(0), [batch, heads, 0, c.headDim]);
      past[n.pastV] = new this.ort.Tensor('float32', new Float32Array(0), [batch, heads, 0, c.headDim]);
    }
    try {
      for (let i = 0; i < N - 1; i++) {
        if (options.signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'flow reverse was cancelled');
        const zNext = new this.ort.Tensor('float32', token(z, orig(i + 1)), [batch, d]);
        const r = await step.run({ ...past, x, z_next: zNext });
        disposeTensors([x, zNext, ...Object.values(past)]);
        x = r.x_next;
        put(x.data as Float32Array, orig(i + 1));
        past = {};
        for (let l = 0; l < c.layersPerBlock; l++) {
          const n = kvNames(l);
          past[n.pastK] = r[n.presentK];
          past[n.pastV] = r[n.presentV];
        }
        options.onProgress?.({ block: t, token: i + 1, tokens: N - 1, blocksDone, blocks: c.numBlocks });
      }
    } finally {
      disposeTensors([x, ...Object.values(past)]);
    }
    assertFiniteTokens(out, [batch, N, d], t, 'reverse');
    return out;
  }

  /** AF forward: images float32 NCHW [B, C, H, W] → z [B, N, d] (AF order) and logdets [B, n]. */
  async flowForward(images: Float32Array, batch: number): Promise<FlowForwardOutputs> {
    const f = this.config.flow;
    const size = batch * f.inChannels * f.imageSize * f.imageSize;
    if (images.length !== size) throw new FarmerError('FARMER_E_SHAPE', `images have ${images.length} values, expected B·C·H·W = ${batch}·${f.inChannels}·${f.imageSize}·${f.imageSize}`);
    const input = new this.ort.Tensor('float32', images, [batch, f.inChannels, f.imageSize, f.imageSize]);
    const out = await this.need('flowForward', 'likelihood').run({ images: input });
    const r = { z: out.z.data as Float32Array, logdets: out.logdets.data as Float32Array };
    disposeTensors([input]);
    return r;
  }

  /**
   * AR teacher-forced pass: zI [B, N, d_I] (AR order) → raw heads:
   * informative [B, N, K_I(1+2d_I)] and redundant [B, K_R(1+2d_R)] (d_R > 0).
   */
  async arHeads(zI: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<{ informative: Float32Array; redundant?: Float32Array }> {
    const { numTokens: N, dI } = this.dims;
    if (zI.length !== batch * N * dI) throw new FarmerError('FARMER_E_SHAPE', `AR input has ${zI.length} values, expected B·N·d_I = ${batch}·${N}·${dI}`);
    const feeds = {
      z_informative: new this.ort.Tensor('float32', zI, [batch, N, dI]),
      class_row: new this.ort.Tensor('int64', classRows(labels, batch, this.config.numClasses), [batch]),
    };
    const out = await this.need('arForward', 'likelihood').run(feeds);
    disposeTensors(Object.values(feeds));
    return { informative: out.head_informative.data as Float32Array, redundant: out.head_redundant?.data as Float32Array | undefined };
  }

  /** The AR terms (docs/method.md §5.1 joint loss) of AR-ordered latents zAr [B, N, d] under labels [B] (null: the null label): AR on ORT, GMM math on the host. */
  async arLogLik(zAr: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<ArLogLik> {
    const heads = await this.arHeads(informativePart(zAr, batch * this.dims.numTokens, this.dims.tokenDim, this.dims.dI), batch, labels);
    return arLogLikFromHeads(this.config, zAr, batch, heads);
  }

  /** The joint NLL (docs/method.md §5.1 joint loss) of images float32 NCHW [B, C, H, W] in [-1, 1]: AF forward + AR on ORT, GMM math on the host. */
  async nll(images: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<HostNll> {
    const { numTokens: N, tokenDim: d } = this.dims;
    const { z, logdets } = await this.flowForward(images, batch);
    return jointNllHost(this.config, batch, await this.arLogLik(toArOrderHost(this.config, z, batch, N, d), batch, labels), logdets);
  }

  /** Releases every session; the runner is unusable afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const all = [this.graphs.flowForward, ...(this.graphs.flowReverseSteps ?? []), ...(this.graphs.flowReverseBlocks ?? []), ...(this.graphs.flowJacobiPasses ?? []), this.graphs.arForward, this.graphs.arPrefill, this.graphs.arStep, this.graphs.arHeadRedundant, this.graphs.student];
    await Promise.all(all.map((g) => g?.release()));
  }
}

/** The first d_I channels of each of `rows` tokens [rows, d] → [rows, d_I] (docs/method.md §4.1 channel split). */
function informativePart(z: Float32Array, rows: number, d: number, dI: number): Float32Array {
  if (dI === d) return z;
  const out = new Float32Array(rows * dI);
  for (let r = 0; r < rows; r++) out.set(z.subarray(r * d, r * d + dI), r * dI);
  return out;
}
