/**
 * A progress bar on stderr. On a terminal it redraws one line; otherwise (a
 * pipe, CI, tests) it prints a line at most every 10% or 5 s, so logs stay short.
 */
export class ProgressBar {
  private value = 0;
  private readonly start = Date.now();
  private lastLine = 0;
  private lastPct = -1;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly label: string,
    private total: number,
    private readonly unit: string,
    private readonly silent: boolean,
  ) {
    this.tty = Boolean((out as NodeJS.WriteStream).isTTY);
  }

  setTotal(total: number): void {
    this.total = total;
  }

  private first?: number;

  /** `etaSeconds`: the caller's own estimate (e.g. a resumed run's), else one from this bar's rate. */
  update(value: number, info = '', etaSeconds?: number): void {
    this.value = value;
    if (this.silent) return;
    this.first ??= value;
    const pct = this.total > 0 ? Math.min(1, value / this.total) : 0;
    const elapsed = (Date.now() - this.start) / 1000;
    const done = value - this.first;
    const eta = etaSeconds ?? (done > 0 ? (elapsed / done) * (this.total - value) : NaN);
    const width = 24;
    const bar = '█'.repeat(Math.round(pct * width)).padEnd(width, '░');
    const line = `${this.label} ${bar} ${value}/${this.total}${this.unit ? ` ${this.unit}` : ''} ${(pct * 100).toFixed(0)}% ${info} ETA ${formatSeconds(eta)}`;
    if (this.tty) {
      this.out.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1)}\x1b[K`);
      return;
    }
    const step = Math.floor(pct * 10);
    if (step > this.lastPct || Date.now() - this.lastLine > 5000) {
      this.lastPct = step;
      this.lastLine = Date.now();
      this.out.write(`${line}\n`);
    }
  }

  stop(message?: string): void {
    if (this.silent) return;
    if (this.tty) this.out.write('\r\x1b[K');
    if (message) this.out.write(`${message}\n`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
