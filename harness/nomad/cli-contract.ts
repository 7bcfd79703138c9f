/**
 * The `nomad` CLI contract: the commands the seeds use or an operator would, run by a real `nomad` binary
 * against a server (`nomadCliContract(() => url, binary)` inside a `describe`), checked for a clean exit, no
 * Go panic, and the lines an operator reads. It runs against the twin and a real agent alike, so the twin's
 * shapes are held to what the real CLI needs.
 *
 * Like `contract.ts` it assumes only what a fresh `nomad agent -dev` offers: a ready client able to run a
 * `raw_exec` task. The job's task prints a line to stdout and one to stderr; on the twin the default task
 * runner writes the same lines from `Meta.stdout` / `Meta.stderr`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NomadClient } from './client.ts';
import type { NodeListStubJson } from './shapes.ts';

/** Bound on one CLI command (a monitor that never ends fails the case instead of hanging the suite). */
const CLI_TIMEOUT_MS = 30_000;
/** Bound on waiting for the job's allocation to run. */
const EVENTUALLY_MS = 30_000;
const STDOUT_LINE = 'step 1: checkout code';
const STDERR_LINE = 'warning: shallow clone';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `nomad <args>` against `address`; never throws for a non-zero exit (the result says it). */
export function runNomadCli(binary: string, address: string, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      binary,
      [...args],
      { env: { ...process.env, NOMAD_ADDR: address }, timeout: CLI_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A job both backends run: raw_exec `sh -c` printing the two lines on a real agent; Meta on the twin. */
function cliJob(id: string, datacenter: string) {
  return {
    ID: id,
    Name: id,
    Type: 'batch',
    Datacenters: [datacenter],
    Meta: { duration_ms: '300000', stdout: `${STDOUT_LINE}\n`, stderr: `${STDERR_LINE}\n` },
    TaskGroups: [
      {
        Name: 'build',
        Count: 1,
        Tasks: [
          {
            Name: 'build-agent',
            Driver: 'raw_exec',
            Config: { command: '/bin/sh', args: ['-c', `echo '${STDOUT_LINE}'; echo '${STDERR_LINE}' >&2; sleep 300`] },
            Resources: { CPU: 100, MemoryMB: 64 },
          },
        ],
      },
    ],
  };
}

/** The same kind of job as an HCL file, for `nomad job run`. */
function cliJobHcl(id: string, datacenter: string): string {
  return `job "${id}" {
  datacenters = ["${datacenter}"]
  type = "batch"
  meta { duration_ms = "300000" }
  group "build" {
    task "build-agent" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;
}

/** Registers the CLI suite inside the caller's `describe`; `getUrl` is read once the server is up. */
export function nomadCliContract(getUrl: () => string, binary: string): void {
  let base: string;
  let client: NomadClient;
  let node: NodeListStubJson;
  let allocId: string;
  let evalId: string;
  let dir: string;
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const jobA = `cli-${runId}-a`;
  const jobB = `cli-${runId}-b`;
  const jobRun = `cli-${runId}-run`;
  const nomad = (...args: string[]): Promise<CliResult> => runNomadCli(binary, base, args);
  /** A command that must succeed: exit 0, no Go panic; returns its stdout. */
  const ok = async (...args: string[]): Promise<string> => {
    const r = await nomad(...args);
    expect(r.stderr, `nomad ${args.join(' ')}`).not.toMatch(/panic:|goroutine \d+ \[/);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: expect.any(String) });
    return r.stdout;
  };

  beforeAll(async () => {
    base = getUrl();
    client = new NomadClient({ address: base });
    dir = mkdtempSync(join(tmpdir(), 'nomad-cli-'));
    const nodes = await client.nodes();
    node = nodes.find((n) => n.Status === 'ready' && n.SchedulingEligibility === 'eligible')!;
    const reg = await client.registerJob(cliJob(jobA, node.Datacenter));
    evalId = reg.EvalID;
    await client.registerJob(cliJob(jobB, node.Datacenter));
    const deadline = Date.now() + EVENTUALLY_MS;
    for (;;) {
      const a = (await client.jobAllocations(jobA))[0];
      // Running, and its output written (a real task prints right after it starts).
      if (a?.ClientStatus === 'running') {
        allocId = a.ID;
        const r = await runNomadCli(binary, base, ['alloc', 'logs', a.ID]);
        if (r.stdout.includes(STDOUT_LINE)) break;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${EVENTUALLY_MS} ms waiting for ${jobA} to run and print`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, EVENTUALLY_MS + 10_000);

  afterAll(async () => {
    if (client === undefined) return;
    await client.drain(node.ID, false).catch(() => undefined);
    await client.eligibility(node.ID, true).catch(() => undefined);
    for (const id of [jobA, jobB, jobRun]) await client.stopJob(id, { purge: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('nomad status lists the jobs; status <job> and job status <job> describe one', async () => {
    expect(await ok('status')).toMatch(new RegExp(`^${jobA}\\s+batch\\s+50\\s+running`, 'm'));
    for (const cmd of [['status', jobA], ['job', 'status', jobA]]) {
      const out = await ok(...cmd);
      expect(out).toMatch(new RegExp(`^ID\\s+= ${jobA}$`, 'm'));
      expect(out).toMatch(/^Status\s+= running$/m);
      expect(out).toMatch(/^Allocations$/m);
      expect(out).toContain(allocId.slice(0, 8));
    }
  });

  it('an id prefix that matches two jobs is refused with both named, as the CLI does', async () => {
    const r = await nomad('status', `cli-${runId}-`);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain(jobA);
    expect(r.stdout + r.stderr).toContain(jobB);
  });

  it('nomad node-status: the list, -allocs, -verbose, and one node by id prefix', async () => {
    expect(await ok('node-status')).toMatch(/^ID\s+DC\s+Name\s+Class\s+Drain\s+Eligibility\s+Status$/m);
    expect(await ok('node-status', '-allocs')).toMatch(/Running Allocs$/m);
    expect(await ok('node-status', '-verbose')).toContain(node.ID);
    const one = await ok('node-status', node.ID.slice(0, 8));
    expect(one).toMatch(new RegExp(`^Name\\s+= ${node.Name}$`, 'm'));
    expect(one).toMatch(/^Allocated Resources$/m);
    const verbose = await ok('node-status', '-verbose', node.ID);
    expect(verbose).toMatch(/^Attributes$/m);
    expect(verbose).toMatch(/^Drivers$/m);
  });

  it('nomad alloc status, with -verbose (placement metrics)', async () => {
    const out = await ok('alloc', 'status', allocId.slice(0, 8));
    expect(out).toMatch(/^Client Status\s+= running$/m);
    expect(out).toMatch(/^Task "build-agent" is "running"$/m);
    const verbose = await ok('alloc', 'status', '-verbose', allocId);
    expect(verbose).toMatch(/^Evaluated Nodes\s+= \d+$/m);
    expect(verbose).toMatch(new RegExp(`^ID\\s+= ${allocId}$`, 'm'));
  });

  it('nomad alloc logs and nomad logs -stderr show the task output', async () => {
    expect(await ok('alloc', 'logs', allocId)).toContain(STDOUT_LINE);
    expect(await ok('logs', '-stderr', allocId)).toContain(STDERR_LINE);
    expect(await ok('alloc', 'logs', '-job', jobA)).toContain(STDOUT_LINE);
  });

  it('nomad eval status', async () => {
    const out = await ok('eval', 'status', evalId.slice(0, 8));
    expect(out).toMatch(/^Status\s+= complete$/m);
    expect(out).toMatch(new RegExp(`^Job ID\\s+= ${jobA}$`, 'm'));
    const bad = await nomad('eval', 'status', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr + bad.stdout).toContain("eval lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+006E 'n'");
  });

  it('nomad job run monitors the evaluation to complete; nomad job stop stops the job', async () => {
    const file = join(dir, `${jobRun}.nomad`);
    writeFileSync(file, cliJobHcl(jobRun, node.Datacenter));
    const run = await ok('job', 'run', file);
    expect(run).toMatch(/Evaluation "[0-9a-f]{8}" finished with status "complete"/);
    expect(run).toMatch(/Allocation "[0-9a-f]{8}" created/);
    const again = await ok('job', 'run', file);
    expect(again).toMatch(/finished with status "complete"/);
    expect(again).not.toMatch(/Allocation "[0-9a-f]{8}" created/);
    const stop = await ok('job', 'stop', jobRun);
    expect(stop).toMatch(/Evaluation "[0-9a-f]{8}" finished with status "complete"/);
    expect(await ok('job', 'status', jobRun)).toMatch(/^Status\s+= dead \(stopped\)$/m);
  });

  it('nomad server members, operator raft list-peers and agent-info describe the server', async () => {
    expect(await ok('server', 'members')).toMatch(/\balive\s+true\b/);
    expect(await ok('operator', 'raft', 'list-peers')).toMatch(/\bleader\s+true\b/);
    const info = await ok('agent-info');
    for (const section of ['nomad', 'raft', 'runtime', 'serf']) expect(info).toMatch(new RegExp(`^${section}$`, 'm'));
    expect(info).toMatch(/^\s+commit_index = \d+$/m);
  });

  it('nomad node eligibility -disable / -enable', async () => {
    expect(await ok('node', 'eligibility', '-disable', node.ID)).toContain('ineligible for scheduling');
    expect(await ok('node', 'eligibility', '-enable', node.ID)).toContain('eligible for scheduling');
  });

  it('nomad node-drain -enable -force stops the allocation and the monitor sees the drain complete; -disable ends it', async () => {
    const target = (await client.allocation(allocId))!.NodeID;
    const on = await ok('node-drain', '-enable', '-force', '-yes', target);
    expect(on).toContain(`Node "${target}" drain strategy set`);
    expect(on).toContain(`Drain complete for node ${target}`);
    const a = (await client.allocation(allocId))!;
    expect(a.DesiredStatus).toBe('stop');
    expect(await ok('node-drain', '-disable', '-yes', target)).toContain(`Node "${target}" drain strategy unset`);
    await client.eligibility(target, true).catch(() => undefined);
  });
}

/** One side's `nomad node-drain` monitor, its lines with timestamps cut and ids masked (`<node>`, `<alloc-1>`, ...). */
export interface DrainMonitorRun {
  lines: string[];
  code: number;
  stderr: string;
}

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: /;

/** Masks a monitor's ids: the node as `<node>`, allocations `<alloc-N>` by first appearance. */
export function maskDrainMonitor(stdout: string, nodeId: string): string[] {
  const allocs = new Map<string, string>();
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) =>
      l
        .replace(TIMESTAMP, '')
        .replaceAll(nodeId, '<node>')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
          if (!allocs.has(id)) allocs.set(id, `<alloc-${allocs.size + 1}>`);
          return allocs.get(id)!;
        }),
    );
}

/**
 * Runs the same drain on a server with one ready node: `count` raw_exec allocations that run until stopped,
 * then `nomad <drainArgs...> <node>` with its monitor; the lines are masked (`maskDrainMonitor`). The node is
 * made eligible and the job purged afterwards.
 */
export async function runDrainMonitor(binary: string, url: string, drainArgs: readonly string[], count = 2): Promise<DrainMonitorRun> {
  const client = new NomadClient({ address: url });
  const node = (await client.nodes()).find((n) => n.Status === 'ready' && n.SchedulingEligibility === 'eligible');
  if (node === undefined) throw new Error(`no ready, eligible node at ${url}`);
  const id = `drain-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const job = cliJob(id, node.Datacenter);
  job.TaskGroups[0]!.Count = count;
  await client.registerJob(job);
  try {
    const deadline = Date.now() + EVENTUALLY_MS;
    for (;;) {
      const allocs = await client.jobAllocations(id);
      if (allocs.length === count && allocs.every((a) => a.ClientStatus === 'running' && a.NodeID === node.ID)) break;
      if (Date.now() > deadline) throw new Error(`timed out after ${EVENTUALLY_MS} ms waiting for ${count} allocations of ${id} to run on ${node.ID}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await runNomadCli(binary, url, [...drainArgs, node.ID]);
    return { lines: maskDrainMonitor(r.stdout, node.ID), code: r.code, stderr: r.stderr };
  } finally {
    await client.drain(node.ID, false).catch(() => undefined);
    await client.eligibility(node.ID, true).catch(() => undefined);
    await client.stopJob(id, { purge: true }).catch(() => undefined);
  }
}

/**
 * What any run of the monitor must show whatever the interleaving of its node and allocation watchers: per
 * allocation "marked for migration", "draining", "status running -> complete" in that order. Returns the
 * problems (empty when none).
 */
export function drainMonitorOrderProblems(lines: readonly string[]): string[] {
  const problems: string[] = [];
  const per = new Map<string, string[]>();
  for (const l of lines) {
    const m = /^Alloc "(<alloc-\d+>)" (.+)$/.exec(l);
    if (m === null) continue;
    let list = per.get(m[1]!);
    if (list === undefined) per.set(m[1]!, (list = []));
    list.push(m[2]!);
  }
  for (const [alloc, seen] of per) {
    const want = ['marked for migration', 'draining', 'status running -> complete'];
    if (seen.join('|') !== want.join('|')) problems.push(`${alloc}: ${seen.join(', ')} (want ${want.join(', ')})`);
  }
  return problems;
}
