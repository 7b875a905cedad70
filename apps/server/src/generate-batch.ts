import type { FarmerRunner } from '@farmer/ar-gmm';
import { generateTogether as generateRequests, type GenerateRequest, type GenerateResult } from '@farmer/sampling';
import type { JobMember } from './job-queue.js';

export { generateBatchKey, type GenerateRequest } from '@farmer/sampling';

/** One job's generate requests (equal batch keys) in one pass: @farmer/sampling's `generateTogether` over the members' inputs. */
export function generateTogether(runner: FarmerRunner, members: readonly JobMember<GenerateRequest>[], signal: AbortSignal): Promise<GenerateResult[]> {
  return generateRequests(runner, members.map((m) => m.input), signal);
}
