import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import type { Change } from './index.ts';
import { auditScheduler } from './invariants.ts';
import { NomadScheduler } from './scheduler.ts';

/**
 * Model-based test: a reference model keeps its own books of node capacity, flags and which allocation
 * belongs to which job and node. The scheduler chooses nodes at random, so the model does not predict
 * the node; it checks that every placement the scheduler reports was legal at that moment and applies
 * it, and that every loss and stop is exactly what the model expects. After each command the two books
 * must agree.
 */

const RESERVED_CPU = 2000;
const RESERVED_MEM = 4096;

interface ModelNode {
  id: string;
  nodeClass: string;
  usableCpu: number;
  usableMem: number;
  usedCpu: number;
  usedMem: number;
  status: 'ready' | 'down' | 'initializing';
  drain: boolean;
  eligible: boolean;
  allocs: Set<string>;
}

interface ModelJob {
  id: string;
  count: number;
  cpu: number;
  mem: number;
  nodeClass: string | null;
  placed: number;
  stopped: boolean;
  open: Set<string>;
}

interface Model {
  nodes: ModelNode[];
  jobs: ModelJob[];
  allocs: Map<string, { job: ModelJob; node: ModelNode }>;
  jobN: number;
}

const schedulable = (n: ModelNode): boolean => n.status === 'ready' && !n.drain && n.eligible;

/** Applies a change's placements to the model, checking each was legal. */
function applyPlacements(m: Model, c: Change): void {
  for (const p of c.placed) {
    const job = m.jobs.find((j) => j.id === p.jobId)!;
    const node = m.nodes.find((n) => n.id === p.nodeId)!;
    expect(schedulable(node), `placed on unschedulable ${node.id}`).toBe(true);
    if (job.nodeClass !== null) expect(node.nodeClass).toBe(job.nodeClass);
    expect(node.usedCpu + job.cpu).toBeLessThanOrEqual(node.usableCpu);
    expect(node.usedMem + job.mem).toBeLessThanOrEqual(node.usableMem);
    expect(p.taskIndex).toBe(job.placed);
    expect(job.stopped).toBe(false);
    node.usedCpu += job.cpu;
    node.usedMem += job.mem;
    node.allocs.add(p.allocId);
    job.placed++;
    job.open.add(p.allocId);
    m.allocs.set(p.allocId, { job, node });
  }
}

function release(m: Model, allocId: string): void {
  const { job, node } = m.allocs.get(allocId)!;
  node.usedCpu -= job.cpu;
  node.usedMem -= job.mem;
  node.allocs.delete(allocId);
  job.open.delete(allocId);
  m.allocs.delete(allocId);
}

/** The books must agree after every command. */
function compare(m: Model, s: NomadScheduler, c: Change | null): void {
  for (const n of m.nodes) {
    const v = s.node(n.id)!;
    expect(v.usedCpuMilli).toBe(n.usedCpu);
    expect(v.usedMemoryMb).toBe(n.usedMem);
    expect(v.runningAllocs).toBe(n.allocs.size);
    expect(v.status).toBe(n.status);
    expect(v.drain).toBe(n.drain);
  }
  for (const j of m.jobs) {
    const v = s.job(j.id);
    if (v === undefined) continue; // garbage-collected
    expect(v.summary.queued).toBe(j.stopped ? 0 : j.count - j.placed);
    expect(v.summary.starting + v.summary.running).toBe(j.open.size);
  }
  if (c !== null) expect(c.blockedEvals).toBe(s.blockedEvalCount);
  expect(auditScheduler(s)).toEqual([]);
}

type Cmd = fc.Command<Model, NomadScheduler>;

class AddNode implements Cmd {
  constructor(
    readonly cpus: number,
    readonly gb: number,
    readonly nodeClass: string,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: Model, s: NomadScheduler): void {
    const id = s.addNode({ name: `n${m.nodes.length}`, cpuMilli: this.cpus * 1000, memoryMb: this.gb * 1024, nodeClass: this.nodeClass });
    m.nodes.push({
      id,
      nodeClass: this.nodeClass,
      usableCpu: Math.max(0, this.cpus * 1000 - RESERVED_CPU),
      usableMem: Math.max(0, this.gb * 1024 - RESERVED_MEM),
      usedCpu: 0,
      usedMem: 0,
      status: 'ready',
      drain: false,
      eligible: true,
      allocs: new Set(),
    });
    compare(m, s, null);
  }
  toString(): string {
    return `addNode(${this.cpus} CPU, ${this.gb} GB, ${this.nodeClass})`;
  }
}

class Register implements Cmd {
  constructor(
    readonly count: number,
    readonly cpu: number,
    readonly mem: number,
    readonly priority: number,
    readonly nodeClass: string | null,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: Model, s: NomadScheduler): void {
    const job: ModelJob = { id: `job-${m.jobN++}`, count: this.count, cpu: this.cpu, mem: this.mem, nodeClass: this.nodeClass, placed: 0, stopped: false, open: new Set() };
    m.jobs.push(job);
    const c = s.registerJob({ id: job.id, count: this.count, cpuMilli: this.cpu, memoryMb: this.mem, priority: this.priority, ...(this.nodeClass ? { nodeClass: this.nodeClass } : {}) });
    applyPlacements(m, c);
    // What is left over waits only if no schedulable node could take one more task of it.
    if (job.placed < job.count) {
      for (const n of m.nodes) {
        if (!schedulable(n) || (job.nodeClass !== null && n.nodeClass !== job.nodeClass)) continue;
        expect(n.usedCpu + job.cpu > n.usableCpu || n.usedMem + job.mem > n.usableMem, `job left tasks though ${n.id} had room`).toBe(true);
      }
    }
    compare(m, s, c);
  }
  toString(): string {
    return `register(${this.count}× ${this.cpu}m/${this.mem}MB p${this.priority} ${String(this.nodeClass)})`;
  }
}

class Finish implements Cmd {
  constructor(
    readonly pick: number,
    readonly ok: boolean,
  ) {}
  check(m: Model): boolean {
    return m.allocs.size > 0;
  }
  run(m: Model, s: NomadScheduler): void {
    const ids = [...m.allocs.keys()];
    const allocId = ids[this.pick % ids.length]!;
    release(m, allocId);
    const c = s.finishAlloc(allocId, this.ok ? 'complete' : 'failed');
    applyPlacements(m, c);
    compare(m, s, c);
  }
  toString(): string {
    return `finish(${this.pick}, ${this.ok})`;
  }
}

class NodeFlag implements Cmd {
  constructor(
    readonly node: number,
    readonly what: 'drain' | 'undrain' | 'ineligible' | 'eligible' | 'down' | 'ready' | 'initializing',
  ) {}
  check(m: Model): boolean {
    return m.nodes.length > 0;
  }
  run(m: Model, s: NomadScheduler): void {
    const n = m.nodes[this.node % m.nodes.length]!;
    let c: Change;
    switch (this.what) {
      case 'drain':
      case 'undrain':
        n.drain = this.what === 'drain';
        c = s.setDrain(n.id, n.drain);
        break;
      case 'ineligible':
      case 'eligible':
        n.eligible = this.what === 'eligible';
        c = s.setEligibility(n.id, n.eligible);
        break;
      default: {
        const expectedLost = this.what === 'down' && n.status !== 'down' ? [...n.allocs] : [];
        for (const id of expectedLost) release(m, id);
        n.status = this.what;
        c = s.setNodeStatus(n.id, this.what);
        expect(c.lost.map((p) => p.allocId).sort()).toEqual(expectedLost.sort());
      }
    }
    applyPlacements(m, c);
    compare(m, s, c);
  }
  toString(): string {
    return `${this.what}(node ${this.node})`;
  }
}

class Stop implements Cmd {
  constructor(readonly job: number) {}
  check(m: Model): boolean {
    return m.jobs.length > 0;
  }
  run(m: Model, s: NomadScheduler): void {
    const job = m.jobs[this.job % m.jobs.length]!;
    if (s.job(job.id) === undefined) return; // garbage-collected
    const dead = s.jobStatus(job.id) === 'dead';
    const expected = dead ? [] : [...job.open];
    for (const id of expected) release(m, id);
    if (!dead) job.stopped = true;
    const c = s.stopJob(job.id);
    expect(c.stopped.map((p) => p.allocId).sort()).toEqual(expected.sort());
    applyPlacements(m, c);
    compare(m, s, c);
  }
  toString(): string {
    return `stop(job ${this.job})`;
  }
}

class Retry implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, s: NomadScheduler): void {
    const c = s.retryBlocked();
    applyPlacements(m, c);
    compare(m, s, c);
  }
  toString(): string {
    return 'retryBlocked()';
  }
}

class Gc implements Cmd {
  check(): boolean {
    return true;
  }
  run(m: Model, s: NomadScheduler): void {
    s.gc();
    for (const j of m.jobs) if (j.open.size === 0 && (j.stopped || j.placed === j.count)) expect(s.job(j.id)).toBeUndefined();
    compare(m, s, null);
  }
  toString(): string {
    return 'gc()';
  }
}

const commands = [
  fc.tuple(fc.integer({ min: 2, max: 16 }), fc.integer({ min: 4, max: 48 }), fc.constantFrom('a', 'b')).map(([c, g, k]) => new AddNode(c, g, k)),
  fc
    .tuple(fc.integer({ min: 1, max: 5 }), fc.constantFrom(500, 1000, 2000, 4000), fc.constantFrom(1024, 4096, 8192), fc.constantFrom(30, 50, 70), fc.constantFrom<string | null>('a', 'b', null, null))
    .map(([n, c, mem, p, k]) => new Register(n, c, mem, p, k)),
  fc.tuple(fc.nat(), fc.boolean()).map(([p, ok]) => new Finish(p, ok)),
  fc.tuple(fc.nat(), fc.constantFrom('drain', 'undrain', 'ineligible', 'eligible', 'down', 'ready', 'ready', 'initializing') as fc.Arbitrary<NodeFlag['what']>).map(([n, w]) => new NodeFlag(n, w)),
  fc.nat().map((j) => new Stop(j)),
  fc.constant(new Retry()),
  fc.constant(new Gc()),
];

describe('NomadScheduler against a reference model', () => {
  it('agrees with the model on capacity, losses and stops under any command sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), fc.commands(commands, { maxCommands: 60 }), (seed, bound, cmds) => {
        const setup = () => ({
          model: { nodes: [], jobs: [], allocs: new Map(), jobN: 0 } as Model,
          real: new NomadScheduler({ rng: new Rng(seed).fork('nomad'), maxBlockedRetriesPerChange: bound }),
        });
        fc.modelRun(setup, cmds);
      }),
      { numRuns: 200 },
    );
  });
});
