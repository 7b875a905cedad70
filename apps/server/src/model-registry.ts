import { basename } from 'node:path';
import type { FarmerLikelihood, FarmerRunner, ModelCapabilities } from '@farmer/ar-gmm';
import { openModel, type ModelSource, type RuntimeChoice } from '@farmer/runtime';
import { isFarmerError, type FarmerErrorCode } from '@farmer/core';

/** Which models a directory holds is decided by @farmer/runtime (workers read the same folders). */
export { discoverModels, MODEL_NAME_PATTERN, type ModelSource } from '@farmer/runtime';

/**
 * Opens one checkpoint directory, giving what it can do: the registry's
 * only seam to a runtime. The default is @farmer/runtime's `openModel`
 * ({@link runtimeOpener}); any opener plugs in here. Its `runner` (any
 * FarmerRunner) serves generate; its `likelihood`, when it gives one, serves
 * likelihood and classify (without one they are FARMER_E_UNSUPPORTED). The
 * runner's `dispose()` frees the model. `context.notice` takes one-line
 * notices for the log (an export made on first use, a fallback to tfjs and why).
 */
export type OpenRunner = (dir: string, context?: { notice(line: string): void }) => Promise<ModelCapabilities>;

/** An opener through @farmer/runtime's `openModel` with the given runtime choice (see RUNTIME_CHOICES): the sampler and the likelihood. */
export function runtimeOpener(runtime: RuntimeChoice = 'auto'): OpenRunner {
  return (dir, context) => openModel(dir, { runtime, likelihood: true, onNotice: context?.notice });
}

/** The default opener: `auto` (onnxruntime whenever it loads, exporting on first use; else tfjs). */
export const defaultOpenRunner: OpenRunner = runtimeOpener('auto');

/** Where a model is: still loading, serving, or failed to load. */
export type ModelStatus = 'loading' | 'ready' | 'failed';

/** One model in the registry. `runner` (and `likelihood`, when the model has one) is set once ready; `error` once failed. */
export interface ModelEntry {
  readonly name: string;
  readonly dir: string;
  status: ModelStatus;
  /** The sampler. */
  runner?: FarmerRunner;
  /** The likelihood, when the opener gave one. */
  likelihood?: FarmerLikelihood;
  error?: { code: FarmerErrorCode; message: string };
  loadSeconds?: number;
}

/** What loading found: the models that serve, and those that failed with why. */
export interface LoadReport {
  ready: string[];
  failed: { name: string; dir: string; code: FarmerErrorCode; message: string }[];
}

/**
 * A load error as anonymous clients see it: the model's directory shown as
 * the model's name, and any other absolute path (a cache, a parent folder)
 * by its last part only. The log keeps the full message.
 */
export function publicMessage(message: string, entry: { name: string; dir: string }): string {
  return message
    .split(entry.dir)
    .join(entry.name)
    .replace(/(?:[A-Za-z]:)?(?:[\\/][^\\/\s'"`():;,]+){2,}/g, (path) => `…/${basename(path)}`);
}

/** Minimal logger the registry reports through (fastify's pino fits). */
export interface RegistryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The served models, by name. Loads each source through `openRunner`, one
 * after the other; a model that fails is kept as `failed` with its error
 * (visible in GET /v1/models and the load report) and the rest still serve.
 */
export class ModelRegistry {
  private readonly models = new Map<string, ModelEntry>();
  private loading?: Promise<LoadReport>;
  private finished = false;

  constructor(
    sources: readonly ModelSource[],
    private readonly openRunner: OpenRunner = defaultOpenRunner,
    private readonly log?: RegistryLog,
  ) {
    for (const s of sources) this.models.set(s.name, { name: s.name, dir: s.dir, status: 'loading' });
  }

  /** Loads every model (once; later calls return the same report). Never rejects. */
  load(prepare?: () => Promise<unknown>): Promise<LoadReport> {
    this.loading ??= this.loadAll(prepare);
    return this.loading;
  }

  private async loadAll(prepare?: () => Promise<unknown>): Promise<LoadReport> {
    let setupError: unknown;
    try {
      await prepare?.();
    } catch (e) {
      setupError = e;
    }
    for (const entry of this.models.values()) {
      const t0 = performance.now();
      try {
        if (setupError) throw setupError;
        const opened = await this.openRunner(entry.dir, { notice: (line) => this.log?.info({ model: entry.name }, line) });
        entry.runner = opened.runner;
        entry.likelihood = opened.likelihood;
        entry.status = 'ready';
        entry.loadSeconds = (performance.now() - t0) / 1000;
        this.log?.info({ model: entry.name, dir: entry.dir, seconds: entry.loadSeconds, runtime: entry.runner.runtime }, 'model loaded');
      } catch (e) {
        entry.status = 'failed';
        entry.error = isFarmerError(e) ? { code: e.code, message: e.message } : { code: 'FARMER_E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
        this.log?.warn({ model: entry.name, dir: entry.dir, code: entry.error.code, err: entry.error.message }, 'model failed to load; the others still serve');
      }
    }
    this.finished = true;
    return this.report();
  }

  /** True once every model finished loading (successfully or not). */
  get loaded(): boolean {
    return this.finished;
  }

  /** True once loading finished with at least one model ready. */
  get ready(): boolean {
    return this.finished && this.entries().some((e) => e.status === 'ready');
  }

  /** The model of that name, if any. */
  get(name: string): ModelEntry | undefined {
    return this.models.get(name);
  }

  /** Every model, in the order they were discovered. */
  entries(): ModelEntry[] {
    return [...this.models.values()];
  }

  /** Which models are ready, loading and failed (with why). */
  report(): LoadReport {
    const all = this.entries();
    return {
      ready: all.filter((e) => e.status === 'ready').map((e) => e.name),
      failed: all.filter((e) => e.status === 'failed').map((e) => ({ name: e.name, dir: e.dir, code: e.error!.code, message: e.error!.message })),
    };
  }

  /** Frees every runner (after loading settles, so none is left half-open). */
  async dispose(): Promise<void> {
    if (this.loading) await this.loading;
    for (const e of this.models.values()) {
      await e.runner?.dispose?.();
      e.runner = undefined;
      e.likelihood = undefined;
      if (e.status === 'ready') e.status = 'failed';
      e.error ??= { code: 'FARMER_E_ABORTED', message: 'the server closed' };
    }
  }
}
