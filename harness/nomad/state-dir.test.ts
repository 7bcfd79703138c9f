import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulation } from '../../sim/engine/simulation.ts';
import { NomadApiState } from './api-state.ts';
import { NOMAD_STATE_FILE, NomadStateDir } from './state-dir.ts';
import { SimulatedTaskRunner } from './task-runner.ts';

/** Two clients of 4 vCPU, 2 of them reserved: room for two jobs of 5000 MHz (2 vCPU). */
function server() {
  const sim = new Simulation();
  const state = new NomadApiState({
    seed: 1,
    clients: [
      { name: 'ip-10-0-0-1', cpus: 4, memoryGb: 8 },
      { name: 'ip-10-0-0-2', cpus: 4, memoryGb: 8 },
    ],
    clock: sim,
    runner: new SimulatedTaskRunner({ startDelayMs: 100, defaultDurationMs: 1_000 }),
    version: '0.9.3',
    reservedCpuMilli: 2000,
    reservedMemoryMb: 4096,
  });
  return { sim, state };
}

const job = (id: string, durationMs = 1_000) => ({
  Job: {
    ID: id,
    Type: 'batch',
    Datacenters: ['us-east-1'],
    Meta: { duration_ms: String(durationMs) },
    TaskGroups: [{ Name: 'build', Count: 1, Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: 5000, MemoryMB: 1024 } }] }],
  },
});

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'nomad-state-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('NomadStateDir (/opt/nomad)', () => {
  it('writes the live jobs on every change, placed or waiting, and nothing of finished ones', () => {
    const { sim, state } = server();
    const dir = tempDir();
    new NomadStateDir(dir, state);
    state.registerJob(job('a'));
    state.registerJob(job('b', 60_000));
    state.registerJob(job('c'));
    const read = () => JSON.parse(readFileSync(join(dir, NOMAD_STATE_FILE), 'utf8')) as { jobs: { job: { ID: string }; placed: boolean }[] };
    expect(read().jobs.map((j) => [j.job.ID, j.placed])).toEqual([['a', true], ['b', true], ['c', false]]);
    sim.run({ untilMs: 2_000 });
    // a finished and c took its place; b still runs.
    expect(read().jobs.map((j) => [j.job.ID, j.placed])).toEqual([['b', true], ['c', true]]);
  });

  it('a server started on a restored copy keeps the copy\'s allocations stale: nothing runs them, they hold capacity, new jobs wait behind them until the state is wiped', () => {
    const { sim, state } = server();
    const dir = tempDir();
    const persist = new NomadStateDir(dir, state);
    state.registerJob(job('a', 60_000));
    state.registerJob(job('b', 60_000));
    const copy = tempDir();
    cpSync(dir, copy, { recursive: true });
    // The disaster: the server dies, its memory and its dir are gone; the dir comes back from the copy.
    persist.halt();
    state.wipe();
    rmSync(dir, { recursive: true, force: true });
    cpSync(copy, dir, { recursive: true });
    expect(persist.resume()).toEqual({ kind: 'restored', jobs: 2, staleAllocs: 2 });
    expect(state.runningTasks).toBe(0);
    expect(state.staleCpuMilli()).toBe(4000);
    state.registerJob(job('new'));
    expect(state.job('new').body!.Status).toBe('pending');
    expect(state.blockedBehindStale).toBe(1);
    // Nothing ever finishes them: an hour later they still hold the fleet.
    sim.run({ untilMs: 3_600_000 });
    expect(state.staleAllocations()).toHaveLength(2);
    expect(state.job('new').body!.Status).toBe('pending');
    // `sudo rm -rf /opt/nomad` with the app stopped, then start: the server starts empty.
    persist.halt();
    rmSync(dir, { recursive: true, force: true });
    expect(persist.resume()).toEqual({ kind: 'empty', forgotten: 3 });
    expect(state.staleAllocations()).toHaveLength(0);
    expect(existsSync(join(dir, NOMAD_STATE_FILE))).toBe(true);
    state.registerJob(job('after'));
    expect(state.job('after').body!.Status).toBe('running');
  });

  it('a plain stop and start keeps the memory (and what clients reported meanwhile); a dir removed under a running server is written back', () => {
    const { sim, state } = server();
    const dir = tempDir();
    const persist = new NomadStateDir(dir, state);
    state.registerJob(job('a', 500));
    state.registerJob(job('b', 60_000));
    persist.halt();
    sim.run({ untilMs: 1_000 });
    expect(persist.resume()).toEqual({ kind: 'kept' });
    expect(state.runningTasks).toBe(1);
    expect(state.staleAllocations()).toHaveLength(0);
    rmSync(dir, { recursive: true, force: true });
    persist.save();
    expect((JSON.parse(readFileSync(join(dir, NOMAD_STATE_FILE), 'utf8')) as { jobs: unknown[] }).jobs).toHaveLength(1);
  });

  it('refuses a state file it cannot read, naming it', () => {
    const { state } = server();
    const dir = tempDir();
    const persist = new NomadStateDir(dir, state);
    persist.halt();
    rmSync(join(dir, NOMAD_STATE_FILE));
    cpSync(new URL(import.meta.url).pathname, join(dir, NOMAD_STATE_FILE));
    expect(() => persist.resume()).toThrow(/state\.json is not JSON .*remove \/opt\/nomad/);
  });
});
