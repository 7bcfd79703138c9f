import type { World } from '../world.ts';
import { MessageQueue } from './message-queue.ts';
import { REASONS } from '../../domain/fates.ts';

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
 * While the disk alarm is on (free disk below RabbitMQ's limit) publishers are blocked: they wait, and go on
 * once the alarm clears; nothing is lost, but nothing new gets in (an HTTP caller waiting on it times out).
 */
export class Broker {
  private readonly queues: Registered[] = [];
  private alarm = false;
  private waiting: (() => void)[] = [];
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
    this.drop(() => true, (queue) => `message lost when rabbitmq data was wiped (${queue})`);
    for (const h of this.wipeHooks) h();
  }

  /** RabbitMQ's disk alarm (set by the disk model when free space falls below the limit). */
  get diskAlarm(): boolean {
    return this.alarm;
  }

  setDiskAlarm(on: boolean): void {
    if (on === this.alarm) return;
    this.alarm = on;
    this.world.trace?.(`${this.world.sim.nowMs} rabbitmq disk alarm ${on ? 'set' : 'cleared'}`);
    if (!on) {
      const waiting = this.waiting;
      this.waiting = [];
      for (const w of waiting) w();
    }
  }

  /** Why a publish fails now (the broker is not running), or undefined. A disk alarm does not fail it: see `whenPublishable`. */
  publishRefused(): string | undefined {
    return this.world.services.isUp('rabbitmq') ? undefined : 'rabbitmq down';
  }

  /**
   * Publishes to a declared queue, then calls `published`: a publisher blocked by the disk alarm waits for it to
   * clear; a message the broker refuses (it is down) goes to the queue's loss handler.
   */
  publish<T>(queue: MessageQueue<T>, item: T, published: () => void): void {
    if (this.alarm) {
      this.waiting.push(() => this.publish(queue, item, published));
      return;
    }
    const refused = this.publishRefused();
    if (refused !== undefined) {
      const registered = this.queues.find((q) => q.queue === (queue as MessageQueue<unknown>));
      if (registered === undefined) throw new Error(`queue ${queue.name} was not declared on the broker`);
      registered.onLost(item, `${refused}: could not publish to ${queue.name}`);
      return;
    }
    queue.push(item);
    published();
  }

  /** Runs `publish` now, or once the disk alarm clears (a blocked publisher waits). */
  whenPublishable(publish: () => void): void {
    if (this.alarm) this.waiting.push(publish);
    else publish();
  }

  /** Consumers receive only from a running broker. */
  get deliverable(): boolean {
    return this.world.services.isUp('rabbitmq');
  }

  private dropNonDurable(): void {
    this.drop((q) => !q.durable, REASONS.nonDurableQueueLost);
  }

  private drop(which: (q: MessageQueue<unknown>) => boolean, reason: (queue: string) => string): void {
    for (const { queue, onLost } of this.queues) {
      if (!which(queue)) continue;
      const items = queue.drain();
      this.lost += items.length;
      for (const item of items) onLost(item, reason(queue.name));
    }
  }
}
