/**
 * `twin dr scenarios/dr/settings-change-project-settings.yaml --mode live`: the settings (the follower's OAuth token) of
 * 30% of the workload's projects are changed in the live Services machine's PostgreSQL; the builds of those projects,
 * and only those, fail for real (GitHub Enterprise refuses the token at the config fetch), and restore-from-ebs rolls
 * back to the snapshot from before the change at a new address. Ports: documented + 25000 (TWIN_DR_SETTINGS_PORT_OFFSET).
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { runLiveDr, type LivePush } from './live-rehearsal.ts';
import { runDrRehearsal, type DrReport } from '../../sim/models/dr/dr-report.ts';
import { changedProjectCount } from '../../sim/models/dr/project-settings.ts';
import { PROJECT_REPOS, PROJECT_SETTINGS_FAILURE } from './live-kinds/project-settings.ts';
import { expectAgreesWithSim } from './snapshot-ledger.ts';

const PORT_OFFSET = Number(process.env.TWIN_DR_SETTINGS_PORT_OFFSET ?? 25_000);

describe('twin dr --mode live: settings_change of project_settings', () => {
  it('settings-change-project-settings: builds of the changed projects only fail until the snapshot from before the change is restored', async () => {
    const scenario = loadScenarioFile('scenarios/dr/settings-change-project-settings.yaml', { mode: 'live', command: 'dr' });
    const changed = PROJECT_REPOS.slice(0, changedProjectCount(scenario.disaster!.share));
    let pushes: readonly LivePush[] = [];
    let rows = new Map<string, { repo: string; status: string; reason: string | null }>();
    let tokens = new Map<string, string>();
    let replacedAt = 0;
    let upAt = 0;
    const report: DrReport = await runLiveDr(scenario, loadRunbook('restore-from-ebs'), {
      portOffset: PORT_OFFSET,
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made, machine }) => {
        pushes = made;
        const r = await postgres.query<{ sha: string; repo: string; status: string; reason: string | null }>(PIPELINE_DB, 'SELECT DISTINCT ON (sha) sha, repo, status, reason FROM builds ORDER BY sha, id DESC');
        rows = new Map(r.rows.map((x) => [x.sha, x]));
        tokens = new Map((await postgres.query<{ repo: string; github_token: string }>(PIPELINE_DB, 'SELECT repo, github_token FROM project_settings')).rows.map((x) => [x.repo, x.github_token]));
        replacedAt = machine.events.find((e) => / replaced by /.test(e.event))?.atMs ?? 0;
        upAt = machine.events.find((e) => /^app up on /.test(e.event))?.atMs ?? 0;
      },
    });
    process.stderr.write(`${JSON.stringify({ timeline: report.dr.timeline.map((e) => `${e.at_ms - report.dr.timeline[0]!.at_ms} ${e.event}`), builds: report.builds, settings: report.dr.settings, live: (report.live as Record<string, unknown>).project_settings, rto: report.rto_ms, rpo: report.rpo_ms, failed: report.expectations.filter((e) => !e.passed) })}\n`);
    const delivered = pushes.filter((p) => p.delivered);
    // The pushes went to every project, changed or not.
    expect(new Set(delivered.map((p) => p.repo)).size).toBeGreaterThan(changed.length);
    expect(delivered.some((p) => changed.includes(p.repo))).toBe(true);
    expect(replacedAt).toBeGreaterThan(0);
    // On the changed machine (read before it was replaced): builds failed because GHE refused the changed token,
    // every one of a changed project; none of a project left unchanged.
    const live = report.live as { project_settings: { changed: string[]; workflows_failed_by_change: Record<string, number> } };
    expect(live.project_settings.changed).toEqual(changed);
    const byRepo = live.project_settings.workflows_failed_by_change;
    expect(Object.keys(byRepo).length).toBeGreaterThan(0);
    expect(Object.keys(byRepo).filter((r) => !changed.includes(r))).toEqual([]);
    // The restored machine holds none of them (they were written after the snapshot) and fails none for it.
    expect([...rows.values()].filter((r) => PROJECT_SETTINGS_FAILURE.test(r.reason ?? ''))).toEqual([]);
    // The unchanged projects built on after the change, on the changed machine.
    const unchangedDuring = delivered.filter((p) => p.phase !== 'before_snapshot' && p.sentWallMs < replacedAt && !changed.includes(p.repo));
    expect(unchangedDuring.length).toBeGreaterThan(0);
    expect(report.dr.settings).toMatchObject({ broken: 'project_settings', restored: true });
    expect(report.dr.settings!.builds_failed).toBeGreaterThan(0);
    expect(report.dr.settings!.builds_failed).toBeLessThanOrEqual(Object.values(byRepo).reduce((a, b) => a + b, 0));
    // The restored PostgreSQL holds every project's settings as before the change, and the changed projects build again.
    expect([...tokens.values()].some((t) => t.endsWith('-changed'))).toBe(false);
    expect(tokens.size).toBe(PROJECT_REPOS.length);
    const backChanged = delivered.filter((p) => changed.includes(p.repo) && p.wallMs > upAt && rows.has(p.sha));
    expect(backChanged.length).toBeGreaterThan(0);
    expect(backChanged.filter((p) => rows.get(p.sha)!.status === 'succeeded').length).toBeGreaterThan(0);
    expect(report.rto_ms).not.toBeNull();
    expect(report.data_loss.build_records).toBe(0);
    expect(report).toMatchObject({ mode: 'live', ledger: { conserved: true } });
    expect(report.passed).toBe(true);
    expectAgreesWithSim(report, runDrRehearsal(scenario, loadRunbook('restore-from-ebs')));
  }, 900_000);
});
