import { expect } from 'vitest';
import type { LivePush } from './live-rehearsal.ts';
import type { ServicesMachine } from './services-machine.ts';
import type { StartedPostgres } from '../providers/index.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';

/**
 * The live DR tests' check of a restore from the snapshot, over what they pushed and what the restored PostgreSQL
 * holds (`present`: the workflows' shas): every workflow delivered before the snapshot is back, none delivered after
 * it and before the disaster is, and the report counts exactly those as lost and as written after the backup.
 */
export function expectRestoredAtSnapshot(pushes: readonly LivePush[], present: ReadonlySet<string>, report: DrReport): void {
  const delivered = (phase: LivePush['phase']) => pushes.filter((p) => p.phase === phase && p.delivered);
  expect(delivered('before_snapshot').length).toBeGreaterThan(0);
  expect(delivered('before_snapshot').every((p) => present.has(p.sha))).toBe(true);
  expect(delivered('after_snapshot').length).toBeGreaterThan(0);
  expect(delivered('after_snapshot').some((p) => present.has(p.sha))).toBe(false);
  expect(report.builds.lost).toBe(delivered('after_snapshot').length);
  expect(report.dr.records_written_after_backup).toBe(delivered('after_snapshot').length);
}

/**
 * Sim and live agree (as `twin dr` defines it for a rehearsal): the simulation of the same scenario and seed follows
 * the runbook to the same statuses, both conserve the ledger, and the scenario's expectations pass or fail alike.
 */
export function expectAgreesWithSim(live: DrReport, sim: DrReport): void {
  expect(live.runbook.map((s) => [s.step, s.status])).toEqual(sim.runbook.map((s) => [s.step, s.status]));
  expect([live.ledger.conserved, sim.ledger.conserved]).toEqual([true, true]);
  expect(live.expectations.map((e) => [e.metric, e.op, e.passed])).toEqual(sim.expectations.map((e) => [e.metric, e.op, e.passed]));
  expect(live.dr.settings === undefined ? undefined : { broken: live.dr.settings.broken, restored: live.dr.settings.restored }).toEqual(
    sim.dr.settings === undefined ? undefined : { broken: sim.dr.settings.broken, restored: sim.dr.settings.restored },
  );
  expect(live.dr.builders_reach_services).toBe(sim.dr.builders_reach_services);
  expect(live.dr.hostname_matches).toBe(sim.dr.hostname_matches);
}

/** The builds not finished when the rehearsal is inspected, for a test's log: each one's status, phase and age (a stuck one says where it came from). */
export async function unfinishedBuilds(postgres: StartedPostgres, made: readonly LivePush[], machine: ServicesMachine): Promise<unknown[]> {
  const open = await postgres.query<{ sha: string; status: string; queued_at: Date }>(PIPELINE_DB, "SELECT sha, status, queued_at FROM builds WHERE status IN ('queued', 'scheduled', 'running')");
  return open.rows.map((r) => ({ status: r.status, phase: made.find((p) => p.sha === r.sha)?.phase, since_first_event_ms: r.queued_at.getTime() - machine.events[0]!.atMs }));
}
