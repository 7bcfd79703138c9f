import { describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine/simulation.ts';
import { DRAIN_STAGE_MS, NomadApiState, type ClientSpec } from './api-state.ts';
import { NomadHttpError } from './job-spec.ts';
import { SimulatedTaskRunner, type TaskRunner } from './task-runner.ts';

const CLIENTS: ClientSpec[] = [
  { name: 'ip-10-0-0-1', cpus: 4, memoryGb: 8 },
  { name: 'ip-10-0-0-2', cpus: 4, memoryGb: 8 },
];

/** A state on the simulation's virtual clock: runner timers fire only as the test runs the simulation. */
function virtual(opts: { clients?: ClientSpec[]; runner?: TaskRunner; seed?: number } = {}) {
  const sim = new Simulation();
  const state = new NomadApiState({
    seed: opts.seed ?? 1,
    clients: opts.clients ?? CLIENTS,
    clock: sim,
    runner: opts.runner ?? new SimulatedTaskRunner({ startDelayMs: 100, defaultDurationMs: 1_000 }),
    version: '0.9.3',
    reservedCpuMilli: 2000,
    reservedMemoryMb: 4096,
  });
  return { sim, state };
}

const job = (id: string, opts: { count?: number; cpuMhz?: number; durationMs?: number } = {}) => ({
  Job: {
    ID: id,
    Type: 'batch',
    Datacenters: ['us-east-1'],
    Meta: { duration_ms: String(opts.durationMs ?? 1_000) },
    TaskGroups: [{ Name: 'build', Count: opts.count ?? 1, Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: opts.cpuMhz ?? 2500, MemoryMB: 1024 } }] }],
  },
});

describe('NomadApiState', () => {
  it('registers its clients, one index each, starting after 1', () => {
    const { state } = virtual();
    expect(state.index).toBe(3);
    const nodes = state.nodes().body!;
    expect(Object.fromEntries(nodes.map((n) => [n.Name, n.CreateIndex]))).toEqual({ 'ip-10-0-0-1': 2, 'ip-10-0-0-2': 3 });
    // Listed by ID, as Nomad's state store returns them.
    expect(nodes.map((n) => n.ID)).toEqual([...state.nodeIds()].sort());
  });

  it('runs a job to completion on the virtual clock, one index per state change', () => {
    const { sim, state } = virtual();
    const seen: number[] = [];
    state.onCommit(() => seen.push(state.index));
    const reg = state.registerJob(job('j', { count: 2 }));
    expect(reg.Index).toBe(4);
    expect(state.job('j').body!.Status).toBe('running');
    sim.run({ untilMs: 99 });
    expect(state.jobSummary('j').body!.Summary.build).toMatchObject({ Starting: 2, Running: 0 });
    sim.run({ untilMs: 100 });
    expect(state.jobSummary('j').body!.Summary.build).toMatchObject({ Starting: 0, Running: 2 });
    sim.run();
    expect(state.job('j').body!.Status).toBe('dead');
    expect(state.jobSummary('j').body!.Summary.build).toMatchObject({ Complete: 2, Running: 0 });
    // register, two starts, two ends
    expect(seen).toEqual([4, 5, 6, 7, 8]);
    const allocs = state.jobAllocations('j');
    expect(allocs.index).toBe(8);
    expect(allocs.body!.map((a) => [a.ClientStatus, a.TaskStates.agent!.State, a.TaskStates.agent!.Events.map((e) => e.Type)])).toEqual([
      ['complete', 'dead', ['Received', 'Started', 'Terminated']],
      ['complete', 'dead', ['Received', 'Started', 'Terminated']],
    ]);
    expect(allocs.body![0]!.TaskStates.agent!.FinishedAt).toBe(new Date(1_100).toISOString());
    expect(state.job('j').body!.ModifyIndex).toBe(8);
  });

  it('is deterministic: the same seed and clock give the same JSON', () => {
    const run = () => {
      const { sim, state } = virtual({ seed: 9 });
      for (let i = 0; i < 5; i++) state.registerJob(job(`j${i}`, { count: 2, cpuMhz: 1250, durationMs: 100 * (i + 1) }));
      sim.run({ untilMs: 250 });
      return JSON.stringify([state.listJobs(), state.allocations(), state.evaluations(), state.nodes()]);
    };
    expect(run()).toBe(run());
  });

  it('records the placement failure on the evaluation that left tasks unplaced, and the blocked one', () => {
    const { state } = virtual({ clients: [CLIENTS[0]!] });
    const reg = state.registerJob(job('wide', { count: 3 }));
    const ev = state.evaluation(reg.EvalID).body!;
    expect(ev.BlockedEval).not.toBe('');
    expect(ev.FailedTGAllocs!.build).toMatchObject({ NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: { cpu: 1 } });
    expect(ev.QueuedAllocations).toEqual({ build: 1 });
    const blocked = state.evaluation(ev.BlockedEval).body!;
    expect(blocked).toMatchObject({ Status: 'blocked', PreviousEval: reg.EvalID });
    expect(state.jobEvaluations('wide').body!.map((e) => e.Status)).toEqual(['complete', 'blocked']);
  });

  it('commits nothing for a no-op eligibility change, as Nomad answers it with an empty reply', () => {
    const { state } = virtual();
    const node = state.nodeIds()[0]!;
    const before = state.index;
    expect(state.eligibility(node, 'eligible')).toMatchObject({ Index: 0 });
    expect(state.index).toBe(before);
    expect(state.eligibility(node, 'ineligible').Index).toBe(before + 1);
  });

  it("raises Nomad's RPC errors for drain and eligibility as 500s", () => {
    const { state } = virtual();
    const err = (fn: () => unknown): [number, string] => {
      try {
        fn();
      } catch (e) {
        if (e instanceof NomadHttpError) return [e.status, e.message];
        throw e;
      }
      throw new Error('no error');
    };
    expect(err(() => state.drain('00000000-0000-4000-8000-000000000000', { enable: true, form: 'spec' }))).toEqual([500, 'node not found']);
    expect(err(() => state.eligibility(state.nodeIds()[0]!, 'maybe'))).toEqual([500, 'invalid scheduling eligibility "maybe"']);
  });

  it('finishes a DrainSpec drain when the last allocation on the node ends (the node stays ineligible)', () => {
    const { sim, state } = virtual({ clients: [CLIENTS[0]!] });
    state.registerJob(job('busy', { durationMs: 5_000 }));
    const node = state.nodeIds()[0]!;
    state.drain(node, { enable: true, form: 'spec', deadlineNs: 3_600e9 });
    expect(state.node(node).body).toMatchObject({ Drain: true, SchedulingEligibility: 'ineligible' });
    // Nothing new is placed on a draining node.
    state.registerJob(job('waits'));
    expect(state.job('waits').body!.Status).toBe('pending');
    sim.run();
    expect(state.node(node).body).toMatchObject({ Drain: false, DrainStrategy: null, SchedulingEligibility: 'ineligible' });
    expect(state.node(node).body!.Events.at(-1)!.Message).toBe('Node drain complete');
    expect(state.job('waits').body!.Status).toBe('pending');
    state.drain(node, { enable: false, form: 'spec', markEligible: true });
    expect(state.job('waits').body!.Status).toBe('running');
  });

  /** Each committed index at which the node's allocations changed: [index, Migrate, DesiredStatus, ClientStatus] per allocation. */
  function drainSteps(state: NomadApiState, node: string): Array<[number, string[]]> {
    const steps: Array<[number, string[]]> = [];
    // (An allocation without its ID would be a new one to the CLI's monitor, which then prints nothing for it.)
    const read = () => state.nodeAllocations(node).body!.map((a) => `${/^[0-9a-f-]{36}$/.test(a.ID) ? '' : 'no ID '}${a.DesiredTransition.Migrate === true ? 'migrate' : '-'} ${a.DesiredStatus} ${a.ClientStatus}`);
    let last = read().join();
    state.onCommit(() => {
      const now = read();
      if (now.join() !== last) steps.push([state.index, now]);
      last = now.join();
    });
    return steps;
  }

  it("force-drains in 0.9.3's steps, each at its own index: marked for migration, stopped, then each reported complete", () => {
    const { sim, state } = virtual({ clients: [CLIENTS[0]!], runner: { start: (ctx) => (ctx.markRunning(), { stop() {} }) } });
    state.registerJob(job('busy', { count: 2, cpuMhz: 500 }));
    const node = state.nodeIds()[0]!;
    const steps = drainSteps(state, node);
    const at = state.drain(node, { enable: true, form: 'spec', deadlineNs: -1e9 }).Index;
    // The drain itself changes no allocation; nothing moves until the drainer's step.
    sim.run({ untilMs: DRAIN_STAGE_MS.migrate - 1 });
    expect(steps).toEqual([]);
    sim.run();
    expect(steps.map(([, s]) => s)).toEqual([
      ['migrate run running', 'migrate run running'],
      ['migrate stop running', 'migrate stop running'],
      ['migrate stop complete', 'migrate stop running'],
      ['migrate stop complete', 'migrate stop complete'],
    ]);
    const indexes = steps.map(([i]) => i);
    expect(indexes[0]).toBeGreaterThan(at);
    expect(new Set(indexes).size).toBe(4);
    expect(state.nodeAllocations(node).body!.map((a) => a.DesiredDescription)).toEqual(['alloc is being migrated', 'alloc is being migrated']);
    expect(state.node(node).body).toMatchObject({ Drain: false, DrainStrategy: null, SchedulingEligibility: 'ineligible' });
  });

  it('a drain with a deadline migrates what still runs when the deadline passes, and nothing if disabled before', () => {
    const { sim, state } = virtual({ clients: [CLIENTS[0]!], runner: { start: (ctx) => (ctx.markRunning(), { stop() {} }) } });
    state.registerJob(job('busy', { cpuMhz: 500 }));
    const node = state.nodeIds()[0]!;
    const steps = drainSteps(state, node);
    state.drain(node, { enable: true, form: 'spec', deadlineNs: 60e9 });
    sim.run({ untilMs: 59_999 });
    expect(steps).toEqual([]);
    sim.run();
    expect(steps.map(([, s]) => s)).toEqual([['migrate run running'], ['migrate stop running'], ['migrate stop complete']]);
    // Disabled before its deadline: nothing is migrated.
    const other = virtual({ clients: [CLIENTS[0]!], runner: { start: (ctx) => (ctx.markRunning(), { stop() {} }) } });
    other.state.registerJob(job('busy', { cpuMhz: 500 }));
    const n2 = other.state.nodeIds()[0]!;
    const steps2 = drainSteps(other.state, n2);
    other.state.drain(n2, { enable: true, form: 'spec', deadlineNs: 60e9 });
    other.state.drain(n2, { enable: false, form: 'spec', markEligible: true });
    other.sim.run();
    expect(steps2).toEqual([]);
  });

  it('fails an allocation whose runner throws, instead of failing the request', () => {
    const { state } = virtual({
      runner: {
        start: () => {
          throw new Error('image pull failed');
        },
      },
    });
    state.registerJob(job('broken'));
    const a = state.jobAllocations('broken').body![0]!;
    expect(a.ClientStatus).toBe('failed');
    expect(a.TaskStates.agent!.Events.map((e) => [e.Type, e.Message])).toContainEqual(['Driver Failure', 'image pull failed']);
  });

  it('refuses writes once closed and stops every runner', () => {
    const stops: string[] = [];
    const { state } = virtual({ runner: { start: () => ({ stop: (r) => stops.push(r) }) } });
    state.registerJob(job('j', { count: 2 }));
    state.close();
    expect(stops).toEqual(['shutdown', 'shutdown']);
    expect(() => state.registerJob(job('k'))).toThrow('shutting down');
  });
});
