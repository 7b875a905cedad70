import { FarmerError } from '@farmer/core/browser';
import type { GraphEntry } from '../manifest.js';
import type { OrtBinding, OrtExternalData, OrtSession, OrtSessionOptions, OrtTensor } from './ort-binding.js';

/** Session settings shared by every graph of a runner. */
export interface SessionSettings {
  /** onnxruntime intra-op threads (default: onnxruntime's, one per physical core; onnxruntime-web sets threads globally instead). */
  intraOpNumThreads?: number;
}

/**
 * One graph's model as `InferenceSession.create` takes it: a file path
 * (onnxruntime-node finds the weights file beside it) or the graph's bytes
 * with its weights file passed as external data (onnxruntime-web).
 */
export interface GraphModel {
  /** The file or URL, for messages. */
  location: string;
  model: string | Uint8Array;
  externalData?: OrtExternalData;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].replace(/\.$/, '');
}

/**
 * One exported graph and its onnxruntime session, created once and reused
 * for every run, released by `release()`. Whichever binding opened it.
 */
export class OrtGraph {
  private constructor(
    private session: OrtSession | null,
    readonly entry: GraphEntry,
    readonly path: string,
    readonly provider: string,
  ) {}

  /**
   * Opens one graph of an export on `provider`. A graph that onnxruntime
   * rejects, or whose inputs/outputs differ from the manifest, is a
   * FARMER_E_CORRUPT naming the file (the runner retries a failure of a
   * better provider on the next one before deciding which it was).
   */
  static async open(ort: OrtBinding, graph: GraphModel, entry: GraphEntry, provider: string, settings: SessionSettings = {}): Promise<OrtGraph> {
    const path = graph.location;
    const options: OrtSessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
      // Step graphs see a new cache length on every run: a memory pattern would be planned for nothing.
      enableMemPattern: false,
      // Many small runs from one thread: spinning pool threads would steal the cores the next run needs.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      logSeverityLevel: 3,
      ...(graph.externalData ? { externalData: graph.externalData } : {}),
      ...(settings.intraOpNumThreads !== undefined ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
    };
    let session: OrtSession;
    try {
      session = typeof graph.model === 'string' ? await ort.InferenceSession.create(graph.model, options) : await ort.InferenceSession.create(graph.model, options);
    } catch (e) {
      throw new FarmerError(
        'FARMER_E_CORRUPT',
        `onnxruntime rejected ${path}: ${firstLine(e)}; re-export the model with \`farmer export onnx\``,
        { file: path, provider },
        { cause: e },
      );
    }
    const want = (xs: { name: string }[]) => xs.map((x) => x.name).sort().join(', ');
    const got = (xs: readonly string[]) => [...xs].sort().join(', ');
    if (want(entry.inputs) !== got(session.inputNames) || want(entry.outputs) !== got(session.outputNames)) {
      await session.release();
      throw new FarmerError(
        'FARMER_E_CORRUPT',
        `${path} does not match its manifest entry (inputs [${got(session.inputNames)}], outputs [${got(session.outputNames)}]); re-export the model`,
        { file: path },
      );
    }
    return new OrtGraph(session, entry, path, provider);
  }

  /** Runs the graph. A failure at run time (a bug, or out of memory) names the graph. */
  async run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    if (!this.session) throw new FarmerError('FARMER_E_BAD_INPUT', `the ONNX session of ${this.entry.file} was released (the runner was disposed)`);
    try {
      return (await this.session.run(feeds)) as Record<string, OrtTensor>;
    } catch (e) {
      throw new FarmerError('FARMER_E_INTERNAL', `onnxruntime failed running ${this.entry.file}: ${firstLine(e)}`, { file: this.path }, { cause: e });
    }
  }

  async release(): Promise<void> {
    const s = this.session;
    this.session = null;
    await s?.release();
  }
}
