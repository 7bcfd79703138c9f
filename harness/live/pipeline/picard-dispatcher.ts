import type pg from 'pg';
import type { Redis } from 'ioredis';
import { parse } from 'yaml';
import { CPU_MHZ_PER_CORE } from '../../../sim/models/nomad/index.ts';
import { GithubClient } from '../../github/client.ts';
import { ReconnectingConsumer, type AmqpConnect, type Channel, type ConsumerOptions } from './amqp.ts';
import { RUN_QUEUE, SCHEDULERER_QUEUE, type RunMessage, type ScheduleMessage } from './schema.ts';

export const DEFAULT_PARALLELISM = 1;
export const DEFAULT_DURATION_MS = 2000;

/** A resource class as picard-dispatcher's `resource-definitions.edn` gives it. */
export interface ResourceDefinition {
  cpuMilli: number;
  memoryMb: number;
}

/** The default class of the seeds' picard-dispatcher log: `medium`, 2 CPU and 4096 MB, for docker and machine. */
export const DEFAULT_RESOURCE_CLASSES: Readonly<Record<string, ResourceDefinition>> = {
  'docker:medium': { cpuMilli: 2000, memoryMb: 4096 },
  'machine:medium': { cpuMilli: 2000, memoryMb: 4096 },
};

/** What picard-dispatcher reads of one job of a config. */
export interface BuildConfig {
  jobName: string | undefined;
  /** Jobs in the workflow, run in sequence. */
  jobsTotal: number;
  parallelism: number;
  /** How long the job's steps run, in the scenario's (virtual) milliseconds: `x-twin-duration-ms`. */
  durationMs: number;
  executor: 'docker' | 'machine';
  /** A Docker job that asks for a remote Docker engine (a `setup_remote_docker` step): vm-service provides one. */
  remoteDocker: boolean;
  /** The contexts its workflow entry names (`context:`): their environment comes from contexts-service. */
  contexts: string[];
  resourceClass: string;
  fails: boolean;
  /** Artifacts it stores (`x-twin-artifacts`) and whether it stores test results (`x-twin-test-results`). */
  artifacts: number;
  testResults: boolean;
}

/**
 * Job `jobIndex` of the config's first workflow (its `jobs` in order; without workflows, the jobs in order):
 * `parallelism` (the job's, else the top level's; without workflows the top level's, else the largest of the
 * jobs'), `resource_class`, the executor (`machine:` or `docker:`), and the twin-only `x-twin-duration-ms`
 * and `x-twin-fails` (the job's, else the top level's).
 */
export function readBuildConfig(text: string, jobIndex = 0): BuildConfig {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const jobs = obj(doc.jobs);
  const firstWorkflow = Object.values(obj(doc.workflows)).map(obj).find((w) => Array.isArray(w.jobs));
  const order = firstWorkflow
    ? (firstWorkflow.jobs as unknown[]).map((j) => (typeof j === 'string' ? j : Object.keys(obj(j))[0])).filter((j): j is string => typeof j === 'string')
    : Object.keys(jobs);
  const index = Math.min(jobIndex, Math.max(0, order.length - 1));
  const jobName = order[index];
  const entry = firstWorkflow ? obj(obj((firstWorkflow.jobs as unknown[])[index])[jobName ?? '']) : {};
  const context = entry.context;
  const contexts = (Array.isArray(context) ? context : typeof context === 'string' ? [context] : []).filter((c): c is string => typeof c === 'string');
  const job = jobName === undefined ? {} : obj(jobs[jobName]);
  // With workflows, the job's own; without (a v0 config), the top level's, else the largest of the jobs'.
  let parallelism = firstWorkflow ? (num(job.parallelism) ?? num(doc.parallelism)) : num(doc.parallelism);
  if (parallelism === undefined && !firstWorkflow) {
    for (const j of Object.values(jobs)) {
      const p = num(obj(j).parallelism);
      if (p !== undefined) parallelism = Math.max(parallelism ?? 0, p);
    }
  }
  return {
    jobName,
    jobsTotal: Math.max(1, order.length),
    parallelism: Math.floor(parallelism ?? DEFAULT_PARALLELISM),
    durationMs: num(job['x-twin-duration-ms']) ?? num(doc['x-twin-duration-ms']) ?? DEFAULT_DURATION_MS,
    executor: 'machine' in job ? 'machine' : 'docker',
    contexts,
    remoteDocker: Array.isArray(job.steps) && job.steps.some((s) => s === 'setup_remote_docker' || (typeof s === 'object' && s !== null && 'setup_remote_docker' in s)),
    resourceClass: typeof job.resource_class === 'string' ? job.resource_class : 'medium',
    fails: (job['x-twin-fails'] ?? doc['x-twin-fails']) === true,
    artifacts: Math.floor(num(job['x-twin-artifacts']) ?? 0),
    testResults: job['x-twin-test-results'] === true,
  };
}

export interface PicardDispatcherOptions extends ConsumerOptions {
  github: GithubClient;
  /** Where `dispatched_at` and the workflow's job count are recorded; without it, nothing is. */
  pool?: pg.Pool;
  /** `executor:name` → size; default `DEFAULT_RESOURCE_CLASSES`. */
  resourceClasses?: Readonly<Record<string, ResourceDefinition>>;
  /**
   * Redis, where GitHub API responses are cached (a client that fails at once while Redis is down: no offline
   * queue). With it, a config fetch needs Redis, as the seeds say: with Redis down "GitHub API calls fail".
   */
  cache?: Redis;
  /** contexts-service's base URL, for jobs that use contexts; without it such jobs fail. */
  contextsUrl?: () => string;
}

/** How long a cached config.yml is kept (a commit's config never changes). */
const CONFIG_CACHE_SECONDS = 3_600;

/**
 * picard-dispatcher: consumes `run-queue` (manual ack, prefetch 16), fetches `.circleci/config.yml` at the
 * pushed SHA from GHE, reads the build's job, and publishes the build to `schedulerer`; acks only after
 * publishing. A config that cannot be fetched or read, or names an unknown resource class, is dropped (nack
 * without requeue) and the build ends `failed` with the reason.
 */
export class PicardDispatcher extends ReconnectingConsumer {
  dispatched = 0;
  dropped = 0;

  constructor(private readonly opts: PicardDispatcherOptions) {
    super(opts.connect, RUN_QUEUE, 16, opts.reconnectMs);
  }

  protected override async declare(ch: Channel): Promise<void> {
    await ch.assertQueue(SCHEDULERER_QUEUE, { durable: false });
  }

  protected async handle(ch: Channel, content: Buffer, ack: () => void, nack: () => void): Promise<void> {
    const msg = JSON.parse(content.toString('utf8')) as RunMessage;
    const [owner, name] = msg.repo.split('/');
    let text: string;
    try {
      text = await this.fetchConfig(owner!, name!, msg.sha);
    } catch (err) {
      if (err instanceof CacheDown) return this.drop(msg, 'redis down: the GitHub API call for config.yml failed', nack);
      return this.drop(msg, `config could not be fetched from GitHub: ${err instanceof Error ? err.message : String(err)}`, nack);
    }
    let cfg: BuildConfig;
    try {
      cfg = readBuildConfig(text, msg.jobIndex ?? 0);
    } catch (err) {
      return this.drop(msg, `config.yml could not be read: ${err instanceof Error ? err.message : String(err)}`, nack);
    }
    const rc = (this.opts.resourceClasses ?? DEFAULT_RESOURCE_CLASSES)[`${cfg.executor}:${cfg.resourceClass}`];
    if (rc === undefined) return this.drop(msg, `unknown resource class ${cfg.executor}:${cfg.resourceClass}`, nack);
    for (const context of cfg.contexts) {
      const unreadable = await this.readContext(context);
      if (unreadable !== undefined) return this.drop(msg, unreadable, nack);
    }
    const out: ScheduleMessage = {
      ...msg,
      parallelism: cfg.parallelism,
      durationMs: cfg.durationMs,
      cpuMhz: Math.ceil((rc.cpuMilli / 1000) * CPU_MHZ_PER_CORE),
      memoryMb: rc.memoryMb,
      ...(cfg.executor === 'machine' ? { vm: 'machine' as const } : cfg.remoteDocker ? { vm: 'remote_docker' as const } : {}),
      ...(cfg.fails ? { fails: true } : {}),
      ...(cfg.artifacts > 0 ? { artifacts: cfg.artifacts } : {}),
      ...(cfg.testResults ? { testResults: true } : {}),
    };
    ch.sendToQueue(SCHEDULERER_QUEUE, Buffer.from(JSON.stringify(out)), { contentType: 'application/json' });
    this.dispatched++;
    ack();
    await this.opts.pool
      ?.query(
        `WITH b AS (UPDATE builds SET dispatched_at = COALESCE(dispatched_at, clock_timestamp()), job_name = $2, artifacts = $4, test_results = $5 WHERE id = $1 RETURNING workflow_id)
         UPDATE workflows SET jobs_total = $3 WHERE id = (SELECT workflow_id FROM b) AND jobs_total IS NULL`,
        [msg.buildId, cfg.jobName ?? null, cfg.jobsTotal, cfg.artifacts, cfg.testResults],
      )
      .catch(() => undefined);
  }

  /**
   * A context's environment from contexts-service; undefined when it was read, else why not, in the simulation's
   * words ("<service> down: the context could not be read") when a service was down.
   */
  private async readContext(name: string): Promise<string | undefined> {
    const base = this.opts.contextsUrl?.();
    if (base === undefined) return `context ${name}: no contexts-service`;
    let res: Response;
    try {
      res = await fetch(`${base}/api/v2/context/${encodeURIComponent(name)}/environment`, { signal: AbortSignal.timeout(5_000) });
    } catch {
      return 'contexts-service down: the context could not be read';
    }
    const body = (await res.json().catch(() => ({}))) as { down?: string; message?: string };
    if (res.ok) return undefined;
    if (res.status === 503 && body.down !== undefined) return `${body.down} down: the context could not be read`;
    return `context ${name} could not be read: ${body.message ?? res.status}`;
  }

  /** config.yml at a commit: from the Redis cache of GitHub API responses, else from GHE (then cached). */
  private async fetchConfig(owner: string, name: string, sha: string): Promise<string> {
    const { cache, github } = this.opts;
    if (!cache) return github.fetchConfig(owner, name, sha);
    const key = `github:contents:${owner}/${name}@${sha}:.circleci/config.yml`;
    const hit = await cache.get(key).catch((err: unknown) => {
      throw new CacheDown(err);
    });
    if (hit !== null) return hit;
    const text = await github.fetchConfig(owner, name, sha);
    await cache.set(key, text, 'EX', CONFIG_CACHE_SECONDS).catch((err: unknown) => {
      throw new CacheDown(err);
    });
    return text;
  }

  private async drop(msg: RunMessage, reason: string, nack: () => void): Promise<void> {
    this.dropped++;
    nack();
    // The build failed before it ran, and its workflow with it (a failed job fails the workflow).
    await this.opts.pool
      ?.query(
        `WITH b AS (UPDATE builds SET status = 'failed', reason = $2, finished_at = clock_timestamp() WHERE id = $1 AND status = 'queued' RETURNING workflow_id)
         UPDATE workflows SET status = 'failed', finished_at = clock_timestamp() WHERE id = (SELECT workflow_id FROM b) AND status = 'running'`,
        [msg.buildId, reason],
      )
      .catch(() => undefined);
  }
}

/** Redis, where GitHub API responses are cached, did not answer. */
class CacheDown extends Error {
  constructor(cause: unknown) {
    super(`redis: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'CacheDown';
  }
}
