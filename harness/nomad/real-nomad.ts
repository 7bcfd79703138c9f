/**
 * A real Nomad for the contract suite and the live stack, best first: an existing one at `NOMAD_ADDR`, or a
 * private `nomad agent -dev` from a `nomad` binary on PATH, on free ports with its own temp dir.
 * When neither exists the caller falls back to the twin's Nomad API (`server.ts`) and says why.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** Builder of a private `nomad agent -dev` (server and client in one process) on free ports. */
export class RealNomadAgent implements ComponentBuilder<StartedRealNomadAgent> {
  private binary: string | undefined;
  private startTimeoutMs = DEV_AGENT_START_TIMEOUT_MS;

  withBinary(path: string): this {
    this.binary = path;
    return this;
  }

  withStartTimeoutMs(ms: number): this {
    this.startTimeoutMs = ms;
    return this;
  }

  async start(): Promise<StartedRealNomadAgent> {
    const binary = this.binary ?? which('nomad');
    if (binary === undefined) {
      throw new ProviderError('BINARY_MISSING', 'nomad: no `nomad` binary on PATH', 'install Nomad, or set NOMAD_ADDR to an existing agent');
    }
    const [http, rpc, serf] = (await freePorts(3)) as [number, number, number];
    const dir = mkdtempSync(join(tmpdir(), 'twin-nomad-'));
    const config = join(dir, 'ports.hcl');
    writeFileSync(config, `ports {\n  http = ${http}\n  rpc  = ${rpc}\n  serf = ${serf}\n}\n`);
    const proc = startProcess(binary, ['agent', '-dev', '-bind=127.0.0.1', `-config=${config}`], { label: 'nomad agent -dev', cwd: dir });
    const url = `http://127.0.0.1:${http}`;
    try {
      await waitForDevAgent(url, proc, this.startTimeoutMs);
    } catch (err) {
      await proc.stop(2_000);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return new StartedRealNomadAgent(proc, url, http, dir);
  }
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

export class StartedRealNomadAgent implements StartedComponent {
  readonly name = 'nomad_server';
  readonly backend = 'local' as const;
  readonly host = '127.0.0.1';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly proc: ManagedProcess,
    readonly url: string,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  get backendDetail(): string {
    return `nomad agent -dev (pid ${this.proc.pid}) on ${this.url}`;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.proc.stop(10_000);
      rmSync(this.dataDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Starts whichever real Nomad `findRealNomad` found; undefined (with the reason) when there is none. */
export async function startRealNomad(source: RealNomadSource = findRealNomad()): Promise<StartedComponent | undefined> {
  if (source.kind === 'address') return externalNomad(source.address);
  if (source.kind === 'binary') return new RealNomadAgent().withBinary(source.path).start();
  return undefined;
}
