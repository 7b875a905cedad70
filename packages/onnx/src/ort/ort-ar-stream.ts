import { farmerDims, headOutputToGmm, type ArStream, type FarmerConfig, type StepGmm } from '@farmer/ar-gmm/browser';
import { FarmerError } from '@farmer/core/browser';
import { classRows } from '../class-rows.js';
import { kvNames } from '../io-names.js';
import { disposeTensors, type OrtBinding, type OrtTensor } from './ort-binding.js';
import type { OrtGraph } from './ort-graph.js';

/**
 * An AR stream on onnxruntime (the twin of @farmer/ar-gmm's TfArStream): one
 * label per row, the KV caches held as ORT tensors and passed explicitly to
 * each run (`present_*` outputs become the next `past_*` inputs). `first()`
 * runs ar-prefill and returns G_1; each `next(zI)` runs ar-step and returns
 * G_{i+1}, or after the N-th token the shared redundant GMM (ar-step's
 * `hidden` through ar-head-redundant). The raw head
 * outputs become GMMs on the host (`headOutputToGmm`). Dispose when done.
 * Tensors are made by the injected binding (onnxruntime-node or -web).
 */
export class OrtArStream implements ArStream {
  private past: Record<string, OrtTensor> = {};
  private fed = -1;
  private readonly rows: BigInt64Array;
  private readonly dims: ReturnType<typeof farmerDims>;

  constructor(
    private readonly ort: OrtBinding,
    private readonly config: FarmerConfig,
    private readonly prefill: OrtGraph,
    private readonly step: OrtGraph,
    private readonly headRedundant: OrtGraph | undefined,
    labels: ArrayLike<number>,
    readonly batch: number,
  ) {
    this.rows = classRows(labels, batch, config.numClasses);
    this.dims = farmerDims(config);
  }

  /** Tokens fed so far. */
  get position(): number {
    return Math.max(this.fed, 0);
  }

  private keepPresent(out: Record<string, OrtTensor>): void {
    disposeTensors(Object.values(this.past));
    this.past = {};
    for (let l = 0; l < this.config.ar.layers; l++) {
      const n = kvNames(l);
      this.past[n.pastK] = out[n.presentK];
      this.past[n.pastV] = out[n.presentV];
    }
  }

  private gmm(raw: OrtTensor, kind: StepGmm['kind']) {
    const { dI, dR } = this.dims;
    const a = this.config.ar;
    return kind === 'informative'
      ? headOutputToGmm(raw.data as Float32Array, this.batch, a.componentsInformative, dI, a.sigmaMin)
      : headOutputToGmm(raw.data as Float32Array, this.batch, a.componentsRedundant, dR, a.sigmaMin);
  }

  /** Prefills the class prefix; returns G_1 (token 0's GMM). */
  async first(): Promise<StepGmm> {
    if (this.fed !== -1) throw new FarmerError('FARMER_E_INTERNAL', 'first() was already called on this stream');
    const classRow = new this.ort.Tensor('int64', this.rows, [this.batch]);
    const out = await this.prefill.run({ class_row: classRow });
    classRow.dispose();
    this.keepPresent(out);
    this.fed = 0;
    const gmm = this.gmm(out.head, 'informative');
    out.head.dispose();
    return { kind: 'informative', token: 0, gmm };
  }

  /** Feeds token i's informative part zI [B·d_I]; returns the next GMM. */
  async next(zI: Float32Array): Promise<StepGmm> {
    const { numTokens: N, dI, dR } = this.dims;
    if (this.fed < 0) throw new FarmerError('FARMER_E_INTERNAL', 'call first() before next()');
    if (this.fed >= N) throw new FarmerError('FARMER_E_INTERNAL', `all ${N} tokens were already fed`);
    if (zI.length !== this.batch * dI) throw new FarmerError('FARMER_E_SHAPE', `next() takes B·d_I = ${this.batch * dI} values, got ${zI.length}`);
    const i = this.fed;
    if (i === N - 1 && dR === 0) throw new FarmerError('FARMER_E_INTERNAL', 'this model has no redundant group: the last token needs no next GMM');
    const zt = new this.ort.Tensor('float32', zI, [this.batch, dI]);
    const out = await this.step.run({ ...this.past, z_informative: zt });
    zt.dispose();
    this.keepPresent(out);
    this.fed = i + 1;
    try {
      if (i < N - 1) return { kind: 'informative', token: i + 1, gmm: this.gmm(out.head, 'informative') };
      if (!this.headRedundant) throw new FarmerError('FARMER_E_INTERNAL', 'the export has no redundant-head graph');
      const r = await this.headRedundant.run({ hidden: out.hidden });
      const gmm = this.gmm(r.head, 'redundant');
      r.head.dispose();
      return { kind: 'redundant', token: N, gmm };
    } finally {
      disposeTensors([out.head, out.hidden]);
    }
  }

  /** Releases the stream's KV-cache tensors. */
  dispose(): void {
    disposeTensors(Object.values(this.past));
    this.past = {};
  }
}
