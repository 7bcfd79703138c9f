import { describe, expect, it } from 'vitest';
import { waitingBuilds } from './live-support.ts';

describe('queued builds that still wait on the live stack (the simulation\'s unfinishedFate)', () => {
  const rows = [{ dispatched: false }, { dispatched: false }, { dispatched: false }, { dispatched: true }];

  it('counts every queued build while RabbitMQ has not gone down (a message in a consumer\'s hands is not in the depth)', () => {
    expect(waitingBuilds(rows, { runQueue: 0, schedulerQueue: 0 }, false)).toBe(4);
  });

  it('after RabbitMQ went down, counts only the builds whose message still waits in their queue: the others were lost with it', () => {
    expect(waitingBuilds(rows, { runQueue: 0, schedulerQueue: 0 }, true)).toBe(0);
    expect(waitingBuilds(rows, { runQueue: 2, schedulerQueue: 0 }, true)).toBe(2);
    expect(waitingBuilds(rows, { runQueue: 5, schedulerQueue: 1 }, true)).toBe(4);
    // A dispatched build waits in picard-scheduler's queue, not in run-queue.
    expect(waitingBuilds(rows, { runQueue: 0, schedulerQueue: 1 }, true)).toBe(1);
    expect(waitingBuilds(rows, { runQueue: undefined, schedulerQueue: undefined }, true)).toBe(0);
  });
});
