import type { FarmerLikelihood } from './likelihood-interface.js';
import type { FarmerRunner } from './runner-interface.js';

/**
 * What an opened model can do, decided when it is opened rather than
 * guessed later from an object's shape: it always samples (`runner`), and
 * it scores images (`likelihood`: bits/dim, classification) only when it
 * was opened for that. Both may be one object (`TfRunner` and `OrtRunner`
 * implement both interfaces); holding `likelihood` is what says it works.
 */
export interface ModelCapabilities {
  /** The sampler: AR streams and decoders, what `generate` of @farmer/sampling runs on. */
  readonly runner: FarmerRunner;
  /** The joint likelihood (docs/method.md §5.1 joint loss), present only when the model was opened for one. */
  readonly likelihood?: FarmerLikelihood;
}
