import { createHash } from 'node:crypto';
import { toFloat32, validate, type TensorMap } from '@farmer/core';
import { FlowConfigSchema } from './config.js';
import { FLOW_PREFIX } from './flow-checkpoint.js';
import { z } from 'zod';

/** The `format` of a student's `meta.student` entry. */
export const STUDENT_FORMAT = 'farmer-student';
/** The version of the student format this code writes; a newer one is refused. */
export const STUDENT_FORMAT_VERSION = 1;

/** Checkpoint parts of a student: the weights, and (in a distillation run) its EMA and optimizer state. */
export const STUDENT_PARTS = { weights: 'student', ema: 'student-ema', optimizer: 'student-optimizer' } as const;

/**
 * The student's entry in a checkpoint's `config.json`, under `meta.student`
 * (the `model` section belongs to FarmerConfigSchema, which is strict, and
 * `training` to the run that wrote the checkpoint).
 */
export const StudentMetaSchema = z
  .object({
    format: z.literal(STUDENT_FORMAT),
    version: z.number().int().positive(),
    /** The student's architecture: always the teacher AF's config. */
    flow: FlowConfigSchema,
    /** Tensor-name prefix inside student.safetensors. */
    prefix: z.literal('student.'),
    /** The teacher AF this student inverts. */
    teacher: z
      .object({
        /** Which part of this checkpoint holds that teacher ('model' or 'ema'). */
        part: z.enum(['model', 'ema']),
        /** SHA-256 over the teacher's `flow.*` weights (names, shapes, float32 values); see `flowFingerprint`. */
        flowFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
        /** Where the teacher was read from (provenance; `distill` attaches the student there on request). */
        source: z.string().optional(),
        /** Which part of `source` ('model' or 'ema'). */
        sourcePart: z.enum(['model', 'ema']).optional(),
      })
      .strict(),
    /** How the student was made: distillation settings and the step reached (provenance only). */
    distill: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
/** A student's `meta.student` entry in `config.json`, as validated by {@link StudentMetaSchema} (docs/method.md §9.5 student parts). */
export type StudentMeta = z.infer<typeof StudentMetaSchema>;

/** Validates a `meta.student` entry; errors name the file and each bad field. */
export function parseStudentMeta(value: unknown, source: string): StudentMeta {
  return validate(value, source, StudentMetaSchema, 'FARMER_E_CORRUPT');
}

/**
 * A fingerprint of AF weights: SHA-256 over every `flow.*` tensor (sorted
 * names, shapes and float32 values), so it does not depend on how a file
 * encoded them. Binds a student to the teacher it inverts. Takes a
 * checkpoint part (other tensors are ignored) or `flow.params.toTensorMap('flow.')`.
 */
export function flowFingerprint(map: TensorMap): string {
  const h = createHash('sha256');
  for (const name of Object.keys(map).filter((k) => k.startsWith(FLOW_PREFIX)).sort()) {
    const t = map[name];
    const values = toFloat32(t);
    h.update(`${name}:${t.shape.join('x')};`);
    h.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return h.digest('hex');
}
