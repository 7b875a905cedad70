/**
 * Where an AF reverse is, reported after every token (or every block, for
 * runtimes that invert a block in one call): block t and its token, and how
 * many of the n blocks are done.
 */
export interface FlowReverseProgress {
  block: number;
  token: number;
  tokens: number;
  blocksDone: number;
  blocks: number;
}
