import type { World } from '../world.ts';
import { MessageQueue } from './message-queue.ts';

/** Called for each message a queue loses, with why. */
export type LossHandler<T> = (item: T, reason: string) => void;

interface Registered {
  queue: MessageQueue<unknown>;
  onLost: LossHandler<unknown>;
}

/**
 * RabbitMQ ("most of our services use RabbitMQ for queueing"): the queues, whether publishing works, and
 * what a broker restart does. Non-durable queues do not survive the broker going down (a kill or a stop:
 * RabbitMQ deletes them on restart); durable ones do. A paused broker loses nothing but accepts nothing.
 * Publishers are also blocked while the disk alarm is on (free disk below RabbitMQ's limit).
 */
export class Broker {
  private readonly queues: Registered[] = [];
  /** RabbitMQ's disk alarm: set by the disk model when free space falls below the limit. */
  diskAlarm = false;
  /** Messages lost with queues, over the run. */
  lost = 0;
  private readonly wipeHooks: (() => void)[] = [];

  constructor(private readonly world: World) {
    world.services.onChange('rabbitmq', (_n, state, previous) => {
      if (previous === 'running' && (state === 'stopped' || state === 'failed')) this.dropNonDurable();
    });
  }

  /** Declares a queue on the broker; `onLost` is told of each message lost with it. */
  declare<T>(name: string, durable: boolean, onLost: LossHandler<T>): MessageQueue<T> {
    const queue = new MessageQueue<T>(name, durable);
    this.queues.push({ queue: queue as MessageQueue<unknown>, onLost: onLost as LossHandler<unknown> });
    return queue;
  }

  /** Called when the broker's data is deleted (durable queues go too). */
  onWipe(hook: () => void): void {
    this.wipeHooks.push(hook);
  }

  /** RabbitMQ's mnesia directory deleted: every queue, durable or not, loses its messages. */
  wipe(): void {
    this.drop(() => true, 'message lost when rabbitmq data was wiped');
    for (const h of this.wipeHooks) h();
  }

  /** Why a publish would fail now, or undefined if it would succeed. */
  publishBlocked(): string | undefined {
    if (!this.world.services.isUp('rabbitmq')) return 'rabbitmq down';
    if (this.diskAlarm) return 'rabbitmq disk alarm (Services machine disk nearly full)';
    return undefined;
  }

  /** Consumers receive only from a running broker. */
  get deliverable(): boolean {
    return this.world.services.isUp('rabbitmq');
  }

  private dropNonDurable(): void {
    this.drop((q) => !q.durable, 'message lost from a non-durable queue when rabbitmq went down');
  }

  private drop(which: (q: MessageQueue<unknown>) => boolean, reason: string): void {
    for (const { queue, onLost } of this.queues) {
      if (!which(queue)) continue;
      const items = queue.drain();
      this.lost += items.length;
      for (const item of items) onLost(item, `${reason} (${queue.name})`);
    }
  }
}
