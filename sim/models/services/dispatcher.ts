import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { MessageQueue } from './message-queue.ts';
import type { Broker } from './broker.ts';
import type { Fates } from './fates.ts';
import { NEEDS } from './dependencies.ts';
import { TIMINGS } from '../timings.ts';

/** Who consumes the run queue (picard-dispatcher), told when a build arrives there. */
export interface RunQueueConsumer {
  poke(): void;
}

/**
 * dispatcher (the frontend image in dispatcher mode): new builds enter the usage queue and are forwarded to
 * the run queue ("forwarded to run-queue" in its log). Both are non-durable RabbitMQ queues: a broker restart
 * loses what waits in them. The run queue is where queue time starts.
 */
export class Dispatcher {
  readonly usageQueue: MessageQueue<Build>;
  readonly runQueue: MessageQueue<Build>;
  private consumer: RunQueueConsumer | undefined;
  private forwarding = false;

  constructor(
    private readonly world: World,
    private readonly broker: Broker,
    fates: Fates,
  ) {
    const lose = (b: Build, reason: string) => fates.lose(b, reason);
    this.usageQueue = broker.declare<Build>('usage-queue', false, lose);
    this.runQueue = broker.declare<Build>('run-queue', false, lose);
    world.services.onAnyChange(['dispatcher', 'rabbitmq', 'mongo'], (_n, state) => {
      if (state === 'running') this.scheduleForward();
    });
  }

  connect(consumer: RunQueueConsumer): void {
    this.consumer = consumer;
  }

  /** workflows-conductor publishes a new build; if the broker refuses, the build is lost. */
  enqueue(build: Build): void {
    build.stage = 'usage-queue';
    this.broker.publish(this.usageQueue, build, this.scheduleForward);
  }

  private readonly scheduleForward = (): void => {
    if (this.forwarding || this.usageQueue.length === 0) return;
    this.forwarding = true;
    this.world.sim.schedule(TIMINGS.usageQueueForwardMs, this.forward);
  };

  /** Forwards everything waiting in the usage queue (the seeds' "usage-changed (:recur)" loop). */
  private readonly forward = (): void => {
    this.forwarding = false;
    if (this.world.services.firstDown(NEEDS.forward) !== undefined || !this.broker.deliverable) return;
    if (this.broker.diskAlarm) return this.broker.whenPublishable(() => this.scheduleForward());
    const now = this.world.sim.nowMs;
    for (let b = this.usageQueue.shift(); b !== undefined; b = this.usageQueue.shift()) {
      b.stage = 'run-queue';
      b.enteredRunQueueMs = now;
      this.runQueue.push(b);
    }
    this.consumer!.poke();
  };
}
