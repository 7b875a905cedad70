import { normalTensor, Rng, tf } from '@farmer/core';
import { Flow, type FlowConfigInput } from '../src/index.js';

/**
 * A flow with random, non-trivial weights at scales that keep exp(α) in a
 * moderate range, so inversion and Jacobian tests are meaningful.
 */
export function randomFlow(config: FlowConfigInput, seed = 1, outScale = 0.1): Flow {
  const flow = Flow.create(config, seed);
  const rng = new Rng(`randomize:${seed}`);
  for (const name of flow.params.names()) {
    const v = flow.params.get(name);
    const std = /proj_out/.test(name) ? outScale / Math.sqrt(config.width) : /norm\.weight/.test(name) ? 0.1 : /\.weight$/.test(name) ? 1 / Math.sqrt(v.shape[0]) : 0.1;
    const mean = /norm\.weight/.test(name) ? 1 : 0;
    const t = tf.tidy(() => tf.add(normalTensor(rng, v.shape, std), mean));
    v.assign(t);
    t.dispose();
  }
  return flow;
}
