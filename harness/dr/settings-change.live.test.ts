/**
 * `twin dr scenarios/dr/settings-change-rollback.yaml --mode live`: the context the workload's jobs name is changed
 * in the live Services machine's PostgreSQL, the jobs using it fail for real, and restore-from-ebs rolls back to the
 * snapshot from before the change on a new instance at a new address. Checked against what the rehearsal pushed and
 * what the restored PostgreSQL holds.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { CONTEXT } from '../live/replay/config.ts';
import { contextSecretPath } from '../live/pipeline/contexts.ts';
import { runLiveDr, type LivePush } from './live-rehearsal.ts';
import { runDrRehearsal, type DrReport } from '../../sim/models/dr/dr-report.ts';
import { DR_KINDS_PORT_OFFSET } from './live-kinds/types.ts';
import { expectAgreesWithSim, unfinishedBuilds } from './snapshot-ledger.ts';


describe('twin dr --mode live: settings_change', () => {
  it('settings-change-rollback: the changed context fails the jobs that use it until the snapshot from before the change is restored at a new IP', async () => {
    const scenario = loadScenarioFile('scenarios/dr/settings-change-rollback.yaml', { mode: 'live', command: 'dr' });
    let pushes: readonly LivePush[] = [];
    // The builds not finished at the end, for the log: a stuck one says where it came from.
    let unfinished: unknown[] = [];
    let rows = new Map<string, { status: string; reason: string | null }>();
    let contextPath: string | undefined;
    let replacedAt = 0;
    let upAt = 0;
    const report: DrReport = await runLiveDr(scenario, loadRunbook('restore-from-ebs'), {
      portOffset: DR_KINDS_PORT_OFFSET,
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made, machine }) => {
        unfinished = await unfinishedBuilds(postgres, made, machine);
        pushes = made;
        const r = await postgres.query<{ sha: string; status: string; reason: string | null }>(PIPELINE_DB, 'SELECT DISTINCT ON (sha) sha, status, reason FROM builds ORDER BY sha, id DESC');
        rows = new Map(r.rows.map((x) => [x.sha, x]));
        contextPath = (await postgres.query<{ vault_path: string }>(PIPELINE_DB, 'SELECT vault_path FROM contexts WHERE name = $1', [CONTEXT])).rows[0]?.vault_path;
        replacedAt = machine.events.find((e) => / replaced by /.test(e.event))?.atMs ?? 0;
        upAt = machine.events.find((e) => /^app up on /.test(e.event))?.atMs ?? 0;
      },
    });
    process.stderr.write(`${JSON.stringify({ unfinished, timeline: report.dr.timeline.map((e) => `${e.at_ms - report.dr.timeline[0]!.at_ms} ${e.event}`), builds: report.builds, settings: report.dr.settings, lost_at_restore: report.dr.records_lost_at_restore, rto: report.rto_ms, rpo: report.rpo_ms, failed: report.expectations.filter((e) => !e.passed) })}\n`);
    const delivered = pushes.filter((p) => p.delivered);
    // The rollback's instance replaced the changed one: at a new address, the old one re-associated to it.
    expect(replacedAt).toBeGreaterThan(0);
    const live = report.live as { services_instance: { old: { id: string; private_ip: string }; new: { id: string; private_ip: string } } };
    expect(live.services_instance.new.private_ip).not.toBe(live.services_instance.old.private_ip);
    expect(report.dr.timeline.map((e) => e.event)).toContainEqual(expect.stringMatching(new RegExp(`^${live.services_instance.old.id} replaced by ${live.services_instance.new.id} booted from snap-`)));
    expect(report.runbook.map((s) => [s.step, s.status])).toEqual(loadRunbook('restore-from-ebs').steps.map((s) => [s.name, 'done']));
    expect(report.runbook.find((s) => s.step === 'reassign_private_ip')!.consequence).toContain(`${live.services_instance.old.private_ip} re-associated`);
    expect(report.dr.builders_reach_services).toBe(true);
    // The change was real: jobs using the context failed on the changed machine, for that reason.
    expect(report.dr.settings).toMatchObject({ broken: 'contexts', restored: true });
    expect(report.dr.settings!.builds_failed).toBeGreaterThan(0);
    // Those the change could break: using the context, delivered after the snapshot and before the replacement.
    const brokenWindow = delivered.filter((p) => p.usesContexts && p.phase !== 'before_snapshot' && p.sentWallMs < replacedAt);
    expect(report.dr.settings!.builds_failed).toBeLessThanOrEqual(brokenWindow.length);
    // The restored PostgreSQL holds the context as it was before the change, and jobs using it succeed again.
    expect(contextPath).toBe(contextSecretPath(CONTEXT));
    const backWithContexts = delivered.filter((p) => p.usesContexts && p.wallMs > upAt && rows.has(p.sha));
    expect(backWithContexts.length).toBeGreaterThan(0);
    expect(backWithContexts.filter((p) => rows.get(p.sha)!.status === 'succeeded').length).toBeGreaterThan(0);
    expect(backWithContexts.every((p) => !/context/.test(rows.get(p.sha)!.reason ?? ''))).toBe(true);
    // Written before the snapshot: all back. Written on the changed machine after it: replaced with it, counted lost.
    expect(delivered.filter((p) => p.phase === 'before_snapshot').length).toBeGreaterThan(0);
    expect(delivered.filter((p) => p.phase === 'before_snapshot').every((p) => rows.has(p.sha))).toBe(true);
    const onReplaced = delivered.filter((p) => p.phase !== 'before_snapshot' && p.sentWallMs < replacedAt);
    expect(onReplaced.length).toBeGreaterThan(0);
    expect(onReplaced.some((p) => rows.has(p.sha))).toBe(false);
    expect(report.builds.lost).toBe(onReplaced.length);
    expect(report.dr.records_lost_at_restore).toBe(onReplaced.length);
    // The change itself lost nothing (the simulation's data_loss for a settings change).
    expect(report.data_loss.build_records).toBe(0);
    expect(report.rpo_ms).toBeGreaterThanOrEqual(19 * 60_000);
    expect(report.rpo_ms).toBeLessThanOrEqual(21 * 60_000);
    expect(report.rto_ms).not.toBeNull();
    expect(report).toMatchObject({ mode: 'live', ledger: { conserved: true } });
    expect(report.dr.builders_reconnected).toBe(scenario.topology.nomadClients.count);
    expect(report.passed).toBe(true);
    expectAgreesWithSim(report, runDrRehearsal(scenario, loadRunbook('restore-from-ebs')));
  }, 900_000);
});
