/**
 * The Nomad HTTP API contract: behaviour the twin's Nomad API shares with a real Nomad, as a vitest suite
 * to run against either (`nomadContract(() => url)` inside a `describe`).
 *
 * It assumes only what a fresh `nomad agent -dev` also offers: at least one ready client node, able to run
 * a small `raw_exec` batch task (the twin ignores the driver and runs for `Meta.duration_ms`). Job ids are
 * unique per run, nothing assumes an empty cluster, and every node it drains is made eligible again.
 * Real Nomad is asynchronous (evaluations go through a broker), so outcomes are awaited with a bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NomadClient, NomadApiError } from './client.ts';
import { pollClientLines } from './client-poll.ts';
import type { AllocListStubJson, EvaluationJson, JobJson, NodeJson, NodeListStubJson } from './shapes.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A well-formed id no cluster has. */
const MISSING_ID = '00000000-0000-4000-8000-000000000000';
/** Bound on waiting for an asynchronous outcome (a real evaluation, a task run). */
const EVENTUALLY_MS = 30_000;

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

async function raw(base: string, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(60_000) };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${base}${path}`, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Polls `probe` until it returns a value other than undefined/false, at most `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = EVENTUALLY_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** Math.min(attempt, 3), 400)));
  }
}

/** A small batch job both backends can run: `raw_exec` sleep on a real Nomad, `Meta.duration_ms` on the twin. */
function batchJob(id: string, datacenter: string, opts: { durationMs: number; cpuMhz?: number; memoryMb?: number; count?: number }) {
  const seconds = Math.max(1, Math.ceil(opts.durationMs / 1000));
  return {
    ID: id,
    Name: id,
    Type: 'batch',
    Priority: 50,
    Datacenters: [datacenter],
    Meta: { duration_ms: String(opts.durationMs) },
    TaskGroups: [
      {
        Name: 'build',
        Count: opts.count ?? 1,
        Tasks: [
          {
            Name: 'agent',
            Driver: 'raw_exec',
            Config: { command: '/bin/sleep', args: [String(seconds)] },
            Resources: { CPU: opts.cpuMhz ?? 100, MemoryMB: opts.memoryMb ?? 64 },
          },
        ],
      },
    ],
  };
}

/** Registers the contract's suite inside the caller's `describe`; `getUrl` is read once the server is up. */
export function nomadContract(getUrl: () => string): void {
  let client: NomadClient;
  let base: string;
  let node: NodeListStubJson;
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const jobIds: string[] = [];
  const jobId = (label: string): string => {
    const id = `contract-${runId}-${label}`;
    jobIds.push(id);
    return id;
  };

  beforeAll(async () => {
    base = getUrl();
    client = new NomadClient({ address: base });
    node = await eventually('a ready node', async () => (await client.nodes()).find((n) => n.Status === 'ready' && n.SchedulingEligibility !== 'ineligible'));
  });

  afterAll(async () => {
    if (client === undefined || node === undefined) return;
    // Leave the cluster as found: no drain, eligible, no job of ours running.
    await client.drain(node.ID, false).catch(() => undefined);
    await client.eligibility(node.ID, true).catch(() => undefined);
    for (const id of jobIds) await client.stopJob(id, { purge: true }).catch(() => undefined);
  });

  describe('status and agent', () => {
    it('names the leader by its RPC address, among the peers', async () => {
      const leader = await client.leader();
      expect(leader).toMatch(/^[\w.-]+:\d+$/);
      const peers = JSON.parse((await raw(base, 'GET', '/v1/status/peers')).text) as string[];
      expect(peers).toContain(leader);
    });

    it('describes itself in /v1/agent/self (config and member)', async () => {
      const r = await raw(base, 'GET', '/v1/agent/self');
      expect(r.status).toBe(200);
      const self = JSON.parse(r.text) as { config: Record<string, unknown>; member: Record<string, unknown> };
      expect(typeof self.config.Datacenter).toBe('string');
      expect(self.config.Version).toBeDefined();
      expect(self.member.Status).toBe('alive');
      expect(typeof self.member.Name).toBe('string');
    });

    it('reports a healthy server in /v1/agent/health', async () => {
      const r = await raw(base, 'GET', '/v1/agent/health');
      expect(r.status).toBe(200);
      expect((JSON.parse(r.text) as { server: { ok: boolean } }).server.ok).toBe(true);
    });
  });

  describe('nodes', () => {
    it('lists nodes as stubs with the blocking-query headers', async () => {
      const r = await raw(base, 'GET', '/v1/nodes');
      expect(r.status).toBe(200);
      expect(Number(r.headers.get('X-Nomad-Index'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('X-Nomad-KnownLeader')).toBe('true');
      expect(Number.isFinite(Number(r.headers.get('X-Nomad-LastContact')))).toBe(true);
      const nodes = JSON.parse(r.text) as NodeListStubJson[];
      const stub = nodes.find((n) => n.ID === node.ID)!;
      expect(stub.ID).toMatch(UUID);
      for (const key of ['Datacenter', 'Name', 'NodeClass', 'Status'] as const) expect(typeof stub[key]).toBe('string');
      expect(typeof stub.Drain).toBe('boolean');
      expect(['eligible', 'ineligible']).toContain(stub.SchedulingEligibility);
    });

    it('reads a node and its allocations', async () => {
      const n = (await client.node(node.ID))!;
      expect(n.ID).toBe(node.ID);
      expect(n.Name).toBe(node.Name);
      expect(n.Datacenter).toBe(node.Datacenter);
      expect(n.Status).toBe('ready');
      expect(n.Resources.CPU).toBeGreaterThan(0);
      expect(n.Resources.MemoryMB).toBeGreaterThan(0);
      const r = await raw(base, 'GET', `/v1/node/${node.ID}/allocations`);
      expect(r.status).toBe(200);
      expect(Array.isArray(JSON.parse(r.text))).toBe(true);
    });
  });

  describe('errors', () => {
    it("answers unknown objects with 404 and Nomad's plain-text message", async () => {
      const cases: [string, string][] = [
        [`/v1/job/contract-${runId}-missing`, 'job not found'],
        [`/v1/job/contract-${runId}-missing/summary`, 'job not found'],
        [`/v1/node/${MISSING_ID}`, 'node not found'],
        [`/v1/allocation/${MISSING_ID}`, 'alloc not found'],
        [`/v1/evaluation/${MISSING_ID}`, 'eval not found'],
      ];
      for (const [path, text] of cases) {
        const r = await raw(base, 'GET', path);
        expect({ path, status: r.status, text: r.text.trim() }).toEqual({ path, status: 404, text });
      }
      expect(await client.job(`contract-${runId}-missing`)).toBeUndefined();
    });

    it('lists nothing (200 []) for the allocations of an unknown job', async () => {
      const r = await raw(base, 'GET', `/v1/job/contract-${runId}-missing/allocations`);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toEqual([]);
    });

    it('answers a DELETE of a job that never existed as 0.9.3 does: a complete job-deregister evaluation, two indexes, the job still 404', async () => {
      const id = `contract-${runId}-never`;
      const r = await raw(base, 'DELETE', `/v1/job/${id}`);
      expect(r.status).toBe(200);
      const body = JSON.parse(r.text) as { EvalID: string; EvalCreateIndex: number; JobModifyIndex: number; Index: number };
      expect(body.EvalID).toMatch(UUID);
      expect(body.EvalCreateIndex).toBe(body.Index);
      expect(body.JobModifyIndex).toBeGreaterThan(0);
      expect(body.EvalCreateIndex).toBeGreaterThan(body.JobModifyIndex);
      const e = await eventually('the deregistration evaluation to complete', async () => {
        const x = await raw(base, 'GET', `/v1/evaluation/${body.EvalID}`);
        const ev = x.status === 200 ? (JSON.parse(x.text) as EvaluationJson) : undefined;
        return ev?.Status === 'complete' ? ev : undefined;
      });
      expect({ JobID: e.JobID, TriggeredBy: e.TriggeredBy, Type: e.Type, Priority: e.Priority, JobModifyIndex: e.JobModifyIndex }).toEqual({ JobID: id, TriggeredBy: 'job-deregister', Type: 'service', Priority: 50, JobModifyIndex: body.JobModifyIndex });
      expect((await raw(base, 'GET', `/v1/job/${id}`)).status).toBe(404);
      const listed = JSON.parse((await raw(base, 'GET', `/v1/evaluations?prefix=${body.EvalID.slice(0, 8)}`)).text) as EvaluationJson[];
      expect(listed.map((x) => x.ID)).toContain(body.EvalID);
    });

    it('refuses a method a route does not take with 405 Invalid method', async () => {
      for (const [method, path] of [
        ['PATCH', '/v1/jobs'],
        ['DELETE', '/v1/nodes'],
        ['PUT', `/v1/node/${node.ID}`],
      ] as const) {
        const r = await raw(base, method, path);
        expect({ method, path, status: r.status, text: r.text.trim() }).toEqual({ method, path, status: 405, text: 'Invalid method' });
      }
    });

    it('refuses bad JSON and a job without an ID with 400', async () => {
      const bad = await raw(base, 'PUT', '/v1/jobs', '{"Job": ');
      expect(bad.status).toBe(400);
      expect(bad.text.length).toBeGreaterThan(0);
      const noId = await raw(base, 'PUT', '/v1/jobs', { Job: { Type: 'batch' } });
      expect(noId.status).toBe(400);
      expect(noId.text).toContain("Job ID hasn't been provided");
      const noJob = await raw(base, 'PUT', '/v1/jobs', {});
      expect(noJob.status).toBe(400);
      expect(noJob.text).toContain('Job must be specified');
    });

    it('refuses a malformed wait or index with 400', async () => {
      const wait = await raw(base, 'GET', '/v1/jobs?index=1&wait=forever');
      expect([wait.status, wait.text.trim()]).toEqual([400, 'Invalid wait time']);
      const index = await raw(base, 'GET', '/v1/jobs?index=abc');
      expect([index.status, index.text.trim()]).toEqual([400, 'Invalid index']);
    });
  });

  describe('jobs', () => {
    it('registers a batch job: an evaluation, an allocation, then the job runs to dead with its task complete', async () => {
      const id = jobId('short');
      const r = await raw(base, 'PUT', '/v1/jobs', { Job: batchJob(id, node.Datacenter, { durationMs: 300 }) });
      expect(r.status).toBe(200);
      expect(Number(r.headers.get('X-Nomad-Index'))).toBeGreaterThan(0);
      const reg = JSON.parse(r.text) as { EvalID: string; EvalCreateIndex: number; JobModifyIndex: number; Index: number };
      expect(reg.EvalID).toMatch(UUID);
      expect(reg.EvalCreateIndex).toBeGreaterThan(0);
      expect(reg.JobModifyIndex).toBeGreaterThan(0);

      const ev = await eventually('the registration evaluation', () => client.evaluation(reg.EvalID));
      expect(ev).toMatchObject({ ID: reg.EvalID, JobID: id, TriggeredBy: 'job-register' });

      const allocs = await eventually('an allocation', async () => {
        const a = await client.jobAllocations(id);
        return a.length > 0 ? a : undefined;
      });
      const stub = allocs[0]!;
      expect(stub).toMatchObject({ JobID: id, TaskGroup: 'build', DesiredStatus: 'run' });
      expect(stub.ID).toMatch(UUID);
      expect(stub.EvalID).toMatch(UUID);
      expect(typeof stub.NodeID).toBe('string');
      const alloc = (await client.allocation(stub.ID))!;
      expect(alloc).toMatchObject({ ID: stub.ID, JobID: id, TaskGroup: 'build', NodeID: stub.NodeID });
      expect(Object.keys(alloc.TaskStates ?? { agent: null })).toContain('agent');

      const dead = await eventually('the job to be dead', async () => {
        const j = await client.job(id);
        return j?.Status === 'dead' ? j : undefined;
      });
      expect(dead.Type).toBe('batch');
      const summary = await eventually('a complete summary', async () => {
        const s = await client.jobSummary(id);
        return s?.Summary.build?.Complete === 1 ? s : undefined;
      });
      expect(summary.Summary.build).toMatchObject({ Queued: 0, Running: 0, Starting: 0, Failed: 0, Complete: 1 });
      const finished = await eventually('a complete allocation', async () => {
        const a = await client.jobAllocations(id);
        return a[0]?.ClientStatus === 'complete' ? a[0] : undefined;
      });
      expect(finished.ID).toBe(stub.ID);

      const list = await client.jobs();
      const listed = list.find((j) => j.ID === id)!;
      expect(listed).toMatchObject({ ID: id, Name: id, Type: 'batch', Priority: 50, Status: 'dead' });
      expect(listed.JobSummary.Summary.build).toBeDefined();
      const evals = (await raw(base, 'GET', `/v1/job/${id}/evaluations`)).text;
      expect((JSON.parse(evals) as EvaluationJson[]).map((e) => e.ID)).toContain(reg.EvalID);
    });

    it('keeps a job running while its task runs, and stops it on DELETE', async () => {
      const id = jobId('long');
      await client.registerJob(batchJob(id, node.Datacenter, { durationMs: 120_000 }));
      const running = await eventually('a running allocation', async () => {
        const a = await client.jobAllocations(id);
        return a[0]?.ClientStatus === 'running' ? a[0] : undefined;
      });
      expect((await client.job(id))!.Status).toBe('running');
      // `nomad job run` of the unchanged job: a new evaluation that places nothing.
      const again = await client.registerJob(batchJob(id, node.Datacenter, { durationMs: 120_000 }));
      expect(again.EvalID).toMatch(UUID);
      await eventually('the re-registration evaluation to complete', async () => (await client.evaluation(again.EvalID))?.Status === 'complete');
      expect((await client.jobAllocations(id)).map((a) => a.ID)).toEqual([running.ID]);
      const out = await client.stopJob(id);
      expect(out.EvalID).toMatch(UUID);
      const stopped = await eventually('the job to be dead', async () => {
        const j = await client.job(id);
        return j?.Status === 'dead' ? j : undefined;
      });
      expect(stopped.Stop).toBe(true);
      const alloc = await eventually('the allocation to be stopped', async () => {
        const a = await client.allocation(running.ID);
        return a?.DesiredStatus === 'stop' && a.ClientStatus !== 'running' ? a : undefined;
      });
      expect(alloc.ClientStatus).toBe('complete');
      // Stopping it again still answers an evaluation (`nomad job stop` monitors it).
      const twice = await client.stopJob(id);
      expect(twice.EvalID).toMatch(UUID);
      expect(twice.EvalID).not.toBe(out.EvalID);
    });

    it("shows a running job's CPU and memory as used in its node's nomad-metrics --client gauges, tagged drain, status and host", async () => {
      const id = jobId('metrics');
      await client.registerJob(batchJob(id, node.Datacenter, { durationMs: 120_000, cpuMhz: 250, memoryMb: 96 }));
      const running = await eventually('a running allocation', async () => {
        const a = await client.jobAllocations(id);
        return a[0]?.ClientStatus === 'running' ? a[0] : undefined;
      });
      const n = (await client.node(running.NodeID))!;
      const poll = async (): Promise<Map<string, number>> => {
        const lines = await pollClientLines(base, new Set());
        return new Map(lines.map((l) => [l.slice(0, l.indexOf(':')) + l.slice(l.indexOf('|g|') + 3), Number(l.slice(l.indexOf(':') + 1, l.indexOf('|')))]));
      };
      const tags = `#drain:false,host:${n.Name},status:ready`;
      const before = await poll();
      expect(before.get(`circle.nomad.client_agent.poll_failure#host:${n.Name}`)).toBe(0);
      expect(before.get(`circle.nomad.client_agent.resources.total.cpu${tags}`)).toBe(n.Resources.CPU);
      expect(before.get(`circle.nomad.client_agent.resources.total.memory${tags}`)).toBe(n.Resources.MemoryMB);
      expect(before.get(`circle.nomad.client_agent.resources.used.cpu${tags}`)).toBeGreaterThanOrEqual(250);
      expect(before.get(`circle.nomad.client_agent.resources.used.memory${tags}`)).toBeGreaterThanOrEqual(96);
      await client.stopJob(id);
      await eventually('the allocation to be stopped', async () => (await client.allocation(running.ID))?.DesiredStatus === 'stop');
      const after = await poll();
      expect(after.get(`circle.nomad.client_agent.resources.used.cpu${tags}`)).toBe(before.get(`circle.nomad.client_agent.resources.used.cpu${tags}`)! - 250);
      expect(after.get(`circle.nomad.client_agent.resources.available.memory${tags}`)).toBe(before.get(`circle.nomad.client_agent.resources.available.memory${tags}`)! + 96);
    });

    it('leaves a job pending, with a blocked evaluation, while capacity is short; purge removes it', async () => {
      const id = jobId('too-big');
      const reg = await client.registerJob(batchJob(id, node.Datacenter, { durationMs: 1_000, memoryMb: 64 * 1024 * 1024 }));
      const pending = await eventually('the job to be pending', async () => {
        const j = await client.job(id);
        return j?.Status === 'pending' ? j : undefined;
      });
      expect(pending.Stop).toBe(false);
      const ev = await eventually('the evaluation to complete with a blocked follow-up', async () => {
        const e = await client.evaluation(reg.EvalID);
        return e?.Status === 'complete' && e.BlockedEval !== '' ? e : undefined;
      });
      expect(ev.FailedTGAllocs?.build).toBeDefined();
      const blocked = (await client.evaluation(ev.BlockedEval))!;
      expect(blocked).toMatchObject({ JobID: id, Status: 'blocked', TriggeredBy: 'queued-allocs', PreviousEval: reg.EvalID });
      expect((await client.jobSummary(id))!.Summary.build).toMatchObject({ Queued: 1, Running: 0, Starting: 0 });
      expect(await client.jobAllocations(id)).toEqual([]);

      const del = await raw(base, 'DELETE', `/v1/job/${id}?purge=true`);
      expect(del.status).toBe(200);
      await eventually('the purged job to be gone', async () => (await client.job(id)) === undefined);
      expect((await client.jobs()).map((j) => j.ID)).not.toContain(id);
    });
  });

  describe('drain and eligibility', () => {
    const nodeState = async (): Promise<NodeJson> => (await client.node(node.ID))!;

    it('drains a node with a DrainSpec (nothing new is placed on it) and ends the drain with MarkEligible', async () => {
      const r = await raw(base, 'POST', `/v1/node/${node.ID}/drain`, { DrainSpec: { Deadline: 3_600_000_000_000, IgnoreSystemJobs: false }, MarkEligible: false });
      expect(r.status).toBe(200);
      expect((JSON.parse(r.text) as { Index: number }).Index).toBeGreaterThan(0);
      await eventually('the node to be ineligible', async () => (await nodeState()).SchedulingEligibility === 'ineligible');

      const id = jobId('during-drain');
      await client.registerJob(batchJob(id, node.Datacenter, { durationMs: 300 }));
      const evaluated = await eventually('the job to be evaluated', async () => {
        const j: JobJson | undefined = await client.job(id);
        const allocs: AllocListStubJson[] = await client.jobAllocations(id);
        return j !== undefined && (allocs.length > 0 || j.Status === 'pending') ? allocs : undefined;
      });
      for (const a of evaluated) expect(a.NodeID).not.toBe(node.ID);
      await client.stopJob(id, { purge: true });

      const off = await raw(base, 'POST', `/v1/node/${node.ID}/drain`, { DrainSpec: null, MarkEligible: true });
      expect(off.status).toBe(200);
      const back = await eventually('the node to be eligible and not draining', async () => {
        const n = await nodeState();
        return n.SchedulingEligibility === 'eligible' && !n.Drain ? n : undefined;
      });
      expect(back.DrainStrategy ?? null).toBeNull();
    });

    /**
     * What 0.9.3 leaves on a drained node's allocation, read from the allocation and from the node's allocations:
     * the drainer marked it for migration (`DesiredTransition.Migrate`), the node-drain evaluation stopped it
     * ("alloc is being migrated"), and its client reported it complete.
     */
    const migrated = async (allocId: string, nodeId: string, what: string): Promise<void> => {
      const a = await eventually(what, async () => {
        const x = await client.allocation(allocId);
        return x?.DesiredStatus === 'stop' && x.ClientStatus !== 'running' && x.ClientStatus !== 'pending' ? x : undefined;
      });
      expect({ DesiredStatus: a.DesiredStatus, DesiredDescription: a.DesiredDescription, Migrate: a.DesiredTransition?.Migrate, ClientStatus: a.ClientStatus }).toEqual({
        DesiredStatus: 'stop',
        DesiredDescription: 'alloc is being migrated',
        Migrate: true,
        ClientStatus: 'complete',
      });
      const onNode = (await client.nodeAllocations(nodeId)).find((x) => x.ID === allocId);
      expect(onNode?.DesiredTransition?.Migrate, 'the node\'s allocations show it marked for migration').toBe(true);
    };

    /** A job of one long allocation, running; resolves with that allocation. */
    const runningAlloc = async (label: string): Promise<AllocListStubJson> => {
      const id = jobId(label);
      await client.registerJob(batchJob(id, node.Datacenter, { durationMs: 120_000 }));
      return eventually(`a running allocation of ${label}`, async () => {
        const a = await client.jobAllocations(id);
        return a[0]?.ClientStatus === 'running' ? a[0] : undefined;
      });
    };

    it('takes PUT ?enable=true as 0.9.3 does: a force drain that migrates what runs on the node at once (DesiredTransition.Migrate, stopped, complete); ?enable=false makes it eligible', async () => {
      const running = await runningAlloc('force-drained');
      expect(running.DesiredTransition?.Migrate ?? null, 'not marked before the drain').toBeNull();
      const on = await raw(base, 'PUT', `/v1/node/${running.NodeID}/drain?enable=true`);
      expect(on.status).toBe(200);
      await migrated(running.ID, running.NodeID, 'the allocation to be migrated by the force drain');
      await eventually('the drain to complete, the node ineligible', async () => {
        const n = (await client.node(running.NodeID))!;
        return !n.Drain && n.DrainStrategy === null && n.SchedulingEligibility === 'ineligible';
      });
      const off = await raw(base, 'PUT', `/v1/node/${running.NodeID}/drain?enable=false`);
      expect(off.status).toBe(200);
      await eventually('the node to be eligible again', async () => (await client.node(running.NodeID))!.SchedulingEligibility === 'eligible');
      await client.stopJob(running.JobID, { purge: true });
    });

    it('takes PUT with a DrainSpec of a 1 s deadline as 0.9.3 does: the batch allocation runs on until the deadline, then is migrated', async () => {
      const running = await runningAlloc('deadline-drained');
      const on = await raw(base, 'PUT', `/v1/node/${running.NodeID}/drain`, { DrainSpec: { Deadline: 1_000_000_000, IgnoreSystemJobs: false }, MarkEligible: false });
      expect(on.status).toBe(200);
      const early = (await client.allocation(running.ID))!;
      expect([early.DesiredStatus, early.ClientStatus], 'a batch allocation is not migrated before the deadline').toEqual(['run', 'running']);
      await migrated(running.ID, running.NodeID, 'the allocation to be migrated once the deadline passed');
      await eventually('the drain to complete', async () => {
        const n = (await client.node(running.NodeID))!;
        return !n.Drain && n.DrainStrategy === null;
      });
      const off = await raw(base, 'PUT', `/v1/node/${running.NodeID}/drain`, { DrainSpec: null, MarkEligible: true });
      expect(off.status).toBe(200);
      await eventually('the node to be eligible again', async () => (await client.node(running.NodeID))!.SchedulingEligibility === 'eligible');
      await client.stopJob(running.JobID, { purge: true });
    });

    it('drains and undrains through the client, whichever form the server takes', async () => {
      const on = await client.drain(node.ID, true);
      expect(['drain-spec', 'legacy']).toContain(on.form);
      await eventually('the node to stop taking work', async () => {
        const n = await nodeState();
        return n.Drain || n.SchedulingEligibility === 'ineligible';
      });
      await client.drain(node.ID, false);
      await eventually('the node to take work again', async () => {
        const n = await nodeState();
        return !n.Drain && n.SchedulingEligibility === 'eligible';
      });
    });

    it('toggles scheduling eligibility, and refuses an unknown value', async () => {
      const out = await client.eligibility(node.ID, false);
      expect(out.Index).toBeGreaterThan(0);
      await eventually('the node to be ineligible', async () => (await nodeState()).SchedulingEligibility === 'ineligible');
      await client.eligibility(node.ID, true);
      await eventually('the node to be eligible', async () => (await nodeState()).SchedulingEligibility === 'eligible');
      const bad = await raw(base, 'POST', `/v1/node/${node.ID}/eligibility`, { NodeID: node.ID, Eligibility: 'sometimes' });
      expect([bad.status, bad.text.trim()]).toEqual([500, 'invalid scheduling eligibility "sometimes"']);
      // 0.9.3 reads the node from the body's NodeID, not from the path.
      const noId = await raw(base, 'POST', `/v1/node/${node.ID}/eligibility`, { Eligibility: 'ineligible' });
      expect([noId.status, noId.text.trim()]).toEqual([500, 'missing node ID for setting scheduling eligibility']);
      await expect(client.eligibility(MISSING_ID, true)).rejects.toBeInstanceOf(NomadApiError);
    });
  });

  describe('blocking queries', () => {
    it('returns as soon as the index moves past the one asked for', async () => {
      const first = await raw(base, 'GET', '/v1/jobs');
      const index = Number(first.headers.get('X-Nomad-Index'));
      const started = Date.now();
      const waiting = client.blockingJobs(index, 30_000);
      await new Promise((r) => setTimeout(r, 200));
      const id = jobId('wakeup');
      await client.registerJob(batchJob(id, node.Datacenter, { durationMs: 200 }));
      const woke = await waiting;
      expect(woke.index).toBeGreaterThan(index);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(woke.jobs.map((j) => j.ID)).toContain(id);
      await eventually('the wake-up job to be dead', async () => (await client.job(id))?.Status === 'dead');
    });

    it('times out after the wait when nothing changes, with the same index', async () => {
      const first = await raw(base, 'GET', `/v1/node/${node.ID}`);
      const index = Number(first.headers.get('X-Nomad-Index'));
      const started = Date.now();
      const r = await raw(base, 'GET', `/v1/node/${node.ID}?index=${index}&wait=1s`);
      const elapsed = Date.now() - started;
      expect(r.status).toBe(200);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5_000);
      expect(Number(r.headers.get('X-Nomad-Index'))).toBe(index);
    });
  });
}
