import { describe, expect, it } from 'vitest';
import { devConsoleQueue, type UndispatchedBuild } from './usage-queue.ts';

const b = (id: number, forwarded: boolean, retry = false): UndispatchedBuild => ({ id: String(id), repo: 'twin/app', forwarded, retry });

describe('the dev-console\'s queues on the live stack', () => {
  const builds = [b(1, true), b(2, true, true), b(3, false), b(4, false, true), b(5, false)];
  it('with a dispatcher: the usage queue holds what it has not forwarded, the run queue the rest and the re-runs', () => {
    expect(devConsoleQueue(builds, 'usage', true)).toEqual(['gh/twin/app/3', 'gh/twin/app/5']);
    expect(devConsoleQueue(builds, 'run', true)).toEqual(['gh/twin/app/1', 'gh/twin/app/2', 'gh/twin/app/4']);
  });
  it('without one, frontend publishes to the run queue: the usage queue is empty', () => {
    expect(devConsoleQueue(builds, 'usage', false)).toEqual([]);
    expect(devConsoleQueue(builds, 'run', false)).toHaveLength(5);
  });
});
