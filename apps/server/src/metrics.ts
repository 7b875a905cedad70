import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueue, JobSettled } from './job-queue.js';
import type { ModelRegistry } from './model-registry.js';

/** The server's Prometheus metrics, on a registry of its own (so several apps can share a process). */
export interface ServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status_code'>;
  readonly requestSeconds: Histogram<'method' | 'route' | 'status_code'>;
  readonly jobs: Counter<'kind' | 'outcome'>;
  readonly jobSeconds: Histogram<'kind'>;
  readonly jobWaitSeconds: Histogram<'kind'>;
  readonly rejected: Counter<'kind'>;
  /** Requests per job: compatible queued requests share a generation pass. */
  readonly jobRequests: Histogram;
  readonly images: Counter<'model'>;
  /** Records one finished job. */
  observeJob(job: JobSettled): void;
}

/** Creates the metrics; queue depth and model counts are read at scrape time. */
export function createMetrics(queue: () => JobQueue, models: () => ModelRegistry, options: { processMetrics: boolean }): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'farmer_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'farmer_http_request_duration_seconds',
    help: 'HTTP request latency (receipt to response end), seconds.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'farmer_jobs_total',
    help: 'Generation and likelihood jobs by outcome (done, failed, aborted while running, dropped while queued).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const jobSeconds = new Histogram({
    name: 'farmer_job_duration_seconds',
    help: 'Time a job ran, seconds.',
    labelNames: ['kind'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const jobWaitSeconds = new Histogram({
    name: 'farmer_job_wait_seconds',
    help: 'Time a job waited in the queue, seconds.',
    labelNames: ['kind'] as const,
    buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'farmer_queue_rejected_total',
    help: 'Jobs refused with 429 because the queue was full.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const jobRequests = new Histogram({
    name: 'farmer_job_requests',
    help: 'Requests served by one job (compatible queued generate requests share a pass).',
    buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32],
    registers: [registry],
  });
  const images = new Counter({
    name: 'farmer_images_generated_total',
    help: 'Images generated, by model.',
    labelNames: ['model'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'farmer_queue_depth',
    help: 'Jobs waiting for a slot.',
    registers: [registry],
    collect() {
      this.set(queue().queued);
    },
  });
  new Gauge({
    name: 'farmer_jobs_running',
    help: 'Jobs running now.',
    registers: [registry],
    collect() {
      this.set(queue().running);
    },
  });
  new Gauge({
    name: 'farmer_models',
    help: 'Models by load status.',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      const all = models().entries();
      for (const status of ['loading', 'ready', 'failed'] as const) this.set({ status }, all.filter((e) => e.status === status).length);
    },
  });
  return {
    registry,
    requests,
    requestSeconds,
    jobs,
    jobSeconds,
    jobWaitSeconds,
    rejected,
    jobRequests,
    images,
    observeJob(job) {
      jobs.inc({ kind: job.kind, outcome: job.outcome });
      if (job.outcome !== 'dropped') {
        jobWaitSeconds.observe({ kind: job.kind }, job.waitSeconds);
        jobSeconds.observe({ kind: job.kind }, job.runSeconds);
      }
    },
  };
}
