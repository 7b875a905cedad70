import { gatherExamples, noisyImages, Rng, tf, type ImageDataset } from '@farmer/core';
import type { Flow, Student } from '@farmer/flow';
import { teacherLatents } from './distill-loss.js';

/** How close the student's one-pass inverse comes to the teacher's (docs/method.md §8.4 student evaluation). */
export interface StudentEvalResult {
  /** Mean over images, tokens and dims of (student(Z^n) − Z^0)² in [-1, 1] space. */
  mse: number;
  /** Mean absolute error, same elements. */
  mae: number;
  images: number;
}

/** Options of {@link evaluateStudent}. */
export interface EvaluateStudentOptions {
  /** Evaluate only the first N images (0 = all). */
  maxImages?: number;
  batchSize?: number;
  /** Seed of the dequantisation noise (same seed, same figure). */
  seed?: number;
  /** 'uniform' (default) dequantises the pixels as in training; 'none' uses them as they are. */
  dataNoise?: 'uniform' | 'none';
  signal?: AbortSignal;
}

/**
 * How well the student inverts the teacher on held-out data: the teacher
 * encodes each image to Z^n (exactly, no latent noise), the student decodes
 * Z^n in one pass, and the result is compared with Z^0, the patch tokens
 * that the teacher's exact inverse returns.
 */
export async function evaluateStudent(teacher: Flow, student: Student, ds: ImageDataset, options: EvaluateStudentOptions = {}): Promise<StudentEvalResult> {
  const total = options.maxImages ? Math.min(options.maxImages, ds.images.count) : ds.images.count;
  const bs = options.batchSize ?? 64;
  const rng = new Rng(`distill-eval:${options.seed ?? 0}`);
  let se = 0;
  let ae = 0;
  let count = 0;
  let images = 0;
  for (let start = 0; start < total; start += bs) {
    if (options.signal?.aborted) break;
    const idx = Int32Array.from({ length: Math.min(bs, total - start) }, (_, i) => start + i);
    const { images: im } = gatherExamples(ds, idx);
    const { values } = noisyImages(im, { mode: options.dataNoise ?? 'uniform' }, rng);
    const targets = teacherLatents(teacher, values, [im.count, im.channels, im.height, im.width]);
    const [s, a] = tf.tidy(() => {
      const diff = tf.sub(student.decode(targets[targets.length - 1]), targets[0]);
      return [tf.sum(tf.square(diff)).dataSync()[0], tf.sum(tf.abs(diff)).dataSync()[0]];
    });
    se += s;
    ae += a;
    count += targets[0].size;
    images += im.count;
    tf.dispose(targets);
    await new Promise((r) => setImmediate(r));
  }
  return { mse: se / count, mae: ae / count, images };
}
