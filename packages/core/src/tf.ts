/**
 * The one TensorFlow.js instance every farmer package uses. `@tensorflow/tfjs`
 * (rather than bare tfjs-core) is imported because only it registers the
 * gradient functions that training needs.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;
