import type pg from 'pg';
import { ReconnectingConsumer, type Channel, type ConsumerOptions } from './amqp.ts';
import { buildSlug, RUN_QUEUE, USAGE_QUEUE, type RunMessage } from './schema.ts';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';
import { buildOid } from '../../../sim/symptoms/container-logs.ts';

/**
 * dispatcher (the frontend image in dispatcher mode): consumes `usage-queue` (manual ack, prefetch 16), where
 * frontend and workflows-conductor put new builds, and forwards each to `run-queue` unchanged, acking only after
 * it was handed to the broker; it logs the seeds' `-> forwarded to run-queue` line for each and records
 * `forwarded_at` (best effort, as picard-dispatcher's `dispatched_at`: PostgreSQL down, builds still move). Hung (its worker's
 * thread blocked) or down, builds pile up in the usage queue and picard-dispatcher sees none: the first stop of
 * "Debugging Queuing Builds". Both queues are non-durable, as the simulation's (`sim/models/services/dispatcher.ts`).
 */
export interface DispatcherOptions extends ConsumerOptions {
  /** Where `forwarded_at` is recorded; without it, nothing is. */
  pool?: pg.Pool;
}

export class Dispatcher extends ReconnectingConsumer {
  forwarded = 0;

  constructor(private readonly opts: DispatcherOptions) {
    super(opts.connect, USAGE_QUEUE, 16, opts.reconnectMs);
  }

  override async start(): Promise<void> {
    await super.start();
    this.log.write(LOG_LINES.dispatcherMode);
  }

  protected override async declare(ch: Channel): Promise<void> {
    await ch.assertQueue(RUN_QUEUE, { durable: false });
  }

  protected async handle(ch: Channel, content: Buffer, ack: () => void): Promise<void> {
    const msg = JSON.parse(content.toString('utf8')) as RunMessage;
    ch.sendToQueue(RUN_QUEUE, content, { contentType: 'application/json' });
    const oid = buildOid(msg.buildId);
    this.log.write(LOG_LINES.forwarded(oid, buildSlug(msg)));
    this.log.write(LOG_LINES.usageChanged(oid));
    this.forwarded++;
    ack();
    await this.opts.pool?.query('UPDATE builds SET forwarded_at = COALESCE(forwarded_at, clock_timestamp()) WHERE id = $1', [msg.buildId]).catch(() => undefined);
  }
}
