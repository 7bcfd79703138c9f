import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import { MessageQueue } from './message-queue.ts';
import { TIMINGS } from '../timings.ts';

/** Who consumes the run queue (picard-dispatcher), told when a build arrives there. */
export interface RunQueueConsumer {
  poke(): void;
}

/**
 * dispatcher (the frontend image in dispatcher mode): new builds enter the usage queue and are forwarded to
 * the run queue ("forwarded to run-queue" in its log). The run queue is where queue time starts.
 */
export class Dispatcher {
  readonly usageQueue = new MessageQueue<Build>('usage-queue', true);
  readonly runQueue = new MessageQueue<Build>('run-queue', true);
  private consumer: RunQueueConsumer | undefined;
  private forwarding = false;

  constructor(private readonly world: World) {
    world.services.onChange('dispatcher', (_n, state) => {
      if (state === 'running') this.scheduleForward();
    });
  }

  connect(consumer: RunQueueConsumer): void {
    this.consumer = consumer;
  }

  enqueue(build: Build): void {
    build.stage = 'usage-queue';
    this.usageQueue.push(build);
    this.scheduleForward();
  }

  private scheduleForward(): void {
    if (this.forwarding || this.usageQueue.length === 0) return;
    this.forwarding = true;
    this.world.sim.schedule(TIMINGS.usageQueueForwardMs, this.forward);
  }

  /** Forwards everything waiting in the usage queue (the seeds' "usage-changed (:recur)" loop). */
  private readonly forward = (): void => {
    this.forwarding = false;
    if (!this.world.services.isUp('dispatcher')) return;
    const now = this.world.sim.nowMs;
    for (let b = this.usageQueue.shift(); b !== undefined; b = this.usageQueue.shift()) {
      b.stage = 'run-queue';
      b.enteredRunQueueMs = now;
      this.runQueue.push(b);
    }
    this.consumer!.poke();
  };
}
