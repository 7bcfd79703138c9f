/**
 * `twin dr scenarios/dr/settings-change-tarball-in-place.yaml --mode live`: the context the workload's jobs name is
 * changed in the live Services machine's PostgreSQL, the jobs using it fail for real, and restore-tarball-in-place
 * runs circleci-restore of the last tarball from before the change on the running installation: its data is moved to
 * /data/circleci-restore-*, the settings from before the change come back on the same instance. Checked against what
 * the rehearsal pushed and what the restored PostgreSQL holds. Ports: documented + 25000 (TWIN_DR_SETTINGS_PORT_OFFSET).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { CONTEXT } from '../live/replay/config.ts';
import { contextSecretPath } from '../live/pipeline/contexts.ts';
import type { LivePush } from './live-rehearsal.ts';
import { runTarballDr } from './tarball-rehearsal.ts';
import { runDrRehearsal, type DrReport } from '../../sim/models/dr/dr-report.ts';
import { expectAgreesWithSim } from './snapshot-ledger.ts';

const PORT_OFFSET = Number(process.env.TWIN_DR_SETTINGS_PORT_OFFSET ?? 25_000);

describe('twin dr --mode live: settings_change restored from a tarball in place', () => {
  it('settings-change-tarball-in-place: circleci-restore on the running installation brings the context back; what was written since the tarball is moved aside', async () => {
    const scenario = loadScenarioFile('scenarios/dr/settings-change-tarball-in-place.yaml', { mode: 'live', command: 'dr' });
    const runbook = loadRunbook('restore-tarball-in-place');
    let pushes: readonly LivePush[] = [];
    let rows = new Map<string, { status: string; reason: string | null }>();
    let contextPath: string | undefined;
    let aside: string[] = [];
    const report: DrReport = await runTarballDr(scenario, runbook, {
      portOffset: PORT_OFFSET,
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made, machine }) => {
        pushes = made;
        const r = await postgres.query<{ sha: string; status: string; reason: string | null }>(PIPELINE_DB, 'SELECT DISTINCT ON (sha) sha, status, reason FROM builds ORDER BY sha, id DESC');
        rows = new Map(r.rows.map((x) => [x.sha, x]));
        contextPath = (await postgres.query<{ vault_path: string }>(PIPELINE_DB, 'SELECT vault_path FROM contexts WHERE name = $1', [CONTEXT])).rows[0]?.vault_path;
        aside = readdirSync(machine.dataDir).filter((d) => d.startsWith('circleci-restore-'));
      },
    });
    process.stderr.write(`${JSON.stringify({ timeline: report.dr.timeline.map((e) => `${e.at_ms - report.dr.timeline[0]!.at_ms} ${e.event}`), runbook: report.runbook.map((s) => `${s.step} ${s.status}: ${s.consequence}`), builds: report.builds, settings: report.dr.settings, lost_at_restore: report.dr.records_lost_at_restore, rto: report.rto_ms, rpo: report.rpo_ms, dropped: report.webhooks_dropped, failed: report.expectations.filter((e) => !e.passed) })}\n`);
    const delivered = pushes.filter((p) => p.delivered);
    const live = report.live as { restored_in_place: boolean; clean_ami: string | null; services_instance: { old: { id: string }; new: { id: string } }; restore: { moved_aside_to: string | null; workflows_moved_aside: number } };
    // Restored on the running installation: no clean install, the same instance, its data moved aside.
    expect(live).toMatchObject({ restored_in_place: true, clean_ami: null });
    expect(live.services_instance.new.id).toBe(live.services_instance.old.id);
    expect(report.runbook.map((s) => [s.step, s.status])).toEqual(runbook.steps.map((s) => [s.name, 'done']));
    expect(live.restore.moved_aside_to).toMatch(/\/circleci-restore-\d{8}T\d{6}Z$/);
    expect(aside).toHaveLength(1);
    expect(report.runbook.find((s) => s.step === 'restore_tarball')!.consequence).toContain(`the install's data moved to ${live.restore.moved_aside_to}`);
    // The change was real: jobs using the context failed, for that reason.
    expect(report.dr.settings).toMatchObject({ broken: 'contexts', restored: true });
    expect(report.dr.settings!.builds_failed).toBeGreaterThan(0);
    // The restored PostgreSQL holds the context as before the change, and jobs using it succeed again.
    expect(contextPath).toBe(contextSecretPath(CONTEXT));
    const after = delivered.filter((p) => p.phase === 'after_restore' && p.usesContexts && rows.has(p.sha));
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((p) => rows.get(p.sha)!.status === 'succeeded')).toBe(true);
    expect(after.every((p) => !/context/.test(rows.get(p.sha)!.reason ?? ''))).toBe(true);
    // Written before the tarball: all back. Written since (before the change and after it, until the restore): moved
    // aside with the installation's data, lost; those the restored installation took once its services started are
    // its own.
    expect(delivered.filter((p) => p.phase === 'before_snapshot').length).toBeGreaterThan(0);
    expect(delivered.filter((p) => p.phase === 'before_snapshot').every((p) => rows.has(p.sha))).toBe(true);
    // (those pushed while pg_dump ran may be in the dump, as in tarball-rehearsal.live.test.ts).
    const beforeChange = delivered.filter((p) => p.phase === 'after_snapshot');
    expect(beforeChange.length).toBeGreaterThan(0);
    expect(rows.has(beforeChange.at(-1)!.sha)).toBe(false);
    expect(report.builds.lost).toBeGreaterThanOrEqual(beforeChange.length);
    // Counted twice, independently: the pushes missing at the end, and the workflows circleci-restore moved aside.
    expect(report.builds.lost).toBe(live.restore.workflows_moved_aside);
    expect(report.dr.records_lost_at_restore).toBe(report.builds.lost);
    expect(report.data_loss.build_records).toBe(0);
    expect(report.rto_ms).not.toBeNull();
    expect(report.dr.builders_reconnected).toBe(scenario.topology.nomadClients.count);
    expect(report).toMatchObject({ mode: 'live', ledger: { conserved: true } });
    expect(report.passed).toBe(true);
    expectAgreesWithSim(report, runDrRehearsal(scenario, runbook));
  }, 900_000);
});
