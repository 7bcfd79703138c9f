/**
 * A real Nomad for the contract suite and the live stack, best first: an existing one at `NOMAD_ADDR`, or a
 * private agent (server and client, its state in its own data dir) from a `nomad` binary on PATH, on free ports.
 * When neither exists the caller falls back to the twin's Nomad API (`server.ts`) and says why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tree } from '../providers/process-tree.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../providers/ports.ts';
import { startProcess, which, type ManagedProcess } from '../providers/process.ts';
import { ProviderError, type ComponentBuilder, type StartedComponent } from '../providers/types.ts';

/** How long a dev agent may take to elect itself and register its own client. */
export const DEV_AGENT_START_TIMEOUT_MS = 60_000;

/** Where a real Nomad can come from on this machine, or why there is none. */
export type RealNomadSource =
  | { kind: 'address'; address: string }
  | { kind: 'binary'; path: string }
  | { kind: 'none'; reason: string };

/** Looks for a real Nomad: `NOMAD_ADDR` first, then a `nomad` binary on PATH. Never starts anything. */
export function findRealNomad(env: NodeJS.ProcessEnv = process.env): RealNomadSource {
  const addr = env.NOMAD_ADDR;
  if (addr !== undefined && addr.trim() !== '') return { kind: 'address', address: addr.trim().replace(/\/+$/, '') };
  const path = which('nomad');
  if (path !== undefined) return { kind: 'binary', path };
  return { kind: 'none', reason: 'no real Nomad: NOMAD_ADDR is unset and no `nomad` binary is on PATH' };
}

/** A real Nomad the harness did not start (`NOMAD_ADDR`): nothing to stop. */
export function externalNomad(address: string): StartedComponent {
  const u = new URL(address);
  return {
    name: 'nomad_server',
    backend: 'external',
    backendDetail: `external Nomad at ${address} (NOMAD_ADDR)`,
    url: address,
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    pid: undefined,
    dataDir: undefined,
    stop: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
}

/**
 * Builder of a private Nomad agent (server and client in one process) on free ports: `nomad agent -dev`, or with
 * `withPersistentState()` a server-and-client agent whose state lives in its own data dir, as the seeds' servers
 * keep theirs in `/opt/nomad` (a dev agent keeps its raft state in memory: a restart forgets it, so a state wipe
 * could not be told from a restart).
 */
export class RealNomadAgent implements ComponentBuilder<StartedRealNomadAgent> {
  private binary: string | undefined;
  private startTimeoutMs = DEV_AGENT_START_TIMEOUT_MS;
  private persistent = false;

  withBinary(path: string): this {
    this.binary = path;
    return this;
  }

  withStartTimeoutMs(ms: number): this {
    this.startTimeoutMs = ms;
    return this;
  }

  /** Raft and client state in `<dir>/data`: kept across `halt`/`resume`, deleted by `wipe`. */
  withPersistentState(): this {
    this.persistent = true;
    return this;
  }

  async start(): Promise<StartedRealNomadAgent> {
    const binary = this.binary ?? which('nomad');
    if (binary === undefined) {
      throw new ProviderError('BINARY_MISSING', 'nomad: no `nomad` binary on PATH', 'install Nomad, or set NOMAD_ADDR to an existing agent');
    }
    const [http, rpc, serf] = (await freePorts(3)) as [number, number, number];
    const dir = mkdtempSync(join(tmpdir(), 'twin-nomad-'));
    const config = join(dir, 'agent.hcl');
    writeFileSync(config, agentConfig({ http, rpc, serf }, this.persistent ? join(dir, 'data') : undefined));
    const args = this.persistent ? ['agent', `-config=${config}`] : ['agent', '-dev', '-bind=127.0.0.1', `-config=${config}`];
    const agent = new StartedRealNomadAgent({ binary, args, dir, dataDir: this.persistent ? join(dir, 'data') : undefined, http, startTimeoutMs: this.startTimeoutMs });
    try {
      await agent.resume();
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return agent;
  }
}

/**
 * The agent's HCL: its ports, and with a data dir what `-dev` would otherwise set (loopback, a one-server
 * cluster that elects itself, a client with `raw_exec`).
 */
function agentConfig(ports: { http: number; rpc: number; serf: number }, dataDir: string | undefined): string {
  const p = `ports {\n  http = ${ports.http}\n  rpc  = ${ports.rpc}\n  serf = ${ports.serf}\n}\n`;
  if (dataDir === undefined) return p;
  return `data_dir  = ${JSON.stringify(dataDir)}
bind_addr = "127.0.0.1"
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
${p}server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
  options {
    "driver.raw_exec.enable" = "1"
  }
}
`;
}

/** Polls until the agent has a leader and its own client node is ready. */
async function waitForDevAgent(url: string, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (proc.child.exitCode !== null) {
      throw new ProviderError('START_FAILED', `nomad agent -dev exited with code ${proc.child.exitCode}:\n${proc.tail()}`);
    }
    try {
      const leader = (await (await fetch(`${url}/v1/status/leader`, { signal: AbortSignal.timeout(2_000) })).json()) as string;
      if (leader !== '') {
        const nodes = (await (await fetch(`${url}/v1/nodes`, { signal: AbortSignal.timeout(2_000) })).json()) as { Status: string }[];
        if (nodes.some((n) => n.Status === 'ready')) return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new ProviderError('START_TIMEOUT', `nomad agent -dev at ${url} had no leader and ready node within ${timeoutMs} ms:\n${proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** Math.min(attempt, 4), 1_000)));
  }
}

/** How long the agent's tasks may take to stop when their jobs are stopped (before a wipe, or at the end). */
const TASKS_STOP_TIMEOUT_MS = 30_000;

interface AgentLaunch {
  binary: string;
  args: readonly string[];
  /** The agent's own temp dir (its config; its data dir under it when persistent). */
  dir: string;
  dataDir: string | undefined;
  http: number;
  startTimeoutMs: number;
}

export class StartedRealNomadAgent implements StartedComponent {
  readonly name = 'nomad_server';
  readonly backend = 'local' as const;
  readonly host = '127.0.0.1';
  readonly url: string;
  readonly port: number;
  private proc: ManagedProcess | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly launch: AgentLaunch) {
    this.port = launch.http;
    this.url = `http://127.0.0.1:${launch.http}`;
  }

  /** Where the agent keeps its state: the persistent data dir, else (dev) its temp dir. */
  get dataDir(): string {
    return this.launch.dataDir ?? this.launch.dir;
  }

  /** Whether its state outlives a restart (`withPersistentState`). */
  get persistent(): boolean {
    return this.launch.dataDir !== undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get backendDetail(): string {
    const how = this.persistent ? `nomad agent (server and client, data dir ${this.dataDir})` : 'nomad agent -dev';
    return `${how} (pid ${this.proc?.pid ?? 'none'}) on ${this.url}`;
  }

  /** Starts the agent (again) on its ports and data dir; resolves once it has a leader and a ready node. */
  async resume(): Promise<void> {
    if (this.proc !== undefined && this.proc.child.exitCode === null && this.proc.child.signalCode === null) return;
    const { binary, args, dir, startTimeoutMs } = this.launch;
    const label = this.persistent ? 'nomad agent' : 'nomad agent -dev';
    const proc = startProcess(binary, args, { label, cwd: dir });
    this.proc = proc;
    try {
      await waitForDevAgent(this.url, proc, startTimeoutMs);
    } catch (err) {
      await proc.stop(2_000);
      throw err;
    }
  }

  /** SIGTERM to the agent (its API refuses connections); a persistent agent's tasks keep running, as a real client's do. */
  async halt(): Promise<void> {
    await this.proc?.stop(10_000);
  }

  /** halt, then resume: a persistent agent comes back with its jobs and reattaches to its tasks. */
  async restart(): Promise<void> {
    await this.halt();
    await this.resume();
  }

  /**
   * The seeds' `rm -rf /opt/nomad` and restart, on the real agent: its jobs are stopped first (the clients stop
   * allocations the wiped server no longer has; here the client shares the data dir, so it would lose track of
   * them), the agent stops, its data dir is deleted and it starts anew: no jobs, a new node, the index from 1.
   */
  async wipe(): Promise<string> {
    if (!this.persistent) throw new Error('nomad_server: a `nomad agent -dev` keeps its state in memory; start it with withPersistentState() to wipe a data dir');
    const t0 = Date.now();
    // A halted agent has no API to stop jobs through: its tasks are left as a real wipe of a stopped server leaves them.
    const { jobs, allocs } = await this.stopAllJobs().catch(() => ({ jobs: 0, allocs: 0 }));
    await this.halt();
    removeAgentDir(this.dataDir);
    await this.resume();
    return `Nomad agent state wiped: ${jobs} jobs and ${allocs} allocations forgotten (their tasks stopped), ${this.dataDir} deleted, agent started again in ${Date.now() - t0} ms (pid ${this.pid})`;
  }

  /** Stops every job and waits (bounded) until no allocation is running; says how many there were. */
  private async stopAllJobs(): Promise<{ jobs: number; allocs: number }> {
    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(5_000) })).json()) as T;
    const jobs = await get<{ ID: string }[]>('/v1/jobs');
    const allocs = await get<{ ClientStatus: string }[]>('/v1/allocations');
    for (const j of jobs) await fetch(`${this.url}/v1/job/${encodeURIComponent(j.ID)}`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) });
    const deadline = Date.now() + TASKS_STOP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const live = (await get<{ ClientStatus: string }[]>('/v1/allocations')).filter((a) => a.ClientStatus === 'running' || a.ClientStatus === 'pending');
      if (live.length === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // The client's GC destroys the stopped allocations' dirs, unmounting their secrets tmpfs (mounted when root).
    await fetch(`${this.url}/v1/client/gc`, { method: 'PUT', signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    return { jobs: jobs.length, allocs: allocs.length };
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // A persistent agent leaves its tasks running when it stops: stop them first, so nothing outlives the stack.
      if (this.persistent && this.proc?.child.exitCode === null) await this.stopAllJobs().catch(() => undefined);
      await this.halt();
      killLeftovers(this.launch.dir);
      removeAgentDir(this.launch.dir);
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/**
 * Deletes an agent's dir. A client running as root mounts a tmpfs on each task's `secrets` dir; one its GC did not
 * unmount (a task it lost track of) makes the delete fail with EBUSY: those mounts are unmounted, then it is retried.
 */
function removeAgentDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', [m], { stdio: 'ignore', timeout: 5_000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts whichever real Nomad `findRealNomad` found; undefined (with the reason) when there is none. */
export async function startRealNomad(source: RealNomadSource = findRealNomad()): Promise<StartedComponent | undefined> {
  if (source.kind === 'address') return externalNomad(source.address);
  // Its state in a data dir, as a real server's: `wipe_state` then has something to delete.
  if (source.kind === 'binary') return new RealNomadAgent().withBinary(source.path).withPersistentState().start();
  return undefined;
}

/**
 * What the agent started and that outlived it: its task executors (`nomad executor`, whose arguments name their
 * alloc dir under `dir`) and their tasks. A real agent killed mid-run leaves them running, as Nomad means it to (a
 * restarted agent reattaches to them); one that does not reattach leaves them for ever (seen: two build agents
 * after a replay whose Nomad server was killed and started again). The stack owns `dir`, so all of them go.
 */
export function killLeftovers(dir: string): number {
  const roots: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) roots.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const all = new Set(roots.flatMap((pid) => tree(pid)));
  all.delete(process.pid);
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return all.size;
}
