import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import fc from 'fast-check';
import { NodeTable } from './cluster-state.ts';
import { FitIndex } from './feasible.ts';
import { BATCH_CANDIDATE_LIMIT, GenericStack, MAX_SKIP, candidateLimit, type StackJob } from './stack.ts';

function table(n: number, cpuMilli = 8000, memoryMb = 32768): NodeTable {
  const t = new NodeTable(4);
  for (let i = 0; i < n; i++) t.add(`node-${i}`, { name: `n${i}`, cpuMilli, memoryMb }, 2000, 4096, 'us-east-1', 'linux-64bit');
  return t;
}

function job(over: Partial<StackJob> = {}): StackJob {
  return { cpuMilli: 2000, memoryMb: 4096, dcIdx: -1, classIdx: -1, count: 1, perNode: null, shape: null, ...over };
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
    for (let i = 0; i < 6; i++) t.allocate(i, 2000, 0);
    for (let i = 6; i < 10; i++) t.allocate(i, 0, 4096);
    t.setDrain(0, true);
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
      t.allocate(i, 6000, 0);
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

describe('FitIndex', () => {
  it('keeps per-shape counts equal to a recount under random node changes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ node: fc.nat(), what: fc.constantFrom('use', 'free', 'drain', 'undrain', 'down', 'up', 'inelig', 'elig'), amount: fc.constantFrom(500, 2000, 4096) }),
          { maxLength: 60 },
        ),
        (changes) => {
          const t = new NodeTable(2);
          for (let i = 0; i < 5; i++) t.add(`n${i}`, { name: `n${i}`, cpuMilli: 8000, memoryMb: 16384 }, 2000, 4096, i < 3 ? 'east' : 'west', i % 2 ? 'x' : 'y');
          const idx = new FitIndex(t);
          const shapes = [
            idx.shapeFor({ cpuMilli: 2000, memoryMb: 4096, dcIdx: -1, classIdx: -1 })!,
            idx.shapeFor({ cpuMilli: 500, memoryMb: 8192, dcIdx: t.datacenterIndex('east'), classIdx: t.classIndex('x') })!,
          ];
          expect(idx.shapeFor({ cpuMilli: 2000, memoryMb: 4096, dcIdx: -1, classIdx: -1 })).toBe(shapes[0]);
          for (const c of changes) {
            const i = c.node % t.size;
            idx.beforeChange(i);
            if (c.what === 'use') t.allocate(i, c.amount, c.amount);
            else if (c.what === 'free') t.release(i, Math.min(c.amount, t.usedCpu[i]!), Math.min(c.amount, t.usedMem[i]!));
            else if (c.what === 'drain' || c.what === 'undrain') t.setDrain(i, c.what === 'drain');
            else if (c.what === 'down' || c.what === 'up') t.setStatus(i, c.what === 'down' ? 2 : 1);
            else t.setEligible(i, c.what === 'elig');
            idx.afterChange(i);
          }
          const fresh = new FitIndex(t);
          for (const sh of shapes) {
            const re = fresh.shapeFor(sh.ask)!;
            expect([sh.base, sh.baseClass, sh.cpuFit, sh.fit]).toEqual([re.base, re.baseClass, re.cpuFit, re.fit]);
            const members = (x: typeof sh) => [...x.members.subarray(0, x.fit)].sort((a, b) => a - b);
            expect(members(sh)).toEqual(members(re));
            for (let i = 0; i < t.size; i++) expect(sh.has(i)).toBe(members(re).includes(i));
          }
        },
      ),
    );
  });

  it('a placement with no feasible node fails at once with the metrics of a full walk', () => {
    const t = table(50, 4000, 8192);
    for (let i = 0; i < 50; i++) {
      if (i % 3 === 0) t.allocate(i, 2000, 0);
      else t.allocate(i, 0, 4096);
    }
    t.setDrain(7, true);
    const idx = new FitIndex(t);
    const indexed = stackOn(t, 4);
    indexed.setJob(job({ shape: idx.shapeFor({ cpuMilli: 2000, memoryMb: 4096, dcIdx: -1, classIdx: -1 }) }));
    expect(indexed.select()).toBe(-1);
    const walked = stackOn(t, 4);
    walked.setJob(job());
    expect(walked.select()).toBe(-1);
    expect(indexed.metrics).toEqual(walked.metrics);
    expect(indexed.metrics).toMatchObject({ nodesEvaluated: 49, nodesExhausted: 49 });
  });

  it('finds the only feasible node among 200 without walking the full ones', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const t = table(200);
      for (let i = 0; i < 200; i++) t.allocate(i, i === 17 ? 4000 : 6000, 0); // full but for node 17
      const idx = new FitIndex(t);
      const s = stackOn(t, seed);
      s.setJob(job({ shape: idx.shapeFor({ cpuMilli: 2000, memoryMb: 4096, dcIdx: -1, classIdx: -1 }) }));
      expect(s.select()).toBe(17);
    }
  });
});

describe('indexed selection is Nomad’s walk', () => {
  /** Runs `evals` evaluations of a `tasks`-task job and counts each sequence of chosen nodes. */
  function sequences(indexed: boolean, evals: number, loads: readonly number[], tasks: number): Map<string, number> {
    const t = new NodeTable(16);
    loads.forEach((l, i) => {
      t.add(`n${i}`, { name: `n${i}`, cpuMilli: 8000, memoryMb: 32768 }, 2000, 4096, 'dc', 'c');
      t.allocate(i, l, 0);
    });
    const idx = new FitIndex(t);
    const shape = indexed ? idx.shapeFor({ cpuMilli: 2000, memoryMb: 1024, dcIdx: -1, classIdx: -1 }) : null;
    const s = stackOn(t, 12345);
    const counts = new Map<string, number>();
    for (let e = 0; e < evals; e++) {
      const perNode = new Map<number, number>();
      s.setJob(job({ cpuMilli: 2000, memoryMb: 1024, count: tasks, perNode, shape }));
      const chosen: number[] = [];
      for (let k = 0; k < tasks; k++) {
        const i = s.select();
        chosen.push(i);
        if (i < 0) break;
        idx.beforeChange(i);
        t.allocate(i, 2000, 1024);
        idx.afterChange(i);
        perNode.set(i, (perNode.get(i) ?? 0) + 1);
      }
      for (const i of chosen) {
        if (i < 0) continue;
        idx.beforeChange(i);
        t.release(i, 2000, 1024);
        idx.afterChange(i);
      }
      const key = chosen.join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  it.each([
    // 6 nodes with room in pairs of equal load (ties go to the first visited) among 6 full ones.
    { name: 'room to spare', loads: [0, 6000, 2000, 6000, 4000, 6000, 0, 6000, 2000, 6000, 4000, 6000], tasks: 3, distinct: 20 },
    // 3 nodes with room for 5 tasks: placements go around the feasible nodes again (wrap-around).
    { name: 'going around', loads: [6000, 0, 6000, 2000, 6000, 2000, 6000, 6000], tasks: 5, distinct: 3 },
  ])('gives the same distribution of placement sequences as walking every node ($name)', ({ loads, tasks, distinct }) => {
    const evals = 40_000;
    const a = sequences(true, evals, loads, tasks);
    const b = sequences(false, evals, loads, tasks);
    const keys = new Set([...a.keys(), ...b.keys()]);
    expect(keys.size).toBeGreaterThan(distinct);
    for (const k of keys) {
      const pa = (a.get(k) ?? 0) / evals;
      const pb = (b.get(k) ?? 0) / evals;
      // Binomial standard error at 40k samples is ≤ 0.0025; allow about five of them.
      expect(Math.abs(pa - pb), `sequence ${k}: ${pa} vs ${pb}`).toBeLessThan(0.0125);
    }
  });
});
