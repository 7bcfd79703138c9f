import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import type { Change, NodeStatus } from './index.ts';
import { auditScheduler } from './invariants.ts';
import { NomadScheduler } from './scheduler.ts';

/** One operation the pipeline could ask of the Nomad server. Indices pick among what exists, modulo. */
type Op =
  | { t: 'add'; cpus: number; gb: number; nodeClass: 'a' | 'b' }
  | { t: 'register'; count: number; cpuMilli: number; memoryMb: number; priority: number; nodeClass: 'a' | 'b' | null }
  | { t: 'finish'; pick: number; ok: boolean }
  | { t: 'start'; pick: number }
  | { t: 'drain'; node: number; on: boolean }
  | { t: 'eligible'; node: number; on: boolean }
  | { t: 'status'; node: number; status: NodeStatus }
  | { t: 'stop'; job: number }
  | { t: 'retry' }
  | { t: 'gc' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ t: fc.constant('add' as const), cpus: fc.integer({ min: 2, max: 16 }), gb: fc.integer({ min: 4, max: 64 }), nodeClass: fc.constantFrom('a' as const, 'b' as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('register' as const),
      count: fc.integer({ min: 1, max: 6 }),
      cpuMilli: fc.constantFrom(500, 1000, 2000, 4000),
      memoryMb: fc.constantFrom(1024, 2048, 4096, 8192),
      priority: fc.constantFrom(30, 50, 70),
      nodeClass: fc.constantFrom('a' as const, 'b' as const, null, null),
    }),
  },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('finish' as const), pick: fc.nat(), ok: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('start' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drain' as const), node: fc.nat(), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('eligible' as const), node: fc.nat(), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('status' as const), node: fc.nat(), status: fc.constantFrom<NodeStatus>('ready', 'ready', 'down', 'initializing') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('stop' as const), job: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('retry' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('gc' as const) }) },
);

const scenarioArb = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  bound: fc.integer({ min: 1, max: 8 }),
  algorithm: fc.constantFrom('binpack' as const, 'spread' as const),
  initialNodes: fc.integer({ min: 0, max: 6 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 80 }),
});

interface Scenario {
  seed: number;
  bound: number;
  algorithm: 'binpack' | 'spread';
  initialNodes: number;
  ops: Op[];
}

interface Step {
  op: Op;
  change: Change | null;
}

/** Drives a scheduler through a scenario; `onStep` sees each operation's change right after it. */
function drive(sc: Scenario, onStep?: (s: NomadScheduler, step: Step) => void): { s: NomadScheduler; steps: Step[] } {
  const s = new NomadScheduler({ rng: new Rng(sc.seed).fork('nomad'), maxBlockedRetriesPerChange: sc.bound, algorithm: sc.algorithm });
  const nodeIds: string[] = [];
  const jobIds: string[] = [];
  const open: string[] = [];
  const track = (c: Change): Change => {
    for (const p of c.placed) open.push(p.allocId);
    const gone = new Set([...c.lost, ...c.stopped].map((p) => p.allocId));
    if (gone.size > 0) for (let k = open.length - 1; k >= 0; k--) if (gone.has(open[k]!)) open.splice(k, 1);
    return c;
  };
  for (let k = 0; k < sc.initialNodes; k++) nodeIds.push(s.addNode({ name: `init-${k}`, cpuMilli: 8000, memoryMb: 32768, nodeClass: k % 2 === 0 ? 'a' : 'b' }));
  const steps: Step[] = [];
  let jobN = 0;
  for (const op of sc.ops) {
    let change: Change | null = null;
    switch (op.t) {
      case 'add':
        nodeIds.push(s.addNode({ name: `n-${nodeIds.length}`, cpuMilli: op.cpus * 1000, memoryMb: op.gb * 1024, nodeClass: op.nodeClass }));
        break;
      case 'register': {
        const id = `job-${jobN++}`;
        jobIds.push(id);
        change = track(
          s.registerJob({ id, count: op.count, cpuMilli: op.cpuMilli, memoryMb: op.memoryMb, priority: op.priority, ...(op.nodeClass ? { nodeClass: op.nodeClass } : {}) }),
        );
        break;
      }
      case 'finish':
        if (open.length > 0) {
          const [allocId] = open.splice(op.pick % open.length, 1);
          change = track(s.finishAlloc(allocId!, op.ok ? 'complete' : 'failed'));
        }
        break;
      case 'start':
        if (open.length > 0) {
          const allocId = open[op.pick % open.length]!;
          if (s.alloc(allocId)?.clientStatus === 'pending') s.markRunning(allocId);
        }
        break;
      case 'drain':
        if (nodeIds.length > 0) change = track(s.setDrain(nodeIds[op.node % nodeIds.length]!, op.on));
        break;
      case 'eligible':
        if (nodeIds.length > 0) change = track(s.setEligibility(nodeIds[op.node % nodeIds.length]!, op.on));
        break;
      case 'status':
        if (nodeIds.length > 0) change = track(s.setNodeStatus(nodeIds[op.node % nodeIds.length]!, op.status));
        break;
      case 'stop':
        if (jobIds.length > 0) {
          const id = jobIds[op.job % jobIds.length]!;
          if (s.job(id) !== undefined) change = track(s.stopJob(id));
        }
        break;
      case 'retry':
        change = track(s.retryBlocked());
        break;
      case 'gc':
        s.gc();
        break;
    }
    const step = { op, change };
    steps.push(step);
    onStep?.(s, step);
  }
  return { s, steps };
}

/** Calls retryBlocked until no capacity is left unoffered (bounded). */
function settle(s: NomadScheduler): void {
  for (let k = 0; k < 10_000; k++) if (!s.retryBlocked().unblockPending) return;
  throw new Error('retryBlocked never settled');
}

const runs = { numRuns: 150 };

describe('NomadScheduler properties', () => {
  it('never over-commits a node and keeps every invariant after every operation', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        drive(sc, (s, step) => {
          const problems = auditScheduler(s);
          if (problems.length > 0) throw new Error(`after ${JSON.stringify(step.op)}: ${problems.join('; ')}`);
        });
      }),
      runs,
    );
  });

  it('keeps nodesNow() (views refreshed only for changed nodes) and readyNodeCount() equal to a fresh look, however often they are read', () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 1, max: 4 }), (sc, every) => {
        let n = 0;
        drive(sc, (s, step) => {
          if (n++ % every !== 0) return;
          const fresh = s.nodes();
          if (s.readyNodeCount() !== fresh.filter((v) => v.status === 'ready').length) throw new Error(`after ${JSON.stringify(step.op)}: readyNodeCount ${s.readyNodeCount()}`);
          expect(s.nodesNow().map((v) => ({ ...v }))).toEqual(fresh);
        });
      }),
      runs,
    );
  });

  it('never places on a draining, ineligible, down or initializing node, nor outside the constraint', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        drive(sc, (s, { change }) => {
          for (const p of change?.placed ?? []) {
            const n = s.node(p.nodeId)!;
            expect(n.status).toBe('ready');
            expect(n.drain).toBe(false);
            expect(n.eligibility).toBe('eligible');
            const job = s.job(p.jobId)!;
            if (job.nodeClass !== null) expect(n.nodeClass).toBe(job.nodeClass);
          }
        });
      }),
      runs,
    );
  });

  it('conserves tasks: each task of each job is placed, blocked, terminal or lost, exactly once', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const fates = new Map<string, Set<number>>();
        drive(sc, (s, { change }) => {
          for (const p of change?.placed ?? []) {
            const seen = fates.get(p.jobId) ?? new Set<number>();
            expect(seen.has(p.taskIndex)).toBe(false); // a task is placed at most once
            seen.add(p.taskIndex);
            fates.set(p.jobId, seen);
          }
        });
      }),
      runs,
    );
    // The per-job arithmetic (placed + blocked + terminal + lost = count) is part of auditScheduler.
  });

  it('is deterministic: same seed and operations, same changes', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const a = JSON.stringify(drive(sc).steps);
        const b = JSON.stringify(drive(sc).steps);
        expect(a).toBe(b);
      }),
      { numRuns: 60 },
    );
  });

  it('is live: once retries settle, no blocked job fits on any schedulable node', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { s } = drive(sc);
        settle(s);
        const nodes = s.nodes().filter((n) => n.status === 'ready' && !n.drain && n.eligibility === 'eligible');
        for (const id of s.blockedJobs()) {
          const job = s.job(id)!;
          for (const n of nodes) {
            if (job.nodeClass !== null && n.nodeClass !== job.nodeClass) continue;
            const freeCpu = n.totalCpuMilli - n.reservedCpuMilli - n.usedCpuMilli;
            const freeMem = n.totalMemoryMb - n.reservedMemoryMb - n.usedMemoryMb;
            expect(freeCpu < job.cpuMilli || freeMem < job.memoryMb, `job ${id} fits on ${n.name}`).toBe(true);
          }
        }
        expect(auditScheduler(s)).toEqual([]);
      }),
      runs,
    );
  });

  it('is live under a tiny retry bound: resumed passes miss no blocked job', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.record({ cpuMilli: fc.constantFrom(500, 1000, 2000, 3000, 5000, 9000), memoryMb: fc.constantFrom(512, 1024, 4096, 16384), priority: fc.constantFrom(20, 50, 80), count: fc.integer({ min: 1, max: 3 }) }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(fc.nat(), { minLength: 1, maxLength: 16 }),
        (seed, bound, waiting, finishPicks) => {
          const s = new NomadScheduler({ rng: new Rng(seed).fork('nomad'), maxBlockedRetriesPerChange: bound });
          for (let k = 0; k < 3; k++) s.addNode({ name: `n${k}`, cpuMilli: 10_000, memoryMb: 20_480 });
          // Fill the fleet exactly with 1-CPU holders (8 per node), then queue work of many shapes behind them.
          const holders = s.registerJob({ id: 'hold', count: 24, cpuMilli: 1000, memoryMb: 1024 }).placed.map((p) => p.allocId);
          expect(holders).toHaveLength(24);
          waiting.forEach((w, k) => s.registerJob({ id: `w${k}`, ...w }));
          for (const pick of finishPicks) {
            const open = holders.filter((id) => s.alloc(id)?.clientStatus === 'pending');
            if (open.length === 0) break;
            s.finishAlloc(open[pick % open.length]!, 'complete');
            if (pick % 3 === 0) settle(s); // sometimes let the pass finish, mostly pile changes up
          }
          settle(s);
          for (const id of s.blockedJobs()) {
            const job = s.job(id)!;
            for (const n of s.nodes()) {
              const fits = n.totalCpuMilli - n.reservedCpuMilli - n.usedCpuMilli >= job.cpuMilli && n.totalMemoryMb - n.reservedMemoryMb - n.usedMemoryMb >= job.memoryMb;
              expect(fits, `blocked ${id} fits on ${n.name}`).toBe(false);
            }
          }
          expect(auditScheduler(s)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('places blocked work once capacity frees: finishing everything eventually runs every job', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { s } = drive(sc);
        // Make every node usable and big enough, then finish work until nothing is left.
        for (const n of s.nodes()) {
          s.setNodeStatus(n.id, 'ready');
          s.setDrain(n.id, false);
          s.setEligibility(n.id, true);
        }
        s.addNode({ name: 'big-a', cpuMilli: 64_000, memoryMb: 262_144, nodeClass: 'a' });
        s.addNode({ name: 'big-b', cpuMilli: 64_000, memoryMb: 262_144, nodeClass: 'b' });
        settle(s);
        for (let round = 0; round < 1000; round++) {
          const open = s.nodes().flatMap((n) => s.nodeAllocs(n.id));
          if (open.length === 0) break;
          for (const a of open) s.finishAlloc(a.allocId, 'complete');
          settle(s);
        }
        expect(s.blockedEvalCount).toBe(0);
        expect(s.counts().pending + s.counts().running).toBe(0);
      }),
      { numRuns: 80 },
    );
  });

  it('bin-packing chooses the fuller of two feasible nodes and spread the emptier', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 7 }),
        (seed, lightTasks, extra) => {
          const heavyTasks = lightTasks + extra; // strictly fuller
          for (const algorithm of ['binpack', 'spread'] as const) {
            const s = new NomadScheduler({ rng: new Rng(seed).fork('nomad'), algorithm });
            const heavy = s.addNode({ name: 'heavy', cpuMilli: 32_000, memoryMb: 65_536, nodeClass: 'h' });
            const light = s.addNode({ name: 'light', cpuMilli: 32_000, memoryMb: 65_536, nodeClass: 'l' });
            if (heavyTasks > 0) s.registerJob({ id: 'h', count: heavyTasks, cpuMilli: 2000, memoryMb: 4096, nodeClass: 'h' });
            if (lightTasks > 0) s.registerJob({ id: 'l', count: lightTasks, cpuMilli: 2000, memoryMb: 4096, nodeClass: 'l' });
            const p = s.registerJob({ id: 'probe', count: 1, cpuMilli: 2000, memoryMb: 4096 }).placed[0]!;
            expect(p.nodeId).toBe(algorithm === 'binpack' ? heavy : light);
          }
        },
      ),
      runs,
    );
  });

  it('wipeState forgets everything and the scheduler works afterwards', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { s, steps } = drive(sc);
        const everPlaced = steps.flatMap((st) => st.change?.placed ?? []).map((p) => p.allocId);
        const liveJobs = s.jobs().filter((j) => j.status !== 'dead').map((j) => j.id);
        const liveAllocs = s.nodes().flatMap((n) => s.nodeAllocs(n.id)).map((a) => a.allocId);
        const wiped = s.wipeState();
        expect(wiped.lostJobs).toEqual(liveJobs);
        expect([...wiped.lostAllocs].sort()).toEqual([...liveAllocs].sort());
        expect(s.jobs()).toEqual([]);
        expect(s.blockedJobs()).toEqual([]);
        expect(s.counts()).toEqual({ pending: 0, running: 0, complete: 0, dead: 0 });
        for (const id of everPlaced) expect(s.alloc(id)).toBeUndefined();
        for (const n of s.nodes()) {
          expect(n).toMatchObject({ usedCpuMilli: 0, usedMemoryMb: 0, runningAllocs: 0, drain: false, eligibility: 'eligible' });
          expect(n.status).not.toBe('down');
        }
        expect(auditScheduler(s)).toEqual([]);
        const after = s.registerJob({ id: 'after-wipe', count: 1, cpuMilli: 500, memoryMb: 1024 });
        for (const p of after.placed) expect(everPlaced).not.toContain(p.allocId);
        expect(auditScheduler(s)).toEqual([]);
      }),
      { numRuns: 80 },
    );
  });
});
