import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import { ID_ALLOC, nomadId } from './cluster-state.ts';
import { auditScheduler } from './invariants.ts';
import { NomadScheduler, type NomadSchedulerOptions } from './scheduler.ts';

function scheduler(opts: Partial<NomadSchedulerOptions> = {}, seed = 7): NomadScheduler {
  return new NomadScheduler({ rng: new Rng(seed).fork('nomad'), ...opts });
}

/** A client of `cpus` vCPU and `gb` GB; usable after the reservation: cpus − 2 and gb − 4. */
function client(s: NomadScheduler, name: string, cpus = 8, gb = 32, extra: { datacenter?: string; nodeClass?: string } = {}): string {
  return s.addNode({ name, cpuMilli: cpus * 1000, memoryMb: gb * 1024, ...extra });
}

const medium = { cpuMilli: 2000, memoryMb: 4096 };

describe('NomadScheduler: placement and the reservation', () => {
  it('places a job on a ready node and reports it running', () => {
    const s = scheduler();
    const n = client(s, 'ip-10-0-0-1');
    const c = s.registerJob({ id: 'build-1', count: 1, ...medium });
    expect(c.placed).toHaveLength(1);
    expect(c.placed[0]).toMatchObject({ jobId: 'build-1', taskIndex: 0, nodeId: n });
    expect(c.blockedEvals).toBe(0);
    expect(s.jobStatus('build-1')).toBe('running');
    expect(s.alloc(c.placed[0]!.allocId)).toMatchObject({ clientStatus: 'pending', desiredStatus: 'run' });
    s.markRunning(c.placed[0]!.allocId);
    expect(s.alloc(c.placed[0]!.allocId)?.clientStatus).toBe('running');
    expect(auditScheduler(s)).toEqual([]);
  });

  it('keeps 2 vCPU and 4 GB of every client for coordination', () => {
    const s = scheduler();
    client(s, 'a', 8, 32); // usable 6 CPU, 28 GB: three 2-CPU tasks
    const c = s.registerJob({ id: 'j', count: 4, ...medium });
    expect(c.placed).toHaveLength(3);
    expect(s.job('j')?.summary.queued).toBe(1);
    expect(s.jobStatus('j')).toBe('running');
    const big = scheduler({ reservedCpuMilli: 0, reservedMemoryMb: 0 });
    client(big, 'a', 8, 32);
    expect(big.registerJob({ id: 'j', count: 4, ...medium }).placed).toHaveLength(4);
  });

  it('a node smaller than the reservation can take nothing', () => {
    const s = scheduler();
    client(s, 'tiny', 2, 4);
    const c = s.registerJob({ id: 'j', count: 1, cpuMilli: 1, memoryMb: 1 });
    expect(c.placed).toHaveLength(0);
    expect(s.jobStatus('j')).toBe('pending');
  });

  it('memory exhausts a node as well as CPU', () => {
    const s = scheduler();
    client(s, 'a', 32, 12); // usable 30 CPU, 8 GB
    const c = s.registerJob({ id: 'j', count: 3, cpuMilli: 1000, memoryMb: 4096 });
    expect(c.placed).toHaveLength(2);
    const ev = s.evaluation(s.job('j')!.blockedEvalId!);
    expect(ev?.failedTgAllocs).toMatchObject({ nodesEvaluated: 1, nodesExhausted: 1, dimensionExhausted: { cpu: 0, memory: 1 } });
  });

  it('a job with nothing placed is pending with a blocked evaluation that says why', () => {
    const s = scheduler();
    client(s, 'a', 4, 8); // usable 2 CPU
    const c = s.registerJob({ id: 'big', count: 2, cpuMilli: 4000, memoryMb: 1024 });
    expect(c.placed).toHaveLength(0);
    expect(c.blockedEvals).toBe(1);
    const job = s.job('big')!;
    expect(job.status).toBe('pending');
    expect(job.summary.queued).toBe(2);
    const blocked = s.evaluation(job.blockedEvalId!)!;
    expect(blocked).toMatchObject({ status: 'blocked', triggeredBy: 'queued-allocs' });
    expect(blocked.failedTgAllocs).toMatchObject({ nodesEvaluated: 1, nodesExhausted: 1, coalescedFailures: 1 });
    const register = s.evaluation(blocked.previousEvalId!)!;
    expect(register).toMatchObject({ status: 'complete', triggeredBy: 'job-register', blockedEvalId: blocked.id });
    expect(s.counts()).toEqual({ pending: 1, running: 0, complete: 0, dead: 0 });
  });

  it('respects datacenter and node-class constraints', () => {
    const s = scheduler();
    const east = client(s, 'east', 8, 32, { datacenter: 'us-east-1', nodeClass: 'linux-64bit' });
    const west = client(s, 'west', 8, 32, { datacenter: 'us-west-2', nodeClass: 'gpu' });
    expect(s.registerJob({ id: 'a', count: 2, ...medium, datacenter: 'us-west-2' }).placed.map((p) => p.nodeId)).toEqual([west, west]);
    expect(s.registerJob({ id: 'b', count: 2, ...medium, nodeClass: 'linux-64bit' }).placed.map((p) => p.nodeId)).toEqual([east, east]);
    const c = s.registerJob({ id: 'c', count: 1, ...medium, nodeClass: 'windows' });
    expect(c.placed).toHaveLength(0);
    const failure = s.evaluation(s.job('c')!.blockedEvalId!)!.failedTgAllocs!;
    expect(failure).toMatchObject({ nodesEvaluated: 2, nodesFiltered: 2, constraint: '${node.class} = windows' });
  });

  it('rejects bad input as programmer errors', () => {
    const s = scheduler();
    client(s, 'a');
    expect(() => s.registerJob({ id: 'j', count: 0, ...medium })).toThrow(RangeError);
    expect(() => s.registerJob({ id: 'j', count: 1, cpuMilli: 1.5, memoryMb: 1 })).toThrow(RangeError);
    expect(() => s.registerJob({ id: 'j', count: 1, ...medium, priority: 101 })).toThrow(RangeError);
    s.registerJob({ id: 'j', count: 1, ...medium });
    expect(() => s.registerJob({ id: 'j', count: 1, ...medium })).toThrow(/already registered/);
    expect(() => s.finishAlloc('nope', 'complete')).toThrow(/unknown allocation/);
    expect(() => s.setDrain('nope', true)).toThrow(/unknown node/);
    expect(() => s.addNode({ name: 'x', cpuMilli: 0, memoryMb: 1 })).toThrow(RangeError);
    expect(() => scheduler({ maxBlockedRetriesPerChange: 0 })).toThrow(RangeError);
  });
});

describe('NomadScheduler: blocked evaluations', () => {
  it('places blocked work when an allocation finishes, and the job runs', () => {
    const s = scheduler();
    client(s, 'a', 4, 8); // one 2-CPU slot
    const first = s.registerJob({ id: 'first', count: 1, ...medium }).placed[0]!;
    expect(s.registerJob({ id: 'second', count: 1, ...medium }).placed).toHaveLength(0);
    expect(s.jobStatus('second')).toBe('pending');
    const c = s.finishAlloc(first.allocId, 'complete');
    expect(c.placed.map((p) => p.jobId)).toEqual(['second']);
    expect(c.blockedEvals).toBe(0);
    expect(s.jobStatus('first')).toBe('dead');
    expect(s.jobStatus('second')).toBe('running');
    expect(s.counts()).toEqual({ pending: 0, running: 1, complete: 1, dead: 1 });
    expect(auditScheduler(s)).toEqual([]);
  });

  it('retries in priority order, then in creation order', () => {
    const s = scheduler();
    client(s, 'a', 4, 8);
    const hold = s.registerJob({ id: 'hold', count: 1, ...medium }).placed[0]!;
    s.registerJob({ id: 'low-old', count: 1, ...medium, priority: 40 });
    s.registerJob({ id: 'mid-old', count: 1, ...medium, priority: 50 });
    s.registerJob({ id: 'high', count: 1, ...medium, priority: 70 });
    s.registerJob({ id: 'mid-new', count: 1, ...medium, priority: 50 });
    expect(s.blockedJobs()).toEqual(['high', 'mid-old', 'mid-new', 'low-old']);
    const order: string[] = [];
    let next = s.finishAlloc(hold.allocId, 'complete').placed[0]!;
    while (next !== undefined) {
      order.push(next.jobId);
      next = s.finishAlloc(next.allocId, 'complete').placed[0]!;
    }
    expect(order).toEqual(['high', 'mid-old', 'mid-new', 'low-old']);
  });

  it('places a multi-task job partially and keeps the rest blocked', () => {
    const s = scheduler();
    client(s, 'a', 8, 32); // three slots
    const c = s.registerJob({ id: 'par', count: 5, ...medium });
    expect(c.placed.map((p) => p.taskIndex)).toEqual([0, 1, 2]);
    const job = s.job('par')!;
    expect(job.summary).toMatchObject({ queued: 2, starting: 3 });
    const d = s.finishAlloc(c.placed[0]!.allocId, 'complete');
    expect(d.placed.map((p) => p.taskIndex)).toEqual([3]);
    expect(s.job('par')!.summary.queued).toBe(1);
    // The first blocked eval completed; a new one holds the last task.
    const evals = s.job('par')!.evalIds.map((id) => s.evaluation(id)!);
    expect(evals.map((e) => `${e.triggeredBy}:${e.status}`)).toEqual([
      'job-register:complete',
      'queued-allocs:complete',
      'queued-allocs:blocked',
    ]);
  });

  it('a job goes back to pending when its placed tasks end while others wait', () => {
    const s = scheduler();
    client(s, 'a', 4, 8); // one slot
    const c = s.registerJob({ id: 'par', count: 2, ...medium });
    const other = s.registerJob({ id: 'other', count: 1, cpuMilli: 1, memoryMb: 1 });
    expect(other.placed).toHaveLength(0);
    // Finishing par's task frees the slot; par's second task (older) takes it.
    const d = s.finishAlloc(c.placed[0]!.allocId, 'failed');
    expect(d.placed.map((p) => `${p.jobId}/${p.taskIndex}`)).toEqual(['par/1']);
    expect(s.job('par')!.summary).toMatchObject({ failed: 1, starting: 1, queued: 0 });
  });

  it('new capacity from an added node is offered by retryBlocked', () => {
    const s = scheduler();
    s.registerJob({ id: 'waiting', count: 2, ...medium });
    expect(s.jobStatus('waiting')).toBe('pending');
    const { nodeId, change } = s.addNodeAndRetry({ name: 'new', cpuMilli: 8000, memoryMb: 32768 });
    expect(change.placed.map((p) => p.nodeId)).toEqual([nodeId, nodeId]);
    expect(s.jobStatus('waiting')).toBe('running');
  });

  it('bounds the retries per call and reports the rest as pending work', () => {
    const s = scheduler({ maxBlockedRetriesPerChange: 2 });
    const a = client(s, 'a', 4, 8);
    const hold = s.registerJob({ id: 'hold', count: 1, ...medium }).placed[0]!;
    // Five blocked jobs too big for the node (checked first: higher priority), then one that fits.
    for (let k = 0; k < 5; k++) s.registerJob({ id: `big-${k}`, count: 1, cpuMilli: 4000, memoryMb: 1024, priority: 60 });
    s.registerJob({ id: 'small', count: 1, ...medium });
    const c = s.finishAlloc(hold.allocId, 'complete');
    expect(c.placed).toHaveLength(0);
    expect(c.unblockPending).toBe(true);
    const d = s.retryBlocked();
    expect(d.placed).toHaveLength(0);
    expect(d.unblockPending).toBe(true);
    const e = s.retryBlocked();
    expect(e.placed.map((p) => `${p.jobId}@${p.nodeId === a}`)).toEqual(['small@true']);
    expect(e.unblockPending).toBe(false);
    expect(e.blockedEvals).toBe(5);
  });

  it('stops offering a node once it cannot hold the smallest blocked request', () => {
    const s = scheduler({ maxBlockedRetriesPerChange: 1 });
    client(s, 'a', 4, 8);
    const hold = s.registerJob({ id: 'hold', count: 1, ...medium }).placed[0]!;
    for (let k = 0; k < 10; k++) s.registerJob({ id: `w-${k}`, count: 1, ...medium });
    // One retry places w-0 and fills the node; the rest need not be examined: nothing is pending.
    const c = s.finishAlloc(hold.allocId, 'complete');
    expect(c.placed.map((p) => p.jobId)).toEqual(['w-0']);
    expect(c.unblockPending).toBe(false);
  });

  it('serves older blocked work before a newcomer when capacity was left pending', () => {
    const s = scheduler({ maxBlockedRetriesPerChange: 1 });
    client(s, 'a', 4, 8);
    const hold = s.registerJob({ id: 'hold', count: 1, ...medium }).placed[0]!;
    s.registerJob({ id: 'huge', count: 1, cpuMilli: 64000, memoryMb: 1024, priority: 90 });
    s.registerJob({ id: 'old', count: 1, ...medium });
    expect(s.finishAlloc(hold.allocId, 'complete').unblockPending).toBe(true);
    const c = s.registerJob({ id: 'new', count: 1, ...medium });
    expect(c.placed.map((p) => p.jobId)).toEqual(['old']);
    expect(s.jobStatus('new')).toBe('pending');
  });
});

describe('NomadScheduler: drain, eligibility, node status', () => {
  it('a draining node keeps its allocations, gets nothing new, and reports when it is empty', () => {
    const s = scheduler();
    const a = client(s, 'a', 4, 8);
    const alloc = s.registerJob({ id: 'j1', count: 1, ...medium }).placed[0]!;
    const d = s.setDrain(a, true);
    expect(d.drainComplete).toEqual([]);
    expect(s.node(a)).toMatchObject({ drain: true, runningAllocs: 1 });
    expect(s.registerJob({ id: 'j2', count: 1, cpuMilli: 1, memoryMb: 1 }).placed).toHaveLength(0);
    const f = s.finishAlloc(alloc.allocId, 'complete');
    expect(f.drainComplete).toEqual([a]);
    expect(f.placed).toHaveLength(0);
    const undrain = s.setDrain(a, false);
    expect(undrain.placed.map((p) => p.jobId)).toEqual(['j2']);
  });

  it('draining an empty node completes at once', () => {
    const s = scheduler();
    const a = client(s, 'a');
    expect(s.setDrain(a, true).drainComplete).toEqual([a]);
    expect(s.setDrain(a, true).drainComplete).toEqual([]);
  });

  it('an ineligible node gets nothing new until eligible again', () => {
    const s = scheduler();
    const a = client(s, 'a');
    s.setEligibility(a, false);
    expect(s.node(a)?.eligibility).toBe('ineligible');
    expect(s.registerJob({ id: 'j', count: 1, ...medium }).placed).toHaveLength(0);
    expect(s.setEligibility(a, true).placed.map((p) => p.jobId)).toEqual(['j']);
  });

  it('a node going down loses its allocations; its jobs die; ready again brings capacity back', () => {
    const s = scheduler();
    const a = client(s, 'a', 8, 32);
    const placed = s.registerJob({ id: 'j', count: 3, ...medium }).placed;
    s.registerJob({ id: 'w', count: 1, ...medium });
    const c = s.setNodeStatus(a, 'down');
    expect(c.lost.map((p) => p.allocId)).toEqual(placed.map((p) => p.allocId));
    expect(s.alloc(placed[0]!.allocId)).toMatchObject({ clientStatus: 'lost', desiredStatus: 'stop' });
    expect(s.jobStatus('j')).toBe('dead');
    expect(s.job('j')!.summary.lost).toBe(3);
    expect(s.node(a)).toMatchObject({ status: 'down', runningAllocs: 0, usedCpuMilli: 0 });
    expect(c.placed).toHaveLength(0);
    expect(s.counts()).toMatchObject({ dead: 1, complete: 0, pending: 1 });
    expect(s.setNodeStatus(a, 'ready').placed.map((p) => p.jobId)).toEqual(['w']);
    expect(() => s.finishAlloc(placed[0]!.allocId, 'complete')).toThrow(/already lost/);
  });

  it('an initializing node takes nothing', () => {
    const s = scheduler();
    const a = client(s, 'a');
    s.setNodeStatus(a, 'initializing');
    expect(s.registerJob({ id: 'j', count: 1, ...medium }).placed).toHaveLength(0);
    expect(s.setNodeStatus(a, 'ready').placed).toHaveLength(1);
  });
});

describe('NomadScheduler: stop, wipe, GC, gauges', () => {
  it('stopJob kills allocations, cancels the blocked eval, frees capacity for others', () => {
    const s = scheduler();
    client(s, 'a', 8, 32);
    const placed = s.registerJob({ id: 'j', count: 5, ...medium }).placed;
    s.registerJob({ id: 'w', count: 1, ...medium });
    const blockedEvalId = s.job('j')!.blockedEvalId!;
    const c = s.stopJob('j');
    expect(c.stopped.map((p) => p.allocId)).toEqual(placed.map((p) => p.allocId));
    expect(c.placed.map((p) => p.jobId)).toEqual(['w']);
    expect(s.evaluation(blockedEvalId)?.status).toBe('canceled');
    expect(s.job('j')).toMatchObject({ status: 'dead', stopped: true, blockedEvalId: null });
    expect(s.alloc(placed[0]!.allocId)).toMatchObject({ desiredStatus: 'stop', clientStatus: 'complete' });
    expect(s.stopJob('j').stopped).toEqual([]);
    expect(s.counts()).toEqual({ pending: 0, running: 1, complete: 0, dead: 1 });
    expect(auditScheduler(s)).toEqual([]);
  });

  it('stopNodeAllocs stops what runs on one node at once, completes its drain, and offers the capacity to waiting jobs', () => {
    const s = scheduler();
    const a = client(s, 'a', 8, 32);
    const b = client(s, 'b', 8, 32);
    const placed = s.registerJob({ id: 'j', count: 6, ...medium }).placed;
    const onA = placed.filter((p) => p.nodeId === a);
    expect(onA.length).toBeGreaterThan(0);
    s.setEligibility(a, false);
    s.setDrain(a, true);
    const c = s.stopNodeAllocs(a);
    expect(c.stopped.map((p) => p.allocId)).toEqual(onA.map((p) => p.allocId));
    expect(c.drainComplete).toEqual([a]);
    expect(s.alloc(onA[0]!.allocId)).toMatchObject({ desiredStatus: 'stop', clientStatus: 'complete' });
    expect(s.nodeAllocs(a)).toEqual([]);
    expect(s.nodeAllocs(b).length).toBe(placed.length - onA.length);
    expect(s.stopNodeAllocs(a).stopped).toEqual([]);
    expect(auditScheduler(s)).toEqual([]);
  });

  it('wipeState forgets every job, allocation and evaluation; clients re-register empty', () => {
    const s = scheduler();
    const a = client(s, 'a', 8, 32);
    const b = client(s, 'b', 8, 32);
    const placed = s.registerJob({ id: 'run', count: 2, ...medium }).placed;
    s.finishAlloc(s.registerJob({ id: 'done', count: 1, ...medium }).placed[0]!.allocId, 'complete');
    s.registerJob({ id: 'wait', count: 9, ...medium });
    s.setDrain(a, true);
    s.setNodeStatus(b, 'down');
    const before = s.jobs().filter((j) => j.status !== 'dead').map((j) => j.id);
    const nonTerminal = [...s.nodeAllocs(a)].map((x) => x.allocId);
    const w = s.wipeState();
    expect(w.lostJobs).toEqual(before);
    expect(w.lostAllocs.sort()).toEqual(nonTerminal.sort());
    expect(s.jobs()).toEqual([]);
    expect(s.counts()).toEqual({ pending: 0, running: 0, complete: 0, dead: 0 });
    expect(s.blockedEvalCount).toBe(0);
    expect(s.alloc(placed[0]!.allocId)).toBeUndefined();
    expect(s.node(a)).toMatchObject({ drain: false, eligibility: 'eligible', runningAllocs: 0, usedCpuMilli: 0 });
    expect(s.node(b)).toBeUndefined();
    expect(s.nodes().map((n) => n.id)).toEqual([a]);
    // Work can be registered again, with fresh ids.
    const again = s.registerJob({ id: 'run', count: 1, ...medium }).placed[0]!;
    expect(placed.map((p) => p.allocId)).not.toContain(again.allocId);
    s.setNodeStatus(b, 'ready');
    expect(s.nodes()).toHaveLength(2);
    expect(auditScheduler(s)).toEqual([]);
  });

  it('gc forgets dead jobs, their allocations and evaluations', () => {
    const s = scheduler();
    client(s, 'a');
    const p = s.registerJob({ id: 'j', count: 1, ...medium }).placed[0]!;
    const evalId = s.alloc(p.allocId)!.evalId;
    s.finishAlloc(p.allocId, 'complete');
    s.registerJob({ id: 'live', count: 1, ...medium });
    expect(s.counts()).toEqual({ pending: 0, running: 1, complete: 1, dead: 1 });
    expect(s.gc()).toBe(1);
    expect(s.job('j')).toBeUndefined();
    expect(s.alloc(p.allocId)).toBeUndefined();
    expect(s.evaluation(evalId)).toBeUndefined();
    expect(s.counts()).toEqual({ pending: 0, running: 1, complete: 0, dead: 0 });
    expect(s.gc()).toBe(0);
  });

  it('names allocations by the placement it handed out as well as by id', () => {
    const s = scheduler();
    client(s, 'a');
    const [p, q] = s.registerJob({ id: 'j', count: 2, ...medium }).placed;
    expect([p!.serial, q!.serial]).toEqual([0, 1]);
    expect(p!.allocId).toBe(nomadId(ID_ALLOC, p!.serial));
    s.markRunning(p!);
    expect(s.alloc(p!)?.clientStatus).toBe('running');
    s.finishAlloc(p!, 'complete');
    s.finishAlloc(q!.allocId, 'failed');
    expect(s.alloc(q!)?.clientStatus).toBe('failed');
    expect(() => s.finishAlloc(p!, 'complete')).toThrow(/already complete/);
    s.gc();
    expect(s.alloc(p!)).toBeUndefined();
    expect(() => s.markRunning(p!)).toThrow(new RegExp(`unknown allocation ${p!.allocId}`));
  });

  it('counts complete jobs as a subset of dead ones', () => {
    const s = scheduler();
    client(s, 'a', 16, 64);
    const ok = s.registerJob({ id: 'ok', count: 2, ...medium }).placed;
    const bad = s.registerJob({ id: 'bad', count: 2, ...medium }).placed;
    for (const p of ok) s.finishAlloc(p.allocId, 'complete');
    s.finishAlloc(bad[0]!.allocId, 'complete');
    s.finishAlloc(bad[1]!.allocId, 'failed');
    expect(s.counts()).toEqual({ pending: 0, running: 0, complete: 1, dead: 2 });
  });

  it('reports client resources in MHz and MB', () => {
    const s = scheduler();
    const a = client(s, 'a', 8, 32);
    s.registerJob({ id: 'j', count: 1, ...medium });
    expect(s.nodeResources(a)).toEqual({
      totalCpu: 20000,
      reservedCpu: 5000,
      usedCpu: 5000,
      availableCpu: 10000,
      totalMemory: 32768,
      reservedMemory: 4096,
      usedMemory: 4096,
      availableMemory: 24576,
    });
    const b = client(s, 'b', 8, 32);
    s.setNodeStatus(b, 'down');
    expect(s.clusterResources()).toEqual(s.nodeResources(a));
  });

  it('node views list down nodes, as node-status does', () => {
    const s = scheduler();
    const a = client(s, 'ip-127-0-0-1');
    s.setNodeStatus(a, 'down');
    expect(s.nodes()).toEqual([expect.objectContaining({ name: 'ip-127-0-0-1', status: 'down', datacenter: 'us-east-1', nodeClass: 'linux-64bit' })]);
  });
});

describe('NomadScheduler: choice of node', () => {
  function loaded(algorithm: 'binpack' | 'spread', seed: number): { s: NomadScheduler; full: string; empty: string } {
    const s = scheduler({ algorithm }, seed);
    const full = client(s, 'full', 16, 64, { nodeClass: 'x' });
    const empty = client(s, 'empty', 16, 64, { nodeClass: 'y' });
    s.registerJob({ id: 'load', count: 4, ...medium, nodeClass: 'x' });
    return { s, full, empty };
  }

  it('bin-packing puts a task on the fuller of two candidates, spread on the emptier', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const b = loaded('binpack', seed);
      expect(b.s.registerJob({ id: 't', count: 1, ...medium }).placed[0]!.nodeId).toBe(b.full);
      const sp = loaded('spread', seed);
      expect(sp.s.registerJob({ id: 't', count: 1, ...medium }).placed[0]!.nodeId).toBe(sp.empty);
    }
  });

  it('the same seed and operations give the same placements; another seed may differ', () => {
    const run = (seed: number): string[] => {
      const s = scheduler({}, seed);
      for (let k = 0; k < 50; k++) client(s, `n${k}`, 8, 32);
      const out: string[] = [];
      for (let j = 0; j < 100; j++) out.push(...s.registerJob({ id: `j${j}`, count: 2, ...medium }).placed.map((p) => `${p.allocId}@${p.nodeId}`));
      return out;
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('visits nodes in a fresh random order per evaluation (empty identical nodes are chosen evenly)', () => {
    const s = scheduler({}, 11);
    const ids = [client(s, 'a'), client(s, 'b'), client(s, 'c'), client(s, 'd')];
    const hits = new Map(ids.map((id) => [id, 0]));
    for (let j = 0; j < 4000; j++) {
      const p = s.registerJob({ id: `j${j}`, count: 1, ...medium }).placed[0]!;
      hits.set(p.nodeId, hits.get(p.nodeId)! + 1);
      s.finishAlloc(p.allocId, 'complete');
      if (j % 500 === 0) s.gc();
    }
    for (const h of hits.values()) expect(h).toBeGreaterThan(850);
  });

  it('spreads the tasks of one parallel job with the anti-affinity penalty when nodes are empty', () => {
    const s = scheduler({}, 5);
    for (let k = 0; k < 10; k++) client(s, `n${k}`, 64, 256);
    const placed = s.registerJob({ id: 'par', count: 10, ...medium }).placed;
    // Without the penalty, bin-packing would stack all ten on the first node it picked.
    expect(new Set(placed.map((p) => p.nodeId)).size).toBeGreaterThan(1);
  });
});
