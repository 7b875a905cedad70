import { z } from 'zod';
import { FarmerError } from './errors.js';

/** zod validation with an error that names the file and each bad field. */
export function validate<T>(value: unknown, source: string, schema: z.ZodType<T>, code: 'FARMER_E_CORRUPT' | 'FARMER_E_BAD_CONFIG' | 'FARMER_E_BAD_INPUT' = 'FARMER_E_CORRUPT'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new FarmerError(code, `${source} is invalid: ${formatZodIssues(r.error)}`, { file: source, issues: r.error.issues });
}

/** `a.b: message; c: message` from a zod error. */
export function formatZodIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** One file's entry in a folder's `manifest.json` (a checkpoint's or an ONNX export's): SHA-256 in hex and size. */
export const ManifestFileSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() });
/** One file's manifest entry (SHA-256 in hex and size in bytes), as validated by {@link ManifestFileSchema}. */
export type ManifestFile = z.infer<typeof ManifestFileSchema>;
