/**
 * One item of work: its input, how it may share a pass (`batch`), and the
 * pass that runs it (`run` of the first item serves every item it gathers,
 * so equal keys must mean equal runs).
 */
export interface PassItem<I, O> {
  input: I;
  /** Items with equal `key` may share one pass of at most `capacity` in total `size`; none: a pass of its own. */
  batch?: { key: string; size: number; capacity: number };
  /** Lower goes first (default 0); equal priorities keep their order. */
  priority?: number;
  /** Runs one pass over the inputs of every item batched with this one; returns one output per input, in order. */
  run: (inputs: I[]) => Promise<O[]>;
}

interface Waiting<I, O> {
  item: PassItem<I, O>;
  resolve: (r: { value: O; pass: PassInfo }) => void;
  reject: (e: unknown) => void;
}

/** A pass that ran: its number and how many items it served. */
export interface PassInfo {
  id: number;
  items: number;
}

/**
 * Runs one pass at a time (a process computes one batch at a time anyway),
 * taking the first waiting item by priority and every compatible item behind
 * it, up to the item's capacity, as the in-process server's queue does. A
 * pass with room waits `windowMs` for more compatible items before it
 * starts. Result i of a pass answers item i; a pass that throws rejects all
 * of its items.
 */
export class PassBatcher<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private busy = false;
  private nextPass = 1;

  constructor(private readonly options: { windowMs: number; onPass?: (pass: PassInfo) => void } = { windowMs: 5 }) {}

  /** Items waiting for a pass. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Queues `item`; resolves with its result and the pass that served it. */
  submit(item: PassItem<I, O>): Promise<{ value: O; pass: PassInfo }> {
    return new Promise((resolve, reject) => {
      const at = this.waiting.findIndex((w) => (w.item.priority ?? 0) > (item.priority ?? 0));
      const w: Waiting<I, O> = { item, resolve, reject };
      if (at < 0) this.waiting.push(w);
      else this.waiting.splice(at, 0, w);
      void this.pump();
    });
  }

  private take(): Waiting<I, O>[] {
    const head = this.waiting.shift()!;
    const members = [head];
    const b = head.item.batch;
    if (!b) return members;
    let size = b.size;
    for (let i = 0; i < this.waiting.length && size < b.capacity; ) {
      const w = this.waiting[i].item.batch;
      if (w && w.key === b.key && size + w.size <= b.capacity) {
        members.push(...this.waiting.splice(i, 1));
        size += w.size;
      } else i++;
    }
    return members;
  }

  private async pump(): Promise<void> {
    if (this.busy || this.waiting.length === 0) return;
    this.busy = true;
    try {
      const head = this.waiting[0].item;
      // Room left and nothing else to gather yet: give compatible items a moment to arrive.
      if (head.batch && head.batch.size < head.batch.capacity && this.options.windowMs > 0) await new Promise((r) => setTimeout(r, this.options.windowMs));
      const members = this.take();
      const pass: PassInfo = { id: this.nextPass++, items: members.length };
      this.options.onPass?.(pass);
      try {
        const values = await members[0].item.run(members.map((m) => m.item.input));
        if (values.length !== members.length) throw new Error(`internal: a pass of ${members.length} items returned ${values.length} results`);
        members.forEach((m, i) => m.resolve({ value: values[i], pass }));
      } catch (e) {
        for (const m of members) m.reject(e);
      }
    } finally {
      this.busy = false;
    }
    void this.pump();
  }
}
