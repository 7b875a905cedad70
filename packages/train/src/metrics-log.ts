import { appendFileSync, existsSync, promises as fs, rmSync } from 'node:fs';

/**
 * A run's metrics.jsonl: one JSON event per line, appended as it happens,
 * so a killed run loses no line it reported. A resume first drops the lines
 * past its checkpoint's step, so no step is recorded twice.
 */
export class MetricsLog {
  constructor(readonly file: string) {}

  /** Appends one event as a JSON line. */
  append(event: object): void {
    appendFileSync(this.file, `${JSON.stringify(event)}\n`);
  }

  /** Drops every line: a run started over in the same directory. */
  clear(): void {
    rmSync(this.file, { force: true });
  }

  /** Drops the lines after `step` (and any torn last line). */
  async truncateAfter(step: number): Promise<void> {
    if (!existsSync(this.file)) return;
    const lines = (await fs.readFile(this.file, 'utf8')).split('\n').filter(Boolean);
    const keep = lines.filter((l) => {
      try {
        return (JSON.parse(l) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
    await fs.writeFile(this.file, keep.map((l) => `${l}\n`).join(''));
  }
}
