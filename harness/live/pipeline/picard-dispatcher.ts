import type pg from 'pg';
import type { Redis } from 'ioredis';
import { readBuildConfig, jobShape, type BuildConfig } from '../../../sim/domain/build-config.ts';
import { splitJob, resourceClassTable, type ResourceClassTable, type ResourceSize } from '../../../sim/domain/task-split.ts';
import { DEFAULTS } from '../../../sim/scenario/settle.ts';
import { loadProfile } from '../../../fixtures/load.ts';
import { profileResourceClasses } from '../../scenario/profile-classes.ts';
import { GithubClient } from '../../github/client.ts';
import { ReconnectingConsumer, type AmqpConnect, type Channel, type ConsumerOptions } from './amqp.ts';
import { buildSlug, RUN_QUEUE, SCHEDULERER_QUEUE, type RunMessage, type ScheduleMessage } from './schema.ts';
import { REASONS } from '../../../sim/domain/fates.ts';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';

/**
 * The classes twin up's picard-dispatcher knows without a scenario: the default profile's, from the fixture
 * through the same function the simulation's scenarios are settled with (one source for both runtimes).
 */
export function defaultResourceClasses(): ResourceClassTable {
  return resourceClassTable(profileResourceClasses(loadProfile(DEFAULTS.version)));
}

/**
 * What picard-dispatcher publishes to schedulerer for a build whose config it read: the job split by the
 * domain's `splitJob`; a string (the reason the build fails) when it cannot be split.
 */
export function scheduleMessage(msg: RunMessage, cfg: BuildConfig, classes: ResourceClassTable<ResourceSize>): ScheduleMessage | string {
  const split = splitJob(jobShape(cfg), classes);
  if (typeof split === 'string') return split;
  return {
    ...msg,
    parallelism: split.tasks,
    durationMs: cfg.durationMs,
    ...(cfg.taskDurationsMs.some((d) => d !== cfg.durationMs) ? { taskDurationsMs: cfg.taskDurationsMs } : {}),
    cpuMhz: split.cpuMhz,
    memoryMb: split.memoryMb,
    ...(split.vm === undefined ? {} : { vm: split.vm }),
    ...(cfg.fails ? { fails: true } : {}),
    ...(cfg.artifacts > 0 ? { artifacts: cfg.artifacts } : {}),
    ...(cfg.testResults ? { testResults: true } : {}),
  };
}

export interface PicardDispatcherOptions extends ConsumerOptions {
  github: GithubClient;
  /** Where `dispatched_at` and the workflow's job count are recorded; without it, nothing is. */
  pool?: pg.Pool;
  /** `executor:name` → size; default `defaultResourceClasses()` (the default profile's, from the fixture). */
  resourceClasses?: ResourceClassTable<ResourceSize>;
  /**
   * Redis, where GitHub API responses are cached (a client that fails at once while Redis is down: no offline
   * queue). With it, a config fetch needs Redis, as the seeds say: with Redis down "GitHub API calls fail".
   */
  cache?: Redis;
  /** contexts-service's base URL, for jobs that use contexts; without it such jobs fail. */
  contextsUrl?: () => string;
  /** A live mutant's hook (`harness/live/replay/mutants.ts`), awaited before each message: `'drop'` acks and discards it. */
  beforeHandle?: () => Promise<'drop' | undefined>;
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

  private readonly classes: ResourceClassTable<ResourceSize>;

  constructor(private readonly opts: PicardDispatcherOptions) {
    super(opts.connect, RUN_QUEUE, 16, opts.reconnectMs);
    this.classes = opts.resourceClasses ?? defaultResourceClasses();
  }

  protected override async declare(ch: Channel): Promise<void> {
    await ch.assertQueue(SCHEDULERER_QUEUE, { durable: false });
  }

  protected async handle(ch: Channel, content: Buffer, ack: () => void, nack: () => void): Promise<void> {
    const msg = JSON.parse(content.toString('utf8')) as RunMessage;
    if ((await this.opts.beforeHandle?.()) === 'drop') return ack();
    const slug = buildSlug(msg);
    this.log.write(LOG_LINES.taking(slug));
    const [owner, name] = msg.repo.split('/');
    let text: string;
    try {
      text = await this.fetchConfig(owner!, name!, msg.sha);
    } catch (err) {
      if (err instanceof CacheDown) {
        this.log.cannotReach('redis');
        return this.drop(msg, REASONS.configFetchFailed('redis'), nack);
      }
      return this.drop(msg, `config could not be fetched from GitHub: ${err instanceof Error ? err.message : String(err)}`, nack);
    }
    let cfg: BuildConfig;
    try {
      cfg = readBuildConfig(text, msg.jobIndex ?? 0);
    } catch (err) {
      return this.drop(msg, `config.yml could not be read: ${err instanceof Error ? err.message : String(err)}`, nack);
    }
    this.log.write(LOG_LINES.fetchedConfig(msg.repo, msg.sha.slice(0, 16)));
    const out = scheduleMessage(msg, cfg, this.classes);
    if (typeof out === 'string') return this.drop(msg, out, nack);
    this.log.write(LOG_LINES.computedTasks(slug, out.parallelism));
    for (const context of cfg.contexts) {
      const unreadable = await this.readContext(context);
      if (unreadable !== undefined) return this.drop(msg, unreadable, nack);
    }
    ch.sendToQueue(SCHEDULERER_QUEUE, Buffer.from(JSON.stringify(out)), { contentType: 'application/json' });
    this.log.write(LOG_LINES.matchingJobs(slug));
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
      return REASONS.contextUnreadable('contexts-service');
    }
    const body = (await res.json().catch(() => ({}))) as { down?: string; message?: string };
    if (res.ok) return undefined;
    if (res.status === 503 && body.down !== undefined) return REASONS.contextUnreadable(body.down);
    return `context ${name} could not be read: ${body.message ?? res.status}`;
  }

  /**
   * The client for a project's GitHub calls: with the token its settings hold (`project_settings`, written when it
   * was followed; a changed token makes GHE refuse the config fetch, and the build fails saying so), else the stack's.
   * PostgreSQL unreadable here: the stack's token (recording the build needs PostgreSQL anyway).
   */
  private async projectClient(repo: string): Promise<GithubClient> {
    const row = await this.opts.pool?.query<{ github_token: string }>('SELECT github_token FROM project_settings WHERE repo = $1', [repo]).catch(() => undefined);
    const token = row?.rows[0]?.github_token;
    return token === undefined ? this.opts.github : this.opts.github.withToken(token);
  }

  /** config.yml at a commit: from the Redis cache of GitHub API responses, else from GHE (then cached). */
  private async fetchConfig(owner: string, name: string, sha: string): Promise<string> {
    const { cache } = this.opts;
    const github = await this.projectClient(`${owner}/${name}`);
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
    this.log.write(LOG_LINES.dispatchFailed(buildSlug(msg), reason));
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
