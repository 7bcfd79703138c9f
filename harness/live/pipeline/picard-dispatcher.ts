import { parse } from 'yaml';
import { GithubClient } from '../../github/client.ts';
import { ReconnectingConsumer, type AmqpConnect, type Channel } from './amqp.ts';
import { RUN_QUEUE, SCHEDULERER_QUEUE, type RunMessage, type ScheduleMessage } from './schema.ts';

export const DEFAULT_PARALLELISM = 1;
export const DEFAULT_DURATION_MS = 2000;

/** `parallelism` (top level, else the largest of the jobs') and the twin-only `x-twin-duration-ms`. */
export function readBuildConfig(text: string): { parallelism: number; durationMs: number } {
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  let parallelism = num(doc.parallelism);
  if (parallelism === undefined && doc.jobs && typeof doc.jobs === 'object') {
    for (const job of Object.values(doc.jobs as Record<string, unknown>)) {
      const p = job && typeof job === 'object' ? num((job as Record<string, unknown>).parallelism) : undefined;
      if (p !== undefined) parallelism = Math.max(parallelism ?? 0, p);
    }
  }
  return { parallelism: Math.floor(parallelism ?? DEFAULT_PARALLELISM), durationMs: num(doc['x-twin-duration-ms']) ?? DEFAULT_DURATION_MS };
}

export interface PicardDispatcherOptions {
  connect: AmqpConnect;
  github: GithubClient;
}

/**
 * picard-dispatcher: consumes `run-queue` (manual ack, prefetch 16), fetches `.circleci/config.yml` at the
 * pushed SHA from GHE, and publishes the build to `schedulerer`; acks only after publishing. A config that
 * cannot be fetched or read is dropped (nack without requeue).
 */
export class PicardDispatcher extends ReconnectingConsumer {
  dispatched = 0;
  dropped = 0;

  constructor(private readonly opts: PicardDispatcherOptions) {
    super(opts.connect, RUN_QUEUE, 16);
  }

  protected override async declare(ch: Channel): Promise<void> {
    await ch.assertQueue(SCHEDULERER_QUEUE, { durable: false });
  }

  protected async handle(ch: Channel, content: Buffer, ack: () => void, nack: () => void): Promise<void> {
    const msg = JSON.parse(content.toString('utf8')) as RunMessage;
    const [owner, name] = msg.repo.split('/');
    let cfg: { parallelism: number; durationMs: number };
    try {
      cfg = readBuildConfig(await this.opts.github.fetchConfig(owner!, name!, msg.sha));
    } catch {
      this.dropped++;
      nack();
      return;
    }
    const out: ScheduleMessage = { ...msg, ...cfg };
    ch.sendToQueue(SCHEDULERER_QUEUE, Buffer.from(JSON.stringify(out)), { contentType: 'application/json' });
    this.dispatched++;
    ack();
  }
}
