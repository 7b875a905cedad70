import { describeBackend, initBackend, type BackendInfo, type BackendName } from '@farmer/core';
import { ProgressBar } from './progress.js';

/** Global options every command sees. */
export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  backend?: BackendName | 'auto';
}

/**
 * What commands use to talk to the user: results go to stdout (text or
 * JSON), progress and notes to stderr, and nothing but errors with --quiet.
 */
export class CliContext {
  backend?: BackendInfo;

  constructor(
    readonly opts: GlobalOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  async initBackend(): Promise<BackendInfo> {
    this.backend ??= await initBackend({ backend: this.opts.backend });
    this.note(describeBackend(this.backend));
    return this.backend;
  }

  /** A note on stderr (hidden by --quiet and --json). */
  note(text: string): void {
    if (!this.opts.quiet && !this.opts.json) this.stderr.write(`${text}\n`);
  }

  /** The command's result: `text` normally, `data` as one JSON document with --json. */
  result(text: string, data: unknown): void {
    if (this.opts.json) this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else if (!this.opts.quiet) this.stdout.write(`${text}\n`);
  }

  progress(label: string, total: number, unit = ''): ProgressBar {
    return new ProgressBar(this.stderr, label, total, unit, Boolean(this.opts.quiet || this.opts.json));
  }
}
