import { JacobiPlanFileSchema } from '@farmer/flow/browser';
import { ManifestFileSchema } from '@farmer/core/browser';
import { z } from 'zod';

/** What `manifest.json` of an ONNX export says it is. */
export const ONNX_EXPORT_FORMAT = 'farmer-onnx';
/** The export layout version this package writes and reads. */
export const ONNX_EXPORT_VERSION = 1;
/** The newest default-domain opset onnxruntime-node 1.30 runs; a manifest asking for more is refused. */
export const MAX_SUPPORTED_OPSET = 22;

const IoSchema = z
  .object({
    name: z.string().min(1),
    dtype: z.enum(['float32', 'int64', 'bool', 'float64']),
    shape: z.array(z.union([z.number().int().nonnegative(), z.string().min(1)])),
  })
  .strict();

/** One graph of the export: its file, the weights file it reads, and its signature. */
export const GraphEntrySchema = z
  .object({
    file: z.string().min(1),
    /** The external-data file holding its weights. */
    weights: z.string().min(1),
    inputs: z.array(IoSchema),
    outputs: z.array(IoSchema),
  })
  .strict();
/** One graph of an export's manifest: its file, and its inputs and outputs with dtypes and shapes. */
export type GraphEntry = z.infer<typeof GraphEntrySchema>;

const FileEntrySchema = ManifestFileSchema.strict();

/**
 * `manifest.json` of an export folder: the model config, every graph with
 * its input/output names and shapes, the opset, the SHA-256 and size of
 * every file, and the checkpoint it came from.
 */
export const OnnxManifestSchema = z
  .object({
    format: z.literal(ONNX_EXPORT_FORMAT),
    formatVersion: z.number().int().positive(),
    irVersion: z.number().int().positive(),
    opset: z.number().int().positive(),
    producer: z.string(),
    createdAt: z.string(),
    /** The FarmerConfig of the exported model (validated by @farmer/ar-gmm on load). */
    model: z.record(z.string(), z.unknown()),
    /** Provenance. */
    source: z
      .object({
        /** The checkpoint directory: absolute, or '..' when the export sits inside it; null for an in-memory model. */
        checkpoint: z.string().nullable(),
        /** Which weights: 'model' or 'ema' (or 'memory'). */
        part: z.string(),
        /** SHA-256 of the checkpoint files the export read, from the checkpoint's manifest. */
        files: z.record(z.string(), z.string()).optional(),
        /** The student's checkpoint part and teacher binding, when exported. */
        student: z.record(z.string(), z.unknown()).optional(),
        /** Free-form notes (e.g. why the student was not exported). */
        notes: z.array(z.string()).optional(),
      })
      .strict(),
    /** How the KV-cache inputs and outputs are laid out (documentation for other runtimes). */
    kvCache: z.record(z.string(), z.string()),
    graphs: z
      .object({
        flowForward: GraphEntrySchema,
        /** flowReverseSteps[t]: one token of AF block t's inverse, with explicit KV caches. */
        flowReverseSteps: z.array(GraphEntrySchema).min(1),
        /** flowReverseBlocks[t]: AF block t's whole inverse in one call (the same step in an ONNX Loop). */
        flowReverseBlocks: z.array(GraphEntrySchema).min(1).optional(),
        /** flowJacobiPasses[t]: one causal pass of AF block t over a token prefix, the fixed-point map of the Jacobi decoder (absent in older exports). */
        flowJacobiPasses: z.array(GraphEntrySchema).min(1).optional(),
        arForward: GraphEntrySchema,
        arPrefill: GraphEntrySchema,
        arStep: GraphEntrySchema,
        /** The redundant head on ar-step's `hidden` (only when d_R > 0). */
        arHeadRedundant: GraphEntrySchema.optional(),
        student: GraphEntrySchema.optional(),
      })
      .strict(),
    files: z.record(z.string(), FileEntrySchema),
    /** The checkpoint's Jacobi plan (its jacobi-plan.json) when it had one at export time, so a browser gets it with the graphs. */
    jacobiPlan: JacobiPlanFileSchema.optional(),
  })
  .strict();
/** An export folder's `manifest.json`, as validated by {@link OnnxManifestSchema} (docs/method.md §9.6 ONNX export). */
export type OnnxManifest = z.infer<typeof OnnxManifestSchema>;

/** The KV-cache convention every step graph follows (recorded in the manifest). */
export const KV_CACHE_LAYOUT: Record<string, string> = {
  inputs: 'past_key.{l} and past_value.{l}, both [batch, heads, past, headDim], one pair per attention layer',
  outputs: 'present_key.{l} / present_value.{l}: the inputs with this call\'s keys/values appended (feed them back as the next past_*)',
  position: 'the token position is the cache length: no position input (AR: row M + i of pos_embed; AF block t: row i, or N-1-i when t is odd)',
  start: 'AF reverse: position 0 is fed with empty caches (past = 0); AR: ar-prefill creates the caches of the M class-prefix slots',
};

/** Every (graph, file) pair of a manifest, in a fixed order. */
export function manifestGraphs(m: OnnxManifest): { key: string; entry: GraphEntry }[] {
  const g = m.graphs;
  const out: { key: string; entry: GraphEntry }[] = [{ key: 'flowForward', entry: g.flowForward }];
  g.flowReverseSteps.forEach((entry, t) => out.push({ key: `flowReverseSteps[${t}]`, entry }));
  g.flowReverseBlocks?.forEach((entry, t) => out.push({ key: `flowReverseBlocks[${t}]`, entry }));
  out.push({ key: 'arForward', entry: g.arForward }, { key: 'arPrefill', entry: g.arPrefill }, { key: 'arStep', entry: g.arStep });
  if (g.arHeadRedundant) out.push({ key: 'arHeadRedundant', entry: g.arHeadRedundant });
  if (g.student) out.push({ key: 'student', entry: g.student });
  return out;
}
