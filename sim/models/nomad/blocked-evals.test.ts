import { describe, expect, it } from 'vitest';
import { BlockedEvals } from './blocked-evals.ts';
import { Job } from './cluster-state.ts';

let seq = 0;
const job = (id: string, priority: number, cpu = 1000, mem = 1024): Job => new Job(id, priority, 1, cpu, mem, null, null, -1, -1, seq++);

describe('BlockedEvals', () => {
  it('orders by priority, then creation, and skips removed jobs', () => {
    const q = new BlockedEvals();
    const a = job('a', 50);
    const b = job('b', 70);
    const c = job('c', 50);
    const d = job('d', 30);
    for (const j of [a, b, c, d]) q.block(j);
    expect(q.jobs().map((j) => j.id)).toEqual(['b', 'a', 'c', 'd']);
    q.unblock(a);
    expect(q.size).toBe(3);
    expect(q.first()?.id).toBe('b');
    expect(q.after(b)?.id).toBe('c');
    expect(q.after(a)?.id).toBe('c'); // from a removed job, too
    expect(q.seek({ priority: 50, seq: c.seq })?.id).toBe('c');
    expect(q.after(d)).toBeNull();
    expect(() => q.block(b)).toThrow(/already blocked/);
  });

  it('tracks the smallest blocked request per dimension', () => {
    const q = new BlockedEvals();
    const big = job('big', 50, 4000, 512);
    const small = job('small', 50, 500, 8192);
    q.block(big);
    q.block(small);
    expect([q.smallestCpuMilli, q.smallestMemoryMb]).toEqual([500, 512]);
    q.unblock(small);
    expect([q.smallestCpuMilli, q.smallestMemoryMb]).toEqual([4000, 512]);
    q.unblock(big);
    expect([q.smallestCpuMilli, q.smallestMemoryMb]).toEqual([Infinity, Infinity]);
  });

  it('compacts lazily deleted entries and keeps its order', () => {
    const q = new BlockedEvals();
    const jobs = Array.from({ length: 200 }, (_, k) => job(`j${k}`, 50));
    for (const j of jobs) q.block(j);
    for (let k = 0; k < 150; k++) q.unblock(jobs[k]!);
    expect(q.jobs().map((j) => j.id)).toEqual(jobs.slice(150).map((j) => j.id));
    q.clear();
    expect(q.size).toBe(0);
    expect(q.first()).toBeNull();
  });
});
