import type pg from 'pg';
import type { Redis } from 'ioredis';
import { keyFor } from '../../providers/s3/storage-layout.ts';
import type { DocumentStore } from '../../providers/mongo/document-store.ts';
import type { ObjectStore } from '../../providers/s3/object-store.ts';
import type { AuditPublisher } from './audit-log-service.ts';
import { sendJson as send, type HttpRequest, type HttpRoutes } from '../../http/index.ts';
import { HttpStage } from './http-util.ts';
import { ConfirmPublisher, type AmqpConnect } from './amqp.ts';
import { ACTION_LOGS, BUILD_STATUS, buildSlug, WORKFLOW_EVENTS_QUEUE, type WorkflowEvent } from './schema.ts';
import { finishedFate } from '../../../sim/domain/fates.ts';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';
import { SILENT_LOG, type ServiceLog } from '../service-logs-writer.ts';
import type { Notifier } from './notifier.ts';

export interface OutputProcessorOptions {
  pool: pg.Pool;
  redis: Redis;
  /** MongoDB (a mongod or the twin's embedded one): one `action_logs` document per build with its step output. */
  documents: DocumentStore;
  port?: number;
  /** RabbitMQ, for telling workflows-conductor that a job ended; without it, workflows are not followed. */
  connect?: AmqpConnect;
  /** Object storage: step output logs, artifacts and test results under the seeds' prefixes; without it, none. */
  objects?: ObjectStore;
  /** Where `workflow.job.finish` audit events go. */
  audit?: AuditPublisher;
  /** How often the running builds' status is written to MongoDB (wall ms); default 10 s. */
  statusFlushMs?: number;
  /** notifier: told of each build that ended (a failure's mail through exim, the status change to slanger). */
  notifier?: Notifier;
}

/** Why a build fails that was running while its status could not be written (the simulation's words). */
export const STATUS_UNWRITTEN = 'mongo down: build status could not be written';

export const outputKey = (id: number | string) => `output:${id}`;
const finishedKey = (id: number | string) => `finished:${id}`;
/** Set when the build is to fail: `1` (a container failed: its tests), or the reason. */
const failedKey = (id: number | string) => `failed:${id}`;

/**
 * output-processor: `POST /builds/:id/start` (row `running`, `started_at` once), `/output` (`{ lines }`,
 * RPUSHed to `output:<id>`), `/finish` (`{ parallelism, failed? }`; when every parallel container finished:
 * the Redis lines are stored in MongoDB's `action_logs`, the row becomes `succeeded` (or `failed`) with `finished_at`,
 * the keys are deleted, and a `workflow-events` message tells workflows-conductor; if RabbitMQ refuses it, the
 * workflow is never told and stays `running`: inconsistent).
 */
export class OutputProcessor {
  private readonly http: HttpStage;
  private readonly publisher: ConfirmPublisher | undefined;
  /** Workflow events RabbitMQ did not take. */
  eventsLost = 0;
  /** Builds that ended while PostgreSQL was down: recorded in MongoDB only, their workflows never told. */
  unrecorded = 0;
  /** Builds started and not finished: their status is written to MongoDB every `statusFlushMs`. */
  private readonly streaming = new Set<number>();
  private flushTimer: NodeJS.Timeout | null = null;
  private lastFlushFailed = false;

  /** Its own log (`agent connected`, `step output written`); silent outside a stage worker. */
  log: ServiceLog = SILENT_LOG;

  constructor(private readonly opts: OutputProcessorOptions) {
    this.http = new HttpStage('output-processor', (routes) => this.routes(routes), opts.port ?? 0);
    this.publisher = opts.connect ? new ConfirmPublisher(opts.connect, [WORKFLOW_EVENTS_QUEUE]) : undefined;
  }

  get url(): string {
    return this.http.url;
  }

  async start(): Promise<void> {
    await this.http.start();
    this.flushTimer = setInterval(() => void this.flushStatus(), this.opts.statusFlushMs ?? 10_000);
    this.flushTimer.unref();
  }

  private stopFlushing(): void {
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.streaming.clear();
  }

  /**
   * The running builds' status to MongoDB. When MongoDB stops taking it, every build running at that moment
   * fails when it ends: its status updates were lost ("mongo down: build status could not be written"). Builds
   * that start while it is down are not marked again (if they end before it is back they cannot be recorded).
   */
  private async flushStatus(): Promise<void> {
    const running = [...this.streaming];
    try {
      await this.opts.documents.collection(BUILD_STATUS).updateOne({ _id: 'running' }, { $set: { builds: running, at: new Date() } }, { upsert: true });
      this.lastFlushFailed = false;
    } catch {
      if (this.lastFlushFailed) return;
      this.lastFlushFailed = true;
      for (const id of running) await this.opts.redis.set(failedKey(id), STATUS_UNWRITTEN, 'NX').catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopFlushing();
    await this.http.stop();
    await this.publisher?.close();
    await this.opts.audit?.close();
  }

  kill(): void {
    this.stopFlushing();
    this.http.kill();
    this.publisher?.kill();
    this.opts.audit?.kill();
  }

  private routes(routes: HttpRoutes): HttpRoutes {
    routes.get('/health-check', ({ res }) => send(res, 200, { ok: true }));
    for (const step of ['start', 'output', 'finish'] as const) routes.post(`/builds/:id(^\\d+$)/${step}`, (r) => this.build(r, step));
    return routes;
  }

  private async build(r: HttpRequest, step: 'start' | 'output' | 'finish'): Promise<void> {
    const { res } = r;
    const id = Number(r.params.id);
    const body = ((await r.json()) ?? {}) as { lines?: string[]; parallelism?: number; failed?: boolean; reason?: string; index?: number; artifacts?: number; testResults?: boolean };
    const { pool, redis } = this.opts;
    if (step === 'start') {
      this.streaming.add(id);
      const started = await pool.query<{ repo: string }>("UPDATE builds SET status = 'running', started_at = COALESCE(started_at, clock_timestamp()) WHERE id = $1 AND status IN ('queued', 'scheduled') RETURNING repo", [id]);
      if (started.rows[0] !== undefined) this.log.write(LOG_LINES.agentConnected(buildSlug({ repo: started.rows[0].repo, buildId: id })));
      return send(res, 200, { ok: true });
    }
    if (step === 'output') {
      const lines = body.lines ?? [];
      if (lines.length) await redis.rpush(outputKey(id), ...lines);
      return send(res, 200, { ok: true });
    }
    // A container that failed fails the build; the last container to finish decides. Containers are counted
    // by task index, so a finish reported twice (a build agent resending after a lost answer) counts once.
    if (body.failed) await redis.set(failedKey(id), body.reason ?? '1');
    await redis.sadd(finishedKey(id), String(body.index ?? 0));
    const done = await redis.scard(finishedKey(id));
    if (done < (body.parallelism ?? 1)) return send(res, 200, { ok: true, finished: done });
    const lines = await redis.lrange(outputKey(id), 0, -1);
    // A container's reason is the platform's; a bare failure ('1') is the build's own tests.
    const failure = await redis.get(failedKey(id));
    const { fate: status, reason } = finishedFate({ infraFailure: failure === null || failure === '1' ? undefined : failure, tasksFailed: 0, failsOnItsOwn: failure === '1' });
    // The build's record and step output go to MongoDB (idempotent: a repeated finish writes the same document)
    // and its objects to object storage; a failure there answers 500 and leaves the build running. Then its
    // workflow is told through PostgreSQL: while PostgreSQL is down the build has still ended (its record says
    // so) but its workflow never hears of it and is left running, inconsistent.
    await this.opts.documents.collection(ACTION_LOGS).updateOne({ build_id: id }, { $set: { build_id: id, lines, status } }, { upsert: true });
    await this.store(id, lines, body.artifacts ?? 0, body.testResults === true);
    let row: { workflow_id: string | null; job_index: number; repo: string } | undefined;
    try {
      // Only a build still in flight ends here: one failed meanwhile (its allocation lost, re-run as another
      // build) keeps its fate, and a finish reported twice tells the workflow once.
      const r = await pool.query<{ workflow_id: string | null; job_index: number; repo: string }>(
        "UPDATE builds SET status = $2, reason = $3, finished_at = clock_timestamp() WHERE id = $1 AND status IN ('queued', 'scheduled', 'running') RETURNING workflow_id, job_index, repo",
        [id, status, reason === '' ? null : reason],
      );
      row = r.rows[0];
      if (row !== undefined) {
        const slug = buildSlug({ repo: row.repo, buildId: id });
        this.log.write(LOG_LINES.finalized(slug, status === 'succeeded'));
        // Not awaited: the build agent's answer does not wait for the mail or the live update.
        void this.opts.notifier?.buildEnded(slug, status);
      }
    } catch {
      this.unrecorded++;
      this.log.cannotReach('postgres');
    }
    await redis.del(outputKey(id), finishedKey(id), failedKey(id));
    this.streaming.delete(id);
    if (this.publisher && row?.workflow_id != null) {
      const event: WorkflowEvent = { buildId: id, workflowId: Number(row.workflow_id), jobIndex: row.job_index, status };
      await this.publisher.publish(WORKFLOW_EVENTS_QUEUE, event).catch(() => {
        this.eventsLost++;
      });
    }
    await this.opts.audit?.record('workflow.job.finish', { build_id: id, ...(row?.workflow_id != null ? { workflow_id: Number(row.workflow_id) } : {}) });
    return send(res, 200, { ok: true, [status]: true, lines: lines.length });
  }

  /** The build's step-output log, its artifacts and its test results, to object storage (idempotent keys). */
  private async store(id: number, lines: string[], artifacts: number, testResults: boolean): Promise<void> {
    const objects = this.opts.objects;
    if (!objects) return;
    await objects.put(keyFor('step-output', id, 'steps'), lines.join('\n') + '\n', 'text/plain');
    for (let i = 1; i <= artifacts; i++) await objects.put(keyFor('artifact', id, `artifact-${i}.txt`), `artifact ${i} of build ${id}\n`, 'text/plain');
    if (testResults) {
      const xml = `<?xml version="1.0"?>\n<testsuite name="build-${id}" tests="1" failures="0"><testcase name="test" time="0.1"/></testsuite>\n`;
      await objects.put(keyFor('test-results', id, 'results.xml'), xml, 'application/xml');
    }
  }
}
