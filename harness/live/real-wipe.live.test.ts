/**
 * `wipe_state` of nomad_server on `twin up --nomad real`: the fault adapter stops the real agent, deletes its data
 * dir and starts it again, and the stack's jobs are gone as after the seeds' `rm -rf /opt/nomad`; a kill and start
 * without the wipe keeps them (the agent's state is on disk, not in memory as a `-dev` agent's). Skipped, with one
 * line, without a `nomad` binary on PATH.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStack } from './stack.ts';
import { liveBackends } from './backends.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { which } from '../providers/process.ts';
import { NomadClient } from '../nomad/client.ts';
import { StartedRealNomadAgent } from '../nomad/real-nomad.ts';

const binary = which('nomad');
/** A task whose process is easy to find: `sleep` with an argument nothing else uses. */
const SLEEP_S = '4242';

function sleeping(): boolean {
  try {
    return execFileSync('pgrep', ['-f', `sleep ${SLEEP_S}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(binary === undefined)(`wipe_state of a real nomad_server (${binary ?? 'skipped: no `nomad` binary on PATH'})`, () => {
  const profile = loadProfile('2.19.6');
  const { backends, externals, migrate } = liveBackends(profile, { nomad: 'real' });
  const stack = new LiveStack({ profile, portOffset: 13_000, backends, externals, migrate });
  let agent: StartedRealNomadAgent;
  let client: NomadClient;

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
    agent = stack.components.get('nomad_server') as StartedRealNomadAgent;
    client = new NomadClient({ address: agent.url });
  });
  afterAll(async () => {
    await stack.down();
  });

  it('keeps the jobs over a kill and start, and forgets them, its node and its tasks when its data dir is wiped', async () => {
    expect(agent).toBeInstanceOf(StartedRealNomadAgent);
    expect(agent.persistent).toBe(true);
    const datacenter = ((await (await fetch(`${agent.url}/v1/agent/self`)).json()) as { config: { Datacenter: string } }).config.Datacenter;
    await client.registerJob({
      ID: 'wipe-me',
      Name: 'wipe-me',
      Type: 'batch',
      Datacenters: [datacenter],
      TaskGroups: [{ Name: 'build', Count: 1, Tasks: [{ Name: 'agent', Driver: 'raw_exec', Config: { command: '/bin/sleep', args: [SLEEP_S] }, Resources: { CPU: 100, MemoryMB: 64 } }] }],
    });
    await until('the task to run', async () => ((await client.jobAllocations('wipe-me'))[0]?.ClientStatus === 'running' ? true : undefined));
    expect(sleeping()).toBe(true);
    const nodeBefore = (await client.nodes())[0]!.ID;

    await stack.kill('nomad_server');
    await expect(fetch(`${agent.url}/v1/jobs`)).rejects.toThrow();
    await stack.start('nomad_server');
    expect((await client.job('wipe-me'))?.Status).toBe('running');
    expect((await client.nodes())[0]!.ID).toBe(nodeBefore);

    const said = await stack.wipeState('nomad_server');
    expect(said).toMatch(/^Nomad agent state wiped: 1 jobs and 1 allocations forgotten \(their tasks stopped\), \/.+\/data deleted, agent started again in \d+ ms/);
    expect(await client.job('wipe-me')).toBeUndefined();
    expect(await client.jobs()).toEqual([]);
    const nodesAfter = await client.nodes();
    expect(nodesAfter.map((n) => n.ID)).not.toContain(nodeBefore);
    expect(nodesAfter.filter((n) => n.Status === 'ready')).toHaveLength(1);
    expect(sleeping()).toBe(false);
    expect(existsSync(agent.dataDir)).toBe(true);
  });
});
