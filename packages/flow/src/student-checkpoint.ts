import { FarmerError, readCheckpoint, resolveCheckpointDir, writeCheckpoint, type LoadedCheckpoint, type TensorMap } from '@farmer/core';
import { parseFlowConfig } from './config.js';
import { flowConfigOf } from './flow-checkpoint.js';
import { flowFingerprint, parseStudentMeta, STUDENT_FORMAT, STUDENT_FORMAT_VERSION, STUDENT_PARTS, type StudentMeta } from './student-meta.js';
import { Student } from './student.js';

/** Options of {@link loadStudent}. */
export interface LoadStudentOptions {
  /** Take the student's EMA weights (`student-ema.safetensors`) when the checkpoint has them (default true). */
  ema?: boolean;
  /** Check that the checkpoint's teacher AF is the one the student was distilled from (default true). */
  verifyTeacher?: boolean;
}

/** The validated `meta.student` of a checkpoint, or undefined when it has no student. */
export function studentMetaOf(ck: Pick<LoadedCheckpoint, 'dir' | 'config' | 'parts'>): StudentMeta | undefined {
  const raw = ck.config.meta?.student;
  if (raw === undefined) return undefined;
  const meta = parseStudentMeta(raw, `${ck.dir}/config.json meta.student`);
  if (!ck.parts.includes(STUDENT_PARTS.weights)) {
    throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir}/config.json describes a student but the checkpoint has no ${STUDENT_PARTS.weights}.safetensors`, { file: ck.dir });
  }
  return meta;
}

/**
 * The weights a checkpoint runs inference with: those its student was
 * distilled from when it has one, so that both decoders invert the same AF
 * (docs/method.md §9.5 student parts); else the EMA weights when present;
 * else the raw ones. The tfjs runner and the ONNX export both take this part.
 */
export function inferenceWeightsPart(ck: Pick<LoadedCheckpoint, 'dir' | 'config' | 'parts'>): 'model' | 'ema' {
  return studentMetaOf(ck)?.teacher.part ?? (ck.parts.includes('ema') ? 'ema' : 'model');
}

/** True if two flow configs describe the same architecture (after defaults). */
function sameFlow(a: unknown, b: unknown): boolean {
  return JSON.stringify(parseFlowConfig(a)) === JSON.stringify(parseFlowConfig(b));
}

/**
 * Builds the student of a loaded checkpoint (which must hold the student
 * parts and, to verify the teacher, its teacher part). Validates
 * `meta.student` against the checkpoint's AF config, every tensor's name
 * and shape (errors name the file and tensor), and the teacher binding.
 */
export function studentFromCheckpoint(ck: LoadedCheckpoint, options: LoadStudentOptions = {}): Student {
  const meta = studentMetaOf(ck);
  if (!meta) {
    throw new FarmerError('FARMER_E_NOT_FOUND', `${ck.dir} holds no distilled student; run \`farmer distill\` on it first, or decode with the flow`, { file: ck.dir });
  }
  const flow = flowConfigOf(ck);
  if (!sameFlow(flow, meta.flow)) {
    throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir}/config.json: meta.student.flow differs from model.flow (the student was made for another AF)`, { file: `${ck.dir}/config.json` });
  }
  if (options.verifyTeacher !== false) {
    const teacher = ck.tensors[meta.teacher.part];
    if (!teacher) throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir} has no ${meta.teacher.part}.safetensors, the student's teacher`, { file: ck.dir });
    if (flowFingerprint(teacher) !== meta.teacher.flowFingerprint) {
      throw new FarmerError(
        'FARMER_E_BAD_INPUT',
        `the student in ${ck.dir} was distilled from other AF weights than ${meta.teacher.part}.safetensors holds now (the teacher changed after distillation); run \`farmer distill\` again`,
        { file: `${ck.dir}/${meta.teacher.part}.safetensors` },
      );
    }
  }
  const part = options.ema !== false && ck.tensors[STUDENT_PARTS.ema] ? STUDENT_PARTS.ema : STUDENT_PARTS.weights;
  const tensors = ck.tensors[part];
  if (!tensors) throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir} has no ${part}.safetensors`, { file: ck.dir });
  return Student.fromTensorMap(meta.flow, tensors, `${ck.dir}/${part}.safetensors`, meta);
}

/** The checkpoint parts to read for a student (and its teacher check). */
export function studentParts(meta: StudentMeta, options: LoadStudentOptions): string[] {
  const parts: string[] = [STUDENT_PARTS.weights];
  if (options.ema !== false) parts.push(STUDENT_PARTS.ema);
  if (options.verifyTeacher !== false) parts.push(meta.teacher.part);
  return parts;
}

/**
 * Loads the distilled student of a checkpoint (or of a run directory
 * holding `checkpoint/`). Pass `student.decode` to `TfRunner` or
 * `loadTfRunner(dir, { student })` — with the teacher weights named in
 * `student.meta.teacher.part`; `loadRunnerWithStudent` of @farmer/runtime
 * does both. The caller disposes the student.
 */
export async function loadStudent(dir: string, options: LoadStudentOptions = {}): Promise<Student> {
  const abs = resolveCheckpointDir(dir);
  const head = await readCheckpoint(abs, { parts: [] });
  const meta = studentMetaOf(head);
  if (!meta) throw new FarmerError('FARMER_E_NOT_FOUND', `${dir} holds no distilled student; run \`farmer distill\` on it first, or decode with the flow`, { file: dir });
  return studentFromCheckpoint(await readCheckpoint(abs, { parts: studentParts(meta, options) }), options);
}

/**
 * Adds (or replaces) a student in the checkpoint `dir` (any kind with an
 * AF: FARMER or flow-only), atomically
 * (the whole directory is rewritten through a temp sibling and renamed).
 * Every other part and the training state are kept, so a training run
 * stays resumable; a later training checkpoint drops the student, which
 * would be stale. The student's teacher must be the checkpoint's `ema` or
 * `model` AF (matched by fingerprint); `force` attaches it to the `ema` (or
 * `model`) weights anyway. Writes the student's current weights, without
 * its optimizer or EMA state. `meta` replaces the student's own provenance
 * (the Distiller passes the step reached).
 */
export async function attachStudent(dir: string, student: Student, options: { force?: boolean; meta?: StudentMeta } = {}): Promise<{ dir: string; teacherPart: 'model' | 'ema' }> {
  const abs = resolveCheckpointDir(dir);
  const ck = await readCheckpoint(abs);
  if (!sameFlow(flowConfigOf(ck), student.config)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `the student's AF config differs from ${dir}'s model.flow; it was distilled from another model`, { file: dir });
  }
  const candidates = (['ema', 'model'] as const).filter((p) => ck.tensors[p]);
  const prints = new Map(candidates.map((p) => [p, flowFingerprint(ck.tensors[p])]));
  const base = options.meta ?? student.meta;
  const wanted = base?.teacher.flowFingerprint;
  let part = candidates.find((p) => prints.get(p) === wanted);
  if (!part) {
    if (!options.force) {
      throw new FarmerError(
        'FARMER_E_BAD_INPUT',
        `${dir} does not hold the AF this student was distilled from (no ${candidates.join(' or ')} weights match its teacher); distil from this checkpoint, or pass force to attach anyway`,
        { file: dir },
      );
    }
    part = candidates[0];
  }
  const meta: StudentMeta = {
    ...(base ?? { format: STUDENT_FORMAT, version: STUDENT_FORMAT_VERSION, flow: student.config, prefix: 'student.' }),
    teacher: { ...base?.teacher, part, flowFingerprint: prints.get(part)! },
  } as StudentMeta;
  const tensors: Record<string, TensorMap> = {};
  for (const [p, map] of Object.entries(ck.tensors)) if (!Object.values<string>(STUDENT_PARTS).includes(p)) tensors[p] = map;
  tensors[STUDENT_PARTS.weights] = student.toTensorMap();
  await writeCheckpoint(abs, {
    config: { ...ck.config, meta: { ...ck.config.meta, student: meta } },
    tensors: tensors as { model: TensorMap } & Record<string, TensorMap>,
  });
  return { dir: abs, teacherPart: part };
}
