import { join } from 'node:path';
import { FarmerError } from '@farmer/core';
import * as ort from 'onnxruntime-node';
import type { GraphEntry } from '../manifest.js';
import type { ExecutionProviderName } from './execution-provider.js';

/** Session settings shared by every graph of a runner. */
export interface SessionSettings {
  /** onnxruntime intra-op threads (default: onnxruntime's, one per physical core). */
  intraOpNumThreads?: number;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].replace(/\.$/, '');
}

/**
 * One exported graph and its onnxruntime session, created once and reused
 * for every run, released by `release()`.
 */
export class OrtGraph {
  private constructor(
    private session: ort.InferenceSession | null,
    readonly entry: GraphEntry,
    readonly path: string,
    readonly provider: ExecutionProviderName,
  ) {}

  /**
   * Opens `entry.file` of the export folder `dir` on `provider`. A graph
   * that onnxruntime rejects, or whose inputs/outputs differ from the
   * manifest, is a FARMER_E_CORRUPT naming the file (the runner retries a
   * CUDA failure on the CPU before deciding which it was).
   */
  static async open(dir: string, entry: GraphEntry, provider: ExecutionProviderName, settings: SessionSettings = {}): Promise<OrtGraph> {
    const path = join(dir, entry.file);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // Step graphs see a new cache length on every run: a memory pattern would be planned for nothing.
        enableMemPattern: false,
        // Many small runs from one thread: spinning pool threads would steal the cores the next run needs.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
        logSeverityLevel: 3,
        ...(settings.intraOpNumThreads !== undefined ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
      });
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
  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (!this.session) throw new FarmerError('FARMER_E_BAD_INPUT', `the ONNX session of ${this.entry.file} was released (the runner was disposed)`);
    try {
      return (await this.session.run(feeds)) as Record<string, ort.Tensor>;
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

/** Disposes ORT tensors (a no-op for CPU tensors beyond dropping their data, but the contract for GPU ones). */
export function disposeTensors(ts: Iterable<ort.Tensor | undefined>): void {
  for (const t of ts) t?.dispose();
}
