import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../sim/engine/rng.ts';
import { NomadScheduler } from '../../sim/models/nomad/index.ts';
import type { StartedComponent } from '../providers/types.ts';
import { NomadApiError, NomadClient } from './client.ts';
import { which } from '../providers/process.ts';
import { drainMonitorOrderProblems, nomadCliContract, runDrainMonitor } from './cli-contract.ts';
import { nomadContract } from './contract.ts';
import { startNomadBackend } from './backend.ts';
import { findRealNomad, startRealNomad } from './real-nomad.ts';
import { NomadApi, NomadApiServer, type StartedNomadApiServer } from './server.ts';
import { SimulatedTaskRunner, type AllocationInfo, type TaskContext, type TaskRunner, type TaskStopReason } from './task-runner.ts';

const CLIENTS = [
  { name: 'ip-10-0-0-1', cpus: 4, memoryGb: 8 },
  { name: 'ip-10-0-0-2', cpus: 4, memoryGb: 8 },
];

function batchJob(id: string, opts: { count?: number; cpuMhz?: number; memoryMb?: number; durationMs?: number } = {}) {
  return {
    ID: id,
    Type: 'batch',
    Datacenters: ['us-east-1'],
    Meta: { duration_ms: String(opts.durationMs ?? 100) },
    TaskGroups: [
      {
        Name: 'build',
        Count: opts.count ?? 1,
        Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: opts.cpuMhz ?? 2500, MemoryMB: opts.memoryMb ?? 1024 } }],
      },
    ],
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const nomadBinary = which('nomad');
const cliLabel = nomadBinary === undefined ? 'skipped: no `nomad` binary on PATH' : nomadBinary;

describe('twin Nomad API: the contract', () => {
  let server: StartedNomadApiServer;
  beforeAll(async () => {
    server = await new NomadApiServer()
      .withSeed(7)
      .withClients(CLIENTS)
      .withTaskRunner(new SimulatedTaskRunner({ startDelayMs: 20 }))
      .start();
  });
  afterAll(() => server.stop());
  nomadContract(() => server.url);
  describe.skipIf(nomadBinary === undefined)(`the nomad CLI (${cliLabel})`, () => {
    nomadCliContract(() => server.url, nomadBinary!);
  });
});

const realSource = findRealNomad();
const realNomad = realSource.kind !== 'none';
const realLabel = realSource.kind === 'none' ? `skipped: ${realSource.reason}` : realSource.kind === 'address' ? `NOMAD_ADDR=${realSource.address}` : `nomad agent, own data dir (${realSource.path})`;

const bothLabel = nomadBinary === undefined ? cliLabel : realLabel;
describe.skipIf(nomadBinary === undefined || !realNomad)(`nomad node-drain's monitor, twin against real Nomad (${bothLabel})`, () => {
  let real: StartedComponent | undefined;
  let twin: StartedNomadApiServer;
  beforeAll(async () => {
    real = await startRealNomad(realSource);
    twin = await new NomadApiServer().withClients([CLIENTS[0]!]).withTaskRunner(new SimulatedTaskRunner({ startDelayMs: 20 })).start();
  }, 90_000);
  afterAll(async () => {
    await twin?.stop();
    await real?.stop();
  });

  for (const args of [
    ['node-drain', '-enable', '-force', '-yes'],
    ['node', 'drain', '-enable', '-deadline', '2s', '-yes'],
  ]) {
    it(`nomad ${args.join(' ')} <node>: the same lines on both sides (ids masked; the watchers' interleaving aside)`, async () => {
      const realRun = await runDrainMonitor(nomadBinary!, real!.url, args);
      const twinRun = await runDrainMonitor(nomadBinary!, twin.url, args);
      for (const [side, run] of [['real', realRun], ['twin', twinRun]] as const) {
        expect(run.code, `${side}: ${run.stderr}`).toBe(0);
        expect(drainMonitorOrderProblems(run.lines), `${side}:\n${run.lines.join('\n')}`).toEqual([]);
      }
      expect(twinRun.lines.slice(0, 2)).toEqual(realRun.lines.slice(0, 2));
      expect([...twinRun.lines].sort()).toEqual([...realRun.lines].sort());
    }, 90_000);
  }
});

describe.skipIf(!realNomad)(`real Nomad: the same contract (${realLabel})`, () => {
  let real: StartedComponent | undefined;
  beforeAll(async () => {
    real = await startRealNomad(realSource);
  }, 90_000);
  afterAll(async () => {
    await real?.stop();
  });
  nomadContract(() => real!.url);
  describe.skipIf(nomadBinary === undefined)(`the nomad CLI (${cliLabel})`, () => {
    nomadCliContract(() => real!.url, nomadBinary!);
  });
});

describe('twin Nomad API: twin behaviour', () => {
  const started: StartedNomadApiServer[] = [];
  const start = async (b: NomadApiServer): Promise<{ server: StartedNomadApiServer; client: NomadClient }> => {
    const server = await b.start();
    started.push(server);
    return { server, client: new NomadClient({ address: server.url }) };
  };
  afterEach(async () => {
    for (const s of started.splice(0)) await s.stop();
  });

  it('places exactly where the simulation’s scheduler does for the same seed (the same code behind the API)', async () => {
    const { server, client } = await start(new NomadApi().withSeed(42).withClients(CLIENTS).withTaskRunner({ start: () => ({ stop() {} }) }));
    const direct = new NomadScheduler({ rng: new Rng(42).fork('nomad'), reservedCpuMilli: 2000, reservedMemoryMb: 4096 });
    for (const c of CLIENTS) direct.addNode({ name: c.name, cpuMilli: c.cpus * 1000, memoryMb: c.memoryGb * 1024, datacenter: 'us-east-1', nodeClass: 'linux-64bit' });
    for (let i = 0; i < 6; i++) {
      const id = `job-${i}`;
      await client.registerJob(batchJob(id, { count: 1 + (i % 2), cpuMhz: 1250, memoryMb: 512 }));
      direct.registerJob({ id, count: 1 + (i % 2), cpuMilli: 500, memoryMb: 512 });
      const viaApi = (await client.jobAllocations(id)).map((a) => [a.ID, a.NodeID]);
      const viaSim = direct.jobAllocs(id).map((a) => [a.allocId, a.nodeId]);
      expect(viaApi).toEqual(viaSim);
    }
    expect(server.scheduler.counts()).toEqual(direct.counts());
  });

  it('runs allocations through an injected task runner, which sees the job and its Meta', async () => {
    const seen: AllocationInfo[] = [];
    const stops: [string, TaskStopReason][] = [];
    const contexts = new Map<string, TaskContext>();
    const runner: TaskRunner = {
      start(ctx) {
        seen.push(ctx.alloc);
        contexts.set(ctx.alloc.allocId, ctx);
        ctx.event('Driver', 'Downloading image circleci/picard');
        return { stop: (reason) => stops.push([ctx.alloc.allocId, reason]) };
      },
    };
    const { client } = await start(new NomadApi().withClients(CLIENTS).withTaskRunner(runner));
    await client.registerJob({ ...batchJob('agent-job', { count: 2 }), Meta: { build_url: 'https://ghe/x/1', duration_ms: '5' } });
    expect(seen.map((a) => [a.jobId, a.taskGroup, a.taskIndex, a.meta.build_url, a.tasks[0]!.Name])).toEqual([
      ['agent-job', 'build', 0, 'https://ghe/x/1', 'agent'],
      ['agent-job', 'build', 1, 'https://ghe/x/1', 'agent'],
    ]);
    const [a0, a1] = seen as [AllocationInfo, AllocationInfo];
    contexts.get(a0.allocId)!.markRunning();
    contexts.get(a0.allocId)!.finish('complete');
    contexts.get(a1.allocId)!.markRunning();
    contexts.get(a1.allocId)!.finish('failed', 'step failed');
    // Reports after the end are ignored, as a real server ignores a client's stale updates.
    contexts.get(a1.allocId)!.finish('complete');
    const allocs = await client.jobAllocations('agent-job');
    expect(allocs.map((a) => a.ClientStatus)).toEqual(['complete', 'failed']);
    expect(allocs[1]!.TaskStates.agent!.Events.map((e) => e.Type)).toEqual(['Received', 'Driver', 'Started', 'Terminated', 'Not Restarting']);
    expect((await client.job('agent-job'))!.Status).toBe('dead');
    expect(stops).toEqual([]);
  });

  it('loses the allocations of a client marked down, stopping their tasks', async () => {
    const stops: TaskStopReason[] = [];
    const runner: TaskRunner = { start: (ctx) => (ctx.markRunning(), { stop: (r) => stops.push(r) }) };
    const { server, client } = await start(new NomadApi().withClients(CLIENTS).withTaskRunner(runner));
    await client.registerJob(batchJob('doomed', { count: 2 }));
    const allocs = await client.jobAllocations('doomed');
    const nodeId = allocs[0]!.NodeID;
    const r = await fetch(`${server.url}/v1/twin/node/${nodeId}/down`, { method: 'POST' });
    expect(r.status).toBe(200);
    const lost = ((await r.json()) as { LostAllocs: string[] }).LostAllocs;
    expect(lost.length).toBeGreaterThan(0);
    expect(stops.filter((s) => s === 'lost')).toHaveLength(lost.length);
    for (const id of lost) expect((await client.allocation(id))!).toMatchObject({ ClientStatus: 'lost', DesiredStatus: 'stop' });
    expect((await client.node(nodeId))!.Status).toBe('down');
    await fetch(`${server.url}/v1/twin/node/${nodeId}/up`, { method: 'POST' });
    expect((await client.node(nodeId))!.Status).toBe('ready');
  });

  it('places a waiting job when capacity frees, and a blocking query on its allocations wakes up for it', async () => {
    const { server, client } = await start(new NomadApi().withClients([CLIENTS[0]!]).withTaskRunner(new SimulatedTaskRunner({ startDelayMs: 10 })));
    // One client of 4 cpus keeps 2: one 2-cpu task fits at a time.
    await client.registerJob(batchJob('first', { cpuMhz: 5000, durationMs: 300 }));
    await client.registerJob(batchJob('second', { cpuMhz: 5000, durationMs: 50 }));
    expect((await client.job('second'))!.Status).toBe('pending');
    const r = await fetch(`${server.url}/v1/job/second/allocations`);
    const index = Number(r.headers.get('X-Nomad-Index'));
    expect(await r.json()).toEqual([]);
    // As on Nomad, a job without allocations answers with the allocations table's index, so other jobs'
    // changes wake the query too ("no guarantee of a change"): a client loops on the index it got back.
    let last = index;
    let found: unknown[] = [];
    for (let round = 0; round < 20 && found.length === 0; round++) {
      const woke = await fetch(`${server.url}/v1/job/second/allocations?index=${last}&wait=10s`);
      const next = Number(woke.headers.get('X-Nomad-Index'));
      expect(next).toBeGreaterThan(last);
      last = next;
      found = (await woke.json()) as unknown[];
    }
    expect(found).toHaveLength(1);
    expect((await client.job('first'))!.Status).toBe('dead');
    await until('second to finish', async () => (await client.job('second'))?.Status === 'dead');
  });

  it('adds a client through /v1/twin/node, which takes a waiting job', async () => {
    const { server, client } = await start(new NomadApi().withClients([CLIENTS[0]!]).withTaskRunner({ start: () => ({ stop() {} }) }));
    await client.registerJob(batchJob('big', { cpuMhz: 10_000, memoryMb: 8 * 1024 }));
    expect((await client.job('big'))!.Status).toBe('pending');
    const r = await fetch(`${server.url}/v1/twin/node`, { method: 'POST', body: JSON.stringify({ Name: 'ip-10-0-0-9', Cpus: 8, MemoryGb: 32 }) });
    const { NodeID } = (await r.json()) as { NodeID: string };
    const allocs = await client.jobAllocations('big');
    expect(allocs.map((a) => [a.NodeID, a.NodeName])).toEqual([[NodeID, 'ip-10-0-0-9']]);
  });

  it('wipes its state like `rm -rf /opt/nomad`: jobs are forgotten, tasks stop, the index keeps counting', async () => {
    const stops: TaskStopReason[] = [];
    const { server, client } = await start(new NomadApi().withClients(CLIENTS).withTaskRunner({ start: () => ({ stop: (r) => stops.push(r) }) }));
    await client.registerJob(batchJob('before-wipe', { count: 2 }));
    await client.drain(server.nodeIds()[1]!, true);
    const before = server.state.index;
    const r = await fetch(`${server.url}/v1/twin/wipe`, { method: 'POST' });
    const out = (await r.json()) as { Index: number; LostJobs: string[]; LostAllocs: string[] };
    expect(out.LostJobs).toEqual(['before-wipe']);
    expect(out.LostAllocs).toHaveLength(2);
    expect(out.Index).toBeGreaterThan(before);
    expect(stops).toEqual(['wiped', 'wiped']);
    expect(await client.job('before-wipe')).toBeUndefined();
    expect(await client.jobs()).toEqual([]);
    const nodes = await client.nodes();
    expect(nodes.map((n) => [n.Drain, n.SchedulingEligibility])).toEqual([
      [false, 'eligible'],
      [false, 'eligible'],
    ]);
    await client.registerJob(batchJob('before-wipe'));
    expect((await client.job('before-wipe'))!.Status).toBe('running');
  });

  it('force-drains on ?enable=true as 0.9.3 does (its allocations migrated: marked, stopped, reported), and ends a DrainSpec drain by itself', async () => {
    const stops: TaskStopReason[] = [];
    const { server, client } = await start(new NomadApi().withClients(CLIENTS).withTaskRunner({ start: (ctx) => (ctx.markRunning(), { stop: (r) => stops.push(r) }) }));
    const [a, b] = server.nodeIds() as [string, string];
    await client.registerJob(batchJob('on-a', { count: 1 }));
    const alloc = (await client.jobAllocations('on-a'))[0]!;
    const busy = alloc.NodeID;
    const idle = busy === a ? b : a;
    expect((await fetch(`${server.url}/v1/node/${busy}/drain?enable=true`, { method: 'PUT' })).status).toBe(200);
    await until('the drained allocation to be reported complete', async () => (await client.allocation(alloc.ID))!.ClientStatus === 'complete');
    expect(stops).toEqual(['stopped']);
    expect(await client.allocation(alloc.ID)).toMatchObject({ DesiredStatus: 'stop', DesiredDescription: 'alloc is being migrated', DesiredTransition: { Migrate: true } });
    const nBusy = (await client.node(busy))!;
    expect([nBusy.Drain, nBusy.DrainStrategy, nBusy.SchedulingEligibility]).toEqual([false, null, 'ineligible']);
    expect(nBusy.Events.map((e) => e.Message)).toEqual(['Node registered', 'Node drain strategy set', 'Node drain complete']);
    await client.request('POST', `/v1/node/${idle}/drain`, { body: { DrainSpec: { Deadline: 0 } } });
    const nIdle = (await client.node(idle))!;
    expect([nIdle.Drain, nIdle.DrainStrategy, nIdle.SchedulingEligibility]).toEqual([false, null, 'ineligible']);
    expect(nIdle.Events.map((e) => e.Message)).toEqual(['Node registered', 'Node drain strategy set', 'Node drain complete']);
    expect((await fetch(`${server.url}/v1/node/${busy}/drain?enable=false`, { method: 'PUT' })).status).toBe(200);
    expect((await client.node(busy))!.SchedulingEligibility).toBe('eligible');
  });

  it('refuses eligible while a drain is on', async () => {
    const { server, client } = await start(new NomadApi().withClients([CLIENTS[0]!]).withTaskRunner({ start: () => ({ stop() {} }) }));
    const a = server.nodeIds()[0]!;
    await client.registerJob(batchJob('keeps-it-busy'));
    await client.drain(a, true);
    await expect(client.eligibility(a, true)).rejects.toMatchObject({ status: 500, body: "can not set node's scheduling eligibility to eligible while it is draining" });
    await client.drain(a, false);
    expect((await client.node(a))!.SchedulingEligibility).toBe('eligible');
  });

  it('drains a busy node without stopping its allocation; the drain completes when it ends', async () => {
    const contexts: TaskContext[] = [];
    const { server, client } = await start(new NomadApi().withClients([CLIENTS[0]!]).withTaskRunner({ start: (ctx) => (contexts.push(ctx), { stop() {} }) }));
    await client.registerJob(batchJob('busy'));
    const nodeId = server.nodeIds()[0]!;
    await client.drain(nodeId, true);
    let n = (await client.node(nodeId))!;
    expect([n.Drain, n.DrainStrategy !== null, n.Events.at(-1)?.Message]).toEqual([true, true, 'Node drain strategy set']);
    contexts[0]!.markRunning();
    contexts[0]!.finish('complete');
    n = (await client.node(nodeId))!;
    expect([n.Drain, n.DrainStrategy, n.SchedulingEligibility, n.Events.at(-1)?.Message]).toEqual([false, null, 'ineligible', 'Node drain complete']);
  });

  it('falls back to ?enable= against a server that only has the ≤ 0.7 API, which has no /eligibility', async () => {
    const { server, client } = await start(new NomadApi().withCompat('legacy').withClients(CLIENTS).withTaskRunner({ start: () => ({ stop() {} }) }));
    const nodeId = server.nodeIds()[0]!;
    expect(await client.drain(nodeId, true)).toMatchObject({ form: 'legacy' });
    expect((await client.node(nodeId))!.Drain).toBe(true);
    expect(await client.drain(nodeId, false)).toMatchObject({ form: 'legacy' });
    expect((await client.node(nodeId))!.Drain).toBe(false);
    await expect(client.eligibility(nodeId, false)).rejects.toMatchObject({ status: 405, body: 'Invalid method' });
  });

  it('evaluates an unchanged live job again, refuses a changed one, and registers a dead job id afresh after a GC', async () => {
    const { client } = await start(new NomadApi().withClients(CLIENTS).withTaskRunner({ start: () => ({ stop() {} }) }));
    const first = await client.registerJob(batchJob('again'));
    const same = await client.registerJob(batchJob('again'));
    expect(same.EvalID).not.toBe(first.EvalID);
    expect(await client.evaluation(same.EvalID)).toMatchObject({ JobID: 'again', TriggeredBy: 'job-register', Status: 'complete' });
    expect(await client.jobAllocations('again')).toHaveLength(1);
    const err = await client.registerJob(batchJob('again', { count: 2 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NomadApiError);
    expect((err as NomadApiError).status).toBe(400);
    expect((err as NomadApiError).body).toContain('does not update a registered job in place');
    await client.stopJob('again');
    const again = await client.registerJob(batchJob('again'));
    expect((await client.evaluation(again.EvalID))!.JobID).toBe('again');
    expect((await client.job('again'))!.Status).toBe('running');
  });

  it('looks ids up as the CLI does: ?prefix= on lists, /v1/search, and the state store\'s 500 for a malformed UUID prefix', async () => {
    const { server, client } = await start(new NomadApi().withClients(CLIENTS).withTaskRunner({ start: () => ({ stop() {} }) }));
    for (const id of ['build-1', 'build-10', 'build-2']) await client.registerJob(batchJob(id));
    expect((await client.jobs('build-1')).map((j) => j.ID)).toEqual(['build-1', 'build-10']);
    const search = async (Prefix: string, Context: string) => {
      const r = await fetch(`${server.url}/v1/search`, { method: 'POST', body: JSON.stringify({ Prefix, Context }) });
      return [r.status, (await r.json()) as { Matches: Record<string, string[]>; Truncations: Record<string, boolean> }] as const;
    };
    expect((await search('build-1', 'jobs'))[1]).toMatchObject({ Matches: { jobs: ['build-1', 'build-10'] }, Truncations: { jobs: false } });
    const node = server.nodeIds()[0]!;
    // A UUID prefix of odd length loses its last character, as Nomad's does.
    expect((await search(node.slice(0, 5), 'all'))[1].Matches.nodes).toContain(node);
    const nodes = await fetch(`${server.url}/v1/nodes?prefix=${node.slice(0, 4)}`);
    expect(((await nodes.json()) as { ID: string }[]).map((n) => n.ID)).toEqual([node]);
    const bad = await fetch(`${server.url}/v1/evaluations?prefix=nope`);
    expect([bad.status, await bad.text()]).toEqual([500, "eval lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+006E 'n'"]);
    const odd = await fetch(`${server.url}/v1/allocations?prefix=abc`);
    expect([odd.status, await odd.text()]).toEqual([500, 'alloc lookup failed: index error: Input (without hyphens) must be even length']);
  });

  it('serves a task\'s output as the client API does: JSON frames of base64 data, plain text, from the end', async () => {
    const contexts: TaskContext[] = [];
    const { server, client } = await start(new NomadApi().withClients(CLIENTS).withTaskRunner({ start: (ctx) => (contexts.push(ctx), ctx.markRunning(), { stop() {} }) }));
    await client.registerJob(batchJob('logs'));
    const alloc = (await client.jobAllocations('logs'))[0]!;
    contexts[0]!.log!('stdout', 'step 1\n');
    contexts[0]!.log!('stdout', 'step 2\n');
    contexts[0]!.log!('stderr', 'oops\n');
    const url = (q: string) => `${server.url}/v1/client/fs/logs/${alloc.ID}?task=agent&${q}`;
    const framed = await (await fetch(url('type=stdout'))).text();
    const frames = framed.split(/(?<=\})(?=\{)/).map((f) => JSON.parse(f) as { Offset: number; Data: string; File: string });
    expect(frames.map((f) => Buffer.from(f.Data, 'base64').toString()).join('')).toBe('step 1\nstep 2\n');
    expect(frames[0]).toMatchObject({ Offset: 0, File: 'alloc/logs/agent.stdout.0' });
    expect(await (await fetch(url('type=stderr&plain=true'))).text()).toBe('oops\n');
    expect(await (await fetch(url('type=stdout&plain=true&origin=end&offset=7'))).text()).toBe('step 2\n');
    const noType = await fetch(url('plain=true'));
    expect([noType.status, await noType.text()]).toEqual([500, 'must provide log type (stdout/stderr)']);
    const unknown = await fetch(`${server.url}/v1/client/fs/logs/${alloc.ID}?task=nope&type=stdout`);
    expect([unknown.status, await unknown.text()]).toEqual([400, 'unknown task name "nope"']);
  });

  it('refuses job shapes it does not model with a 400 that says so', async () => {
    const { server } = await start(new NomadApi().withClients(CLIENTS));
    const put = (job: unknown) => fetch(`${server.url}/v1/jobs`, { method: 'PUT', body: JSON.stringify({ Job: job }) });
    let r = await put({ ...batchJob('svc'), Type: 'service' });
    expect([r.status, await r.text()]).toEqual([400, expect.stringContaining('batch jobs only')]);
    const two = batchJob('two');
    r = await put({ ...two, TaskGroups: [...two.TaskGroups, { ...two.TaskGroups[0]!, Name: 'other' }] });
    expect([r.status, await r.text()]).toEqual([400, expect.stringContaining('one task group per job')]);
    r = await fetch(`${server.url}/v1/job/other-id`, { method: 'PUT', body: JSON.stringify({ Job: batchJob('svc') }) });
    expect([r.status, await r.text()]).toEqual([400, 'Job ID does not match name']);
  });

  it('answers a blocking query in flight when it stops, and leaves no task or waiter behind', async () => {
    const server = await new NomadApi().withClients(CLIENTS).withTaskRunner(new SimulatedTaskRunner({ defaultDurationMs: 60_000 })).start();
    const client = new NomadClient({ address: server.url });
    await client.registerJob(batchJob('forever', { durationMs: 60_000 }));
    const index = (await client.request('GET', '/v1/jobs')).meta.index;
    const started = Date.now();
    const waiting = client.blockingJobs(index + 100, 60_000);
    await new Promise((r) => setTimeout(r, 100));
    await server.stop();
    const out = await waiting;
    expect(out.jobs.map((j) => j.ID)).toEqual(['forever']);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.state.runningTasks).toBe(0);
    await expect(fetch(`${server.url}/v1/jobs`)).rejects.toThrow();
    await server.stop();
  });
});

describe('choosing the Nomad backend', () => {
  it('auto takes NOMAD_ADDR first, and says so', async () => {
    const { started, reason } = await startNomadBackend({ env: { NOMAD_ADDR: 'http://10.0.0.5:4646/' } });
    expect([started.backend, started.url, reason]).toEqual(['external', 'http://10.0.0.5:4646', 'auto: NOMAD_ADDR is set (http://10.0.0.5:4646)']);
    await started.stop();
  });

  it.skipIf(realNomad)('auto falls back to the twin Nomad API when there is no real Nomad, and says why', async () => {
    const { started, reason } = await startNomadBackend({ env: {}, twin: (b) => b.withClients([CLIENTS[0]!]) });
    try {
      expect(started.backend).toBe('embedded');
      expect(reason).toMatch(/^auto: no real Nomad: .*; using the twin Nomad API$/);
      expect(await new NomadClient({ address: started.url }).leader()).toBe('127.0.0.1:4647');
    } finally {
      await started.stop();
    }
  });

  it('refuses a backend that is not there, with a typed error', async () => {
    await expect(startNomadBackend({ choice: 'external', env: {} })).rejects.toMatchObject({ code: 'BAD_URL' });
    await expect(startNomadBackend({ choice: 'testcontainers' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
