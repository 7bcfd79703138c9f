/**
 * `twin dr scenarios/dr/ebs-corruption-new-ip.yaml --mode live`: the Services machine's volume is corrupted under
 * the running stack (PostgreSQL's WAL garbled), PostgreSQL's real crash recovery fails on it, and restore-from-ebs
 * brings the last snapshot back on a new instance at a new address while the corrupted one keeps the old.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { runLiveDr, type LivePush } from './live-rehearsal.ts';
import { runDrRehearsal, type DrReport } from '../../sim/models/dr/dr-report.ts';
import { DR_KINDS_PORT_OFFSET } from './live-kinds/types.ts';
import { expectAgreesWithSim, expectRestoredAtSnapshot, unfinishedBuilds } from './snapshot-ledger.ts';

describe('twin dr --mode live: ebs_corruption', () => {
  it('ebs-corruption-new-ip: PostgreSQL cannot recover from the corrupted volume; the 3h snapshot comes back at a new IP with the old one re-associated', async () => {
    const scenario = loadScenarioFile('scenarios/dr/ebs-corruption-new-ip.yaml', { mode: 'live', command: 'dr' });
    let pushes: readonly LivePush[] = [];
    // The builds not finished at the end, for the log: a stuck one says where it came from.
    let unfinished: unknown[] = [];
    let present = new Set<string>();
    const report: DrReport = await runLiveDr(scenario, loadRunbook('restore-from-ebs'), {
      portOffset: DR_KINDS_PORT_OFFSET,
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made, machine }) => {
        unfinished = await unfinishedBuilds(postgres, made, machine);
        pushes = made;
        present = new Set((await postgres.query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha));
      },
    });
    process.stderr.write(`${JSON.stringify({ unfinished, timeline: report.dr.timeline.map((e) => `${e.at_ms - report.dr.timeline[0]!.at_ms} ${e.event}`), builds: report.builds, rto: report.rto_ms, rpo: report.rpo_ms, failed: report.expectations.filter((e) => !e.passed) })}\n`);
    const events = report.dr.timeline.map((e) => e.event);
    // The corruption was real: PostgreSQL started on the volume and its crash recovery failed.
    expect(events.some((e) => /WAL segments of PostgreSQL \(\d+ MiB\) garbled$/.test(e)), events.join('\n')).toBe(true);
    expect(events.some((e) => /crash recovery failed: PANIC: +could not locate a valid checkpoint record/.test(e)), events.join('\n')).toBe(true);
    // The corrupted instance ran on with its address: the restore went to a new one and took the old one over.
    const live = report.live as { services_instance: { old: { private_ip: string }; new: { private_ip: string } } };
    expect(live.services_instance.new.private_ip).not.toBe(live.services_instance.old.private_ip);
    expect(report.runbook.map((s) => [s.step, s.status])).toEqual(loadRunbook('restore-from-ebs').steps.map((s) => [s.name, 'done']));
    expect(report.runbook.find((s) => s.step === 'launch_instance')!.consequence).toMatch(/ \(a new one\), booted and the app started on the restored volume/);
    expect(report.runbook.find((s) => s.step === 'reassign_private_ip')!.consequence).toContain(`${live.services_instance.old.private_ip} re-associated`);
    // Written before the snapshot: all back; after it: gone with the corrupted volume, counted lost.
    expectRestoredAtSnapshot(pushes, present, report);
    expect(report.webhooks_dropped).toBe(pushes.filter((p) => !p.delivered).length);
    expect(report.webhooks_dropped).toBeGreaterThan(0);
    expect(report.rpo_ms).toBeGreaterThanOrEqual(540_000);
    expect(report.rpo_ms).toBeLessThanOrEqual(660_000);
    expect(report.rto_ms).not.toBeNull();
    expect(report.dr.builders_reconnected).toBe(scenario.topology.nomadClients.count);
    expect(report).toMatchObject({ mode: 'live', ledger: { conserved: true } });
    expect(report.passed).toBe(true);
    expectAgreesWithSim(report, runDrRehearsal(scenario, loadRunbook('restore-from-ebs')));
  }, 900_000);
});
