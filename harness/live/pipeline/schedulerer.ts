import type pg from 'pg';
import { NomadApiError, NomadClient } from '../../nomad/client.ts';
import type { ApiTask } from '../../nomad/shapes.ts';
import { ConfirmPublisher, ReconnectingConsumer, type AmqpConnect, type Channel, type ConsumerOptions } from './amqp.ts';
import { buildSlug, RUN_QUEUE, SCHEDULERER_QUEUE, type ScheduleMessage } from './schema.ts';
import type { AuditPublisher } from './audit-log-service.ts';
import { LostAllocationWatcher } from './lost-allocations.ts';
import { REASONS } from '../../../sim/domain/fates.ts';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';

export interface SchedulererOptions extends ConsumerOptions {
  pool: pg.Pool;
  nomad: NomadClient;
  /** Where `workflow.job.scheduled` audit events go. */
  audit?: AuditPublisher;
  /** The Nomad clients' datacenter (the twin's `us-east-1`; a dev agent's `dc1`): Nomad 0.9.3 refuses a job without one. */
  datacenter?: string;
  /** The build agent's task (default: the twin's `docker` build-agent task, which the in-process runner runs). */
  task?: BuildTask;
}

/** A build's Nomad task, for container `index` (a real agent runs `rawExecBuildAgentTask`). */
export type BuildTask = (msg: ScheduleMessage, index: number) => ApiTask;

/** The twin's Nomad clients' datacenter, as the seeds' `nomad node-status` prints it. */
export const DEFAULT_BUILD_DATACENTER = 'us-east-1';

/**
 * The Nomad jobs of a build, as the seeds describe them: parallelism N makes N jobs (`build-<id>` when N is 1,
 * else `build-<id>-<i>`), each one task group of Count 1, with the build's id, its container index and duration in Meta.
 */
export function buildJobs(msg: ScheduleMessage, datacenter = DEFAULT_BUILD_DATACENTER, task?: BuildTask) {
  const n = Math.max(1, msg.parallelism);
  return Array.from({ length: n }, (_, i) => buildJob(msg, datacenter, n === 1 ? undefined : i, task));
}

/** One of a build's Nomad jobs: container `index` of its parallel run (undefined: the build's only job). */
export function buildJob(msg: ScheduleMessage, datacenter = DEFAULT_BUILD_DATACENTER, index?: number, task?: BuildTask) {
  const id = index === undefined ? `build-${msg.buildId}` : `build-${msg.buildId}-${index}`;
  return {
    ID: id,
    Name: id,
    Type: 'batch',
    Priority: 50,
    Datacenters: [datacenter],
    // Each container's job carries its own drawn duration (sim/domain/build-draws: the same numbers as the simulation's).
    Meta: { build_id: String(msg.buildId), parallel_index: String(index ?? 0), duration_ms: String(msg.taskDurationsMs?.[index ?? 0] ?? msg.durationMs), parallelism: String(msg.parallelism), ...(msg.fails ? { fails: 'true' } : {}), ...(msg.vm ? { vm: msg.vm } : {}), ...(msg.artifacts ? { artifacts: String(msg.artifacts) } : {}), ...(msg.testResults ? { test_results: 'true' } : {}) },
    TaskGroups: [
      {
        Name: 'build',
        Count: 1,
        Tasks: [task?.(msg, index ?? 0) ?? { Name: 'build-agent', Driver: 'docker', Config: { image: 'circleci/build-agent' }, Resources: { CPU: msg.cpuMhz ?? 1000, MemoryMB: msg.memoryMb ?? 1024 } }],
      },
    ],
  };
}

/**
 * schedulerer (picard-scheduler's part in v0): registers the build's Nomad batch job and marks the row
 * `scheduled`. When Nomad cannot be reached the message is acked and dropped: the seeds' picard-scheduler
 * "does not actually handle queuing of the jobs". It also watches its jobs' allocations: a build whose
 * allocation Nomad declared lost fails as an infrastructure failure and is re-run (`LostAllocationWatcher`).
 */
export class Schedulerer extends ReconnectingConsumer {
  scheduled = 0;
  dropped = 0;
  private readonly retries: ConfirmPublisher;
  readonly lost: LostAllocationWatcher;

  constructor(private readonly opts: SchedulererOptions) {
    super(opts.connect, SCHEDULERER_QUEUE, 16, opts.reconnectMs);
    this.retries = new ConfirmPublisher(opts.connect, [RUN_QUEUE]);
    this.lost = new LostAllocationWatcher({ nomad: opts.nomad, pool: opts.pool, publisher: this.retries });
  }

  override async start(): Promise<void> {
    await super.start();
    this.lost.start();
  }

  override async stop(): Promise<void> {
    await this.lost.stop();
    await super.stop();
    await this.retries.close();
    await this.opts.audit?.close();
  }

  override kill(): void {
    void this.lost.stop();
    super.kill();
    this.retries.kill();
    this.opts.audit?.kill();
  }

  protected async handle(_ch: Channel, content: Buffer, ack: () => void): Promise<void> {
    const msg = JSON.parse(content.toString('utf8')) as ScheduleMessage;
    try {
      for (const job of buildJobs(msg, this.opts.datacenter, this.opts.task)) {
        await this.opts.nomad.registerJob(job as Parameters<NomadClient['registerJob']>[0]);
        this.log.write(LOG_LINES.submitted(buildSlug(msg), job.ID));
      }
      this.log.reached('nomad_server');
    } catch (err) {
      // Unreachable (or refused): dropped, as picard-scheduler does; the build will never run.
      const why = err instanceof NomadApiError ? `Nomad refused the job: ${err.message}` : REASONS.nomadUnreachable;
      if (!(err instanceof NomadApiError)) this.log.cannotReach('nomad_server');
      this.dropped++;
      ack();
      await this.opts.pool.query("UPDATE builds SET status = 'lost', reason = $2 WHERE id = $1 AND status = 'queued'", [msg.buildId, why]).catch(() => undefined);
      return;
    }
    await this.opts.pool
      .query("UPDATE builds SET status = 'scheduled', scheduled_at = clock_timestamp(), parallelism = $2 WHERE id = $1 AND status = 'queued'", [msg.buildId, msg.parallelism])
      .catch(() => undefined);
    this.scheduled++;
    ack();
    await this.opts.audit?.record('workflow.job.scheduled', { build_id: msg.buildId });
  }
}
