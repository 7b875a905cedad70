/**
 * @farmer/queue: FARMER generation scaled out over Redis with BullMQ. Worker
 * processes on any machine that reaches the Redis server (`startWorker`)
 * take jobs from one queue per model: the shards of a sharded sample job
 * (`runShardedJob`, byte-identical to one process drawing the whole job) and
 * a server's generate requests (`RemoteGenerator`), batched as in the
 * in-process server. Killed workers' jobs are retried elsewhere (BullMQ's
 * stalled-job recovery); an unreachable Redis is an error within a bounded
 * time, never a hang.
 */
export { parseRedisUrl, redactRedisUrl, type RedisAddress } from './redis-url.js';
export { connectRedis, REDIS_PROBE_TIMEOUT_MS, redisLost, redisUnreachable, withTimeout, type RedisLink } from './redis-connection.js';
export { EVENTS_BLOCKING_TIMEOUT_MS, RedisClients } from './redis-clients.js';
export { watchRedis, type RedisHealth } from './redis-health.js';
export { checkpointHash, identityMismatch, type ModelIdentity } from './model-identity.js';
export {
  parseJobData,
  QUEUE_PREFIX,
  SHARD_QUEUE_PREFIX,
  type FarmerJobData,
  type GenerateJobData,
  type GenerateJobResult,
  type Refusal,
  type ShardJobData,
  type ShardResult,
  type ShardSettings,
} from './job-data.js';
export { errorFromReason, failureReason } from './job-errors.js';
export { PassBatcher, type PassInfo, type PassItem } from './pass-batcher.js';
export { DEFAULT_SHARD_BATCHES, planShards, shardedRunId, type ShardSpec } from './shard-plan.js';
export { SHUTDOWN_TIMEOUT_MS } from './shutdown-timeout.js';
export { startWorker, WORKER_DEFAULTS, type FarmerWorkerOptions, type RunningWorker, type WorkerModel, type WorkerStats, type WorkerStop } from './farmer-worker.js';
export { runShardedJob, type ShardedJobOptions, type ShardedJobResult, type ShardedProgress, type ShardImages } from './sharded-job.js';
export { QueueFullError, RemoteGenerator, type RemoteGenerateResult, type RemoteGeneratorOptions } from './remote-generator.js';
