import { randomUUID } from 'node:crypto';
import { ConfirmPublisher, ReconnectingConsumer, type AmqpConnect, type Channel, type ConsumerOptions } from './amqp.ts';
import { keyFor } from '../../providers/s3/storage-layout.ts';
import type { ObjectStore } from '../../providers/s3/object-store.ts';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';

/** The durable queue the services fire audit events into. */
export const AUDIT_QUEUE = 'audit-events';

/** One audit event (the seeds' action types, e.g. `workflow.job.finish`). */
export interface AuditEvent {
  /** Unique per event: a file written twice (written, then the service killed before its acks) repeats ids. */
  id: string;
  action: string;
  /** ISO 8601, when the service fired it. */
  at: string;
  build_id?: number;
  workflow_id?: number;
}

/**
 * A service's side of the audit log: fires events into the durable `audit-events` queue as persistent messages.
 * An event RabbitMQ does not take is never recorded ("some events may not be recorded"): counted in `lost`.
 */
export class AuditPublisher {
  private readonly publisher: ConfirmPublisher;
  recorded = 0;
  lost = 0;

  constructor(connect: AmqpConnect) {
    this.publisher = new ConfirmPublisher(connect, [AUDIT_QUEUE], new Set([AUDIT_QUEUE]));
  }

  async record(action: string, fields: Omit<AuditEvent, 'id' | 'action' | 'at'> = {}): Promise<void> {
    try {
      await this.publisher.publish(AUDIT_QUEUE, { id: randomUUID(), action, at: new Date().toISOString(), ...fields } satisfies AuditEvent);
      this.recorded++;
    } catch {
      this.lost++;
    }
  }

  close(): Promise<void> {
    return this.publisher.close();
  }

  kill(): void {
    this.publisher.kill();
  }
}

export interface AuditLogServiceOptions extends ConsumerOptions {
  objects: ObjectStore;
  /** Wall ms between files; default 1000. */
  flushMs?: number;
}

/**
 * audit-log-service: consumes the durable `audit-events` queue and writes the events, one JSON object a line,
 * in files under `audit-logs/audit_log/v1/<yyyy>/<mm>/<dd>/` in object storage, acknowledging them only once
 * their file is written. While it is down, or object storage refuses, events wait in the queue.
 */
export class AuditLogService extends ReconnectingConsumer {
  protected override readonly durable = true;
  private batch: { event: AuditEvent; ack: () => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  persisted = 0;
  files = 0;

  constructor(private readonly opts: AuditLogServiceOptions) {
    // Up to this many events wait unacknowledged for the next file.
    super(opts.connect, AUDIT_QUEUE, 1_000, opts.reconnectMs);
  }

  override async start(): Promise<void> {
    await super.start();
    this.timer ??= setInterval(() => void this.flush(), this.opts.flushMs ?? 1_000);
  }

  override async stop(): Promise<void> {
    await this.flush();
    this.stopTimer();
    await super.stop();
  }

  override kill(): void {
    this.stopTimer();
    // Unacknowledged events go back to the queue with the connection: nothing is lost, nothing written.
    this.batch = [];
    super.kill();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  protected async handle(_ch: Channel, content: Buffer, ack: () => void): Promise<void> {
    this.batch.push({ event: JSON.parse(content.toString('utf8')) as AuditEvent, ack });
  }

  /** Writes what has arrived as one file and acknowledges it; on a failed write the events wait for the next. */
  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    const body = batch.map((b) => JSON.stringify(b.event)).join('\n') + '\n';
    const key = keyFor('audit-log', new Date(), `${process.pid}-${++this.seq}`);
    try {
      await this.opts.objects.put(key, body, 'application/x-ndjson');
    } catch {
      this.log.cannotReach('object storage');
      this.batch = [...batch, ...this.batch];
      return;
    }
    this.log.reached('object storage');
    this.log.write(LOG_LINES.auditWritten(batch.length, key));
    for (const b of batch) b.ack();
    this.persisted += batch.length;
    this.files++;
  }
}
