import { existsSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { NomadApi, type StartedNomadApiServer } from '../nomad/server.ts';
import { nomadStatusText } from '../../sim/training/nomad-text.ts';
import { judgeStaleAllocations, liveBlockers, unfixableLive } from '../../sim/training/live-support.ts';
import { drillFile, loadDrill } from './drills.ts';
import { restoreStaleNomadState, staleNomadState } from './restored-nomad.ts';
import { staleJobIds } from '../../sim/training/session.ts';

/** The drill's installation: 4 clients of 8 CPUs, builds of the default class (2 CPU, 4 GB). */
const SIZE = { cpuMilli: 2000, memoryMb: 4096 };
let nomad: StartedNomadApiServer | undefined;
let dir: string | undefined;
afterAll(async () => {
  await nomad?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('a restored /opt/nomad on the twin\'s Nomad server (nomad-state-stale-after-restore live)', () => {
  it('the snapshot\'s state holds the simulation\'s stale job ids, placed, of the default class', () => {
    const s = staleNomadState(3, SIZE);
    expect(s.jobs.map((j) => j.job.ID)).toEqual(staleJobIds(3));
    expect(s.jobs.every((j) => j.placed)).toBe(true);
  });

  it('the server started on it holds 11 allocations no client runs; `nomad status` lists their jobs running; a restart keeps them, an emptied dir clears them', async () => {
    nomad = await new NomadApi().withPort(0).withClients(Array.from({ length: 4 }, (_, i) => ({ name: `ip-10-0-0-${i + 1}`, cpus: 8, memoryGb: 32 }))).start();
    const r = await restoreStaleNomadState(nomad, { atMs: 0, kind: 'restored_nomad_state', staleAllocations: 11 }, SIZE);
    dir = r.dir;
    expect(r.start).toEqual({ kind: 'restored', jobs: 11, staleAllocs: 11 });
    expect(nomad.state.staleAllocations()).toHaveLength(11);
    expect(nomad.state.runningTasks).toBe(0);
    const listing = nomadStatusText(nomad.scheduler, undefined).output.split('\n');
    expect(listing.filter((l) => staleJobIds(11).some((id) => l.startsWith(id)) && /\brunning\b/.test(l))).toHaveLength(11);
    expect(judgeStaleAllocations(nomad.state.staleAllocations().length)).toMatchObject({ passed: false, observed: '11 allocations of the restored /opt/nomad the Nomad server still holds' });
    // `sudo docker restart nomad` alone: the server starts on the same dir, which it wrote: the state is kept.
    await nomad.halt();
    await nomad.resume();
    expect(nomad.lastStart).toEqual({ kind: 'kept' });
    expect(nomad.state.staleAllocations()).toHaveLength(11);
    // The seeds' fix: the app stopped, `rm -rf /opt/nomad`, started: the server starts empty.
    await nomad.halt();
    rmSync(r.dir, { recursive: true, force: true });
    await nomad.resume();
    expect(existsSync(r.dir)).toBe(true);
    expect(nomad.lastStart).toEqual({ kind: 'empty', forgotten: 11 });
    expect(judgeStaleAllocations(nomad.state.staleAllocations().length)).toMatchObject({ passed: true });
  });

  it('the drill runs live (its hidden change carried out, its fix typed at the live console); a drill none of whose fixes the live console takes is refused for that', () => {
    expect(liveBlockers(loadDrill(drillFile('nomad-state-stale-after-restore')).drill)).toEqual([]);
    expect(unfixableLive([['nomad logs -stderr 5f1c'], ['sudo docker restart nomad', 'nomad logs -stderr 5f1c']])).toBe('each of its fixes needs a command the live console does not carry out yet (`nomad logs -stderr 5f1c`)');
    expect(unfixableLive([['nomad logs -stderr 5f1c'], ['sudo docker restart nomad']])).toBeUndefined();
    expect(judgeStaleAllocations(undefined).passed).toBe(false);
  });
});
