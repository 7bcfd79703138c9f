import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HiddenChange } from '../../sim/training/drill.ts';
import { staleJobIds } from '../../sim/training/session.ts';
import { CPU_MHZ_PER_CORE } from '../../sim/models/nomad/cluster-state.ts';
import type { PersistedNomadState } from '../nomad/api-state.ts';
import { parseJobRegistration } from '../nomad/job-spec.ts';
import type { StartedNomadApiServer } from '../nomad/server.ts';
import { NOMAD_STATE_FILE, type NomadStartState } from '../nomad/state-dir.ts';
import { buildJob } from '../live/pipeline/schedulerer.ts';
import { makeTempDir } from '../providers/temp-dir.ts';

/** A build's size as the installation's default resource class has it. */
export interface StaleJobSize {
  cpuMilli: number;
  memoryMb: number;
}

/**
 * The restored volume's `/opt/nomad/server/state.json`: `count` build jobs placed before the snapshot (the ids the
 * simulation's drill restores, `staleJobIds`), each of the default class's size, as the twin's Nomad server wrote
 * them (`NomadApiState.persisted`).
 */
export function staleNomadState(count: number, size: StaleJobSize): PersistedNomadState {
  return {
    version: 1,
    jobs: staleJobIds(count).map((id, i) => {
      const job = buildJob({ buildId: 11_873 + i * 3, repo: 'acme/repo', sha: '0'.repeat(40), parallelism: 1, durationMs: 10 * 60_000, cpuMhz: Math.ceil((size.cpuMilli * CPU_MHZ_PER_CORE) / 1000), memoryMb: size.memoryMb });
      return { job: parseJobRegistration({ Job: { ...job, ID: id, Name: id } }).job, placed: true };
    }),
  };
}

/**
 * A drill's `restored_nomad_state` on the live stack, as the seeds' restore leaves the Services machine: the twin's
 * Nomad server keeps its state in a data dir of its own (`persistState`, the `/opt/nomad` it writes on every change),
 * stops, finds that dir holding the snapshot's state (`staleNomadState`) and starts on it: the jobs come back and the
 * allocations of those that were placed hold the clients' capacity with no build agent running them (stale). Returns
 * the data dir (the caller removes it with the stack) and what the server found there.
 */
export async function restoreStaleNomadState(nomad: StartedNomadApiServer, change: Extract<HiddenChange, { kind: 'restored_nomad_state' }>, size: StaleJobSize): Promise<{ dir: string; start: NomadStartState | undefined }> {
  const dir = nomad.dataDir ?? (await makeTempDir('opt-nomad'));
  if (nomad.dataDir === undefined) nomad.persistState(dir);
  await nomad.halt();
  const file = join(dir, NOMAD_STATE_FILE);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(staleNomadState(change.staleAllocations, size))}\n`);
  await nomad.resume();
  return { dir, start: nomad.lastStart };
}
