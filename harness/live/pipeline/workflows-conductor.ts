import type pg from 'pg';
import { ConfirmPublisher, ReconnectingConsumer, type AmqpConnect, type Channel, type ConsumerOptions } from './amqp.ts';
import { RUN_QUEUE, WORKFLOW_EVENTS_QUEUE, type RunMessage, type WorkflowEvent } from './schema.ts';

export interface WorkflowsConductorOptions extends ConsumerOptions {
  pool: pg.Pool;
  /** The queue a next job's build is published to: `usage-queue` where a dispatcher stage forwards it; default `run-queue`. */
  entryQueue?: string;
}

/**
 * workflows-conductor: consumes `workflow-events`. When a job of a workflow succeeded and another follows, it
 * creates the next job's build (`queued`) and publishes it to `run-queue` (or its `entryQueue`); when the last job succeeded the
 * workflow `succeeded`; a failed job fails the workflow. An event that is redelivered does not start a job
 * twice (one build per workflow and job index).
 */
export class WorkflowsConductor extends ReconnectingConsumer {
  private readonly publisher: ConfirmPublisher;
  jobsStarted = 0;

  constructor(private readonly opts: WorkflowsConductorOptions) {
    super(opts.connect, WORKFLOW_EVENTS_QUEUE, 16, opts.reconnectMs);
    this.publisher = new ConfirmPublisher(opts.connect, [opts.entryQueue ?? RUN_QUEUE]);
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.publisher.close();
  }

  override kill(): void {
    super.kill();
    this.publisher.kill();
  }

  protected async handle(_ch: Channel, content: Buffer, ack: () => void, nack: () => void): Promise<void> {
    const ev = JSON.parse(content.toString('utf8')) as WorkflowEvent;
    const { pool } = this.opts;
    if (ev.status === 'failed') {
      await pool.query("UPDATE workflows SET status = 'failed', finished_at = clock_timestamp() WHERE id = $1 AND status = 'running'", [ev.workflowId]);
      return ack();
    }
    const w = await pool.query<{ jobs_total: number | null; repo: string; sha: string }>('SELECT jobs_total, repo, sha FROM workflows WHERE id = $1', [ev.workflowId]);
    const wf = w.rows[0];
    if (wf === undefined) return ack();
    const next = ev.jobIndex + 1;
    if (next >= (wf.jobs_total ?? 1)) {
      await pool.query("UPDATE workflows SET status = 'succeeded', finished_at = clock_timestamp() WHERE id = $1 AND status = 'running'", [ev.workflowId]);
      return ack();
    }
    const r = await pool.query<{ id: string }>(
      "INSERT INTO builds (repo, sha, status, workflow_id, job_index) VALUES ($1, $2, 'queued', $3, $4) ON CONFLICT (workflow_id, job_index) WHERE retry_of IS NULL DO NOTHING RETURNING id",
      [wf.repo, wf.sha, ev.workflowId, next],
    );
    const id = r.rows[0]?.id;
    if (id === undefined) return ack();
    try {
      await this.publisher.publish(this.opts.entryQueue ?? RUN_QUEUE, { buildId: Number(id), repo: wf.repo, sha: wf.sha, jobIndex: next } satisfies RunMessage);
    } catch {
      // The broker did not take it: no build, and the event is dropped (the broker is going or gone): the
      // workflow stays `running` with no job in flight, inconsistent, as when the broker loses the event itself.
      await pool.query('DELETE FROM builds WHERE id = $1', [id]).catch(() => undefined);
      return nack();
    }
    this.jobsStarted++;
    ack();
  }
}
