import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import { NodeTable } from './cluster-state.ts';
import { BATCH_CANDIDATE_LIMIT, GenericStack, MAX_SKIP, candidateLimit, type StackJob } from './stack.ts';

function table(n: number, cpuMilli = 8000, memoryMb = 32768): NodeTable {
  const t = new NodeTable(4);
  for (let i = 0; i < n; i++) t.add(`node-${i}`, { name: `n${i}`, cpuMilli, memoryMb }, 2000, 4096, 'us-east-1', 'linux-64bit');
  return t;
}

function job(over: Partial<StackJob> = {}): StackJob {
  return { cpuMilli: 2000, memoryMb: 4096, dcIdx: -1, classIdx: -1, count: 1, perNode: null, ...over };
}

function stackOn(t: NodeTable, seed = 1, limit = BATCH_CANDIDATE_LIMIT): GenericStack {
  const s = new GenericStack(t, new Rng(seed), 'binpack', limit);
  for (let i = 0; i < t.size; i++) s.addNode(i);
  return s;
}

describe('LimitIterator limit', () => {
  it('is 2 for batch jobs whatever the fleet size', () => {
    for (const n of [0, 1, 2, 100, 5000]) expect(candidateLimit('batch', n)).toBe(2);
  });

  it('is max(2, ceil(log2 n)) for service jobs', () => {
    expect(candidateLimit('service', 1)).toBe(2);
    expect(candidateLimit('service', 4)).toBe(2);
    expect(candidateLimit('service', 5)).toBe(3);
    expect(candidateLimit('service', 1000)).toBe(10);
    expect(candidateLimit('service', 5000)).toBe(13);
  });
});

describe('GenericStack.select', () => {
  it('looks at no more than limit (+ skipped) nodes when the fleet has room', () => {
    const t = table(1000);
    const s = stackOn(t);
    s.setJob(job());
    for (let k = 0; k < 100; k++) {
      expect(s.select()).toBeGreaterThanOrEqual(0);
      expect(s.metrics.nodesEvaluated).toBeLessThanOrEqual(BATCH_CANDIDATE_LIMIT + MAX_SKIP);
    }
  });

  it('walks every node once before giving up, and counts why each was rejected', () => {
    const t = table(10, 4000, 8192); // usable 2000 m / 4096 MB
    for (let i = 0; i < 10; i++) t.usedCpu[i] = i < 6 ? 2000 : 0;
    for (let i = 6; i < 10; i++) t.usedMem[i] = 4096;
    t.drain[0] = 1;
    const s = stackOn(t);
    s.setJob(job());
    expect(s.select()).toBe(-1);
    expect(s.metrics).toEqual({ nodesEvaluated: 9, nodesFiltered: 0, nodesExhausted: 9, exhaustedCpu: 5, exhaustedMemory: 4 });
  });

  it('continues from where the previous placement stopped (the StaticIterator offset)', () => {
    const t = table(6);
    const s = stackOn(t, 3);
    s.setJob(job({ cpuMilli: 6000 })); // each node takes exactly one: each placement must go elsewhere
    const chosen = [0, 1, 2, 3, 4, 5].map(() => {
      const i = s.select();
      t.usedCpu[i]! += 6000;
      return i;
    });
    expect(new Set(chosen).size).toBe(6);
    expect(s.select()).toBe(-1);
  });

  it('sets aside nodes scoring ≤ 0 (job anti-affinity) while a better option exists', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const t = table(4, 64000, 262144);
      const s = stackOn(t, seed);
      // Nodes 0-2 already run two of this job's four tasks: penalty −3/4 drags them below 0.
      s.setJob(job({ count: 4, perNode: new Map([[0, 2], [1, 2], [2, 2]]) }));
      expect(s.select()).toBe(3);
    }
  });

  it('falls back on the set-aside nodes when nothing better exists', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const t = table(2, 64000, 262144);
      const s = stackOn(t, seed);
      s.setJob(job({ count: 4, perNode: new Map([[0, 1], [1, 3]]) }));
      // Both are set aside; once the walk ends they fill the limit's slots and the less penalised wins.
      // (Only the first `limit` set-aside nodes are considered, in visiting order, as in Nomad.)
      expect(s.select()).toBe(0);
    }
  });

  it('respects the datacenter and class of the job', () => {
    const t = new NodeTable(4);
    t.add('a', { name: 'a', cpuMilli: 8000, memoryMb: 32768 }, 2000, 4096, 'us-east-1', 'linux-64bit');
    t.add('b', { name: 'b', cpuMilli: 8000, memoryMb: 32768 }, 2000, 4096, 'us-west-2', 'linux-64bit');
    t.add('c', { name: 'c', cpuMilli: 8000, memoryMb: 32768 }, 2000, 4096, 'us-west-2', 'gpu');
    const s = stackOn(t, 9);
    s.setJob(job({ dcIdx: t.datacenterIndex('us-west-2'), classIdx: t.classIndex('gpu') }));
    expect(s.select()).toBe(2);
    s.setJob(job({ classIdx: t.classIndex('windows') }));
    expect(s.select()).toBe(-1);
    expect(s.metrics).toMatchObject({ nodesEvaluated: 3, nodesFiltered: 3 });
  });
});
