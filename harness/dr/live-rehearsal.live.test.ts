/**
 * `twin dr scenarios/dr/ebs-snapshot-restore.yaml --mode live`: the stack destroyed and restored through the
 * runbook with real EC2 calls; the report's RTO, RPO and losses checked against what the rehearsal wrote before and
 * after the snapshot, read back from the restored PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { runLiveDr, type LivePush } from './live-rehearsal.ts';
import { replicatedAddresses } from './services-volume.ts';
import { expectRestoredAtSnapshot } from './snapshot-ledger.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';

describe('twin dr --mode live', () => {
  it('restores ebs-snapshot-restore through the runbook: what was written before the snapshot is back, what came after is counted lost, RTO and RPO measured', async () => {
    const scenario = loadScenarioFile('scenarios/dr/ebs-snapshot-restore.yaml', { mode: 'live', command: 'dr' });
    let pushes: readonly LivePush[] = [];
    let present = new Set<string>();
    let stuckAtEnd = -1;
    const report: DrReport = await runLiveDr(scenario, loadRunbook('restore-from-ebs'), {
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made }) => {
        pushes = made;
        present = new Set((await postgres.query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha));
        stuckAtEnd = Number((await postgres.query<{ n: string }>(PIPELINE_DB, "SELECT count(*) AS n FROM builds WHERE status IN ('queued', 'scheduled', 'running')")).rows[0]!.n);
      },
    });
    const delivered = (phase: LivePush['phase']) => pushes.filter((p) => p.phase === phase && p.delivered);
    // Written before the snapshot: every one of them is in the restored database; written after it and before the
    // disaster: none survived, and the report counts exactly those as lost.
    expectRestoredAtSnapshot(pushes, present, report);
    // The outage's webhooks were dropped; the restored installation built the later ones.
    expect(report.webhooks_dropped).toBe(pushes.filter((p) => !p.delivered).length);
    expect(pushes.filter((p) => p.phase === 'outage' && !p.delivered).length).toBeGreaterThan(0);
    // A push the restored machine took before stop_app (Replicated starts the app at boot) was written there and stays.
    expect(delivered('outage').every((p) => present.has(p.sha))).toBe(true);
    expect(delivered('after_restore').length).toBeGreaterThan(0);
    expect(report.builds.stuck).toBe(stuckAtEnd);
    const b = report.builds;
    expect(b.succeeded + b.failed + b.lost + b.stuck).toBe(b.triggered);
    // RPO: the snapshot was taken 10 minutes of scenario time before the disaster; RTO: wall time to the first new success.
    expect(report.rpo_ms).toBeGreaterThanOrEqual(540_000);
    expect(report.rpo_ms).toBeLessThanOrEqual(660_000);
    expect(report.rto_ms).not.toBeNull();
    expect(report.rto_ms!).toBeGreaterThan(0);
    expect(report.runbook.map((s) => [s.step, s.status])).toEqual(loadRunbook('restore-from-ebs').steps.map((s) => [s.name, 'done']));
    expect(report).toMatchObject({ mode: 'live', ledger: { conserved: true } });
    expect((report.live as { snapshot: { hold_ms: number } }).snapshot.hold_ms).toBeGreaterThan(0);
    // The snapshot carried /opt/nomad: the restored server read back the allocations of the builds running at it,
    // and `wipe_nomad_state` (done with the app stopped) cleared them.
    expect(report.dr.stale_allocations_restored).toBeGreaterThan(0);
    expect(report.dr.stale_allocations_at_end).toBe(0);
    expect(report.runbook.find((s) => s.step === 'wipe_nomad_state')!.consequence).toMatch(/^\/opt\/nomad removed: \d+ placed jobs \([1-9]\d* stale allocations\)/);
  }, 600_000);

  it('restore-skips-nomad-wipe on a fleet of two: the restored /opt/nomad\'s stale allocations hold the fleet, and the builds after the restore wait behind them', async () => {
    const loaded = loadScenarioFile('scenarios/dr/restore-skips-nomad-wipe.yaml', { mode: 'live', command: 'dr' });
    // Two clients (12 vCPU for builds): the builds running at the snapshot fill them, so what the stale allocations
    // hold is all there is, and a new build can only wait.
    const scenario = { ...loaded, topology: { ...loaded.topology, nomadClients: { ...loaded.topology.nomadClients, count: 2 } } };
    let afterRestore: { status: string }[] = [];
    let nomadJobs: { ID: string; Status: string }[] = [];
    const report: DrReport = await runLiveDr(scenario, loadRunbook('restore-from-ebs'), {
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes, machine }) => {
        const shas = pushes.filter((p) => p.phase === 'after_restore' && p.delivered).map((p) => p.sha);
        afterRestore = (await postgres.query<{ status: string }>(PIPELINE_DB, 'SELECT status FROM builds WHERE sha = ANY($1)', [shas])).rows;
        nomadJobs = (await (await fetch(`${machine.nomad!.url}/v1/jobs`)).json()) as typeof nomadJobs;
      },
    });
    const wipe = report.runbook.find((s) => s.step === 'wipe_nomad_state')!;
    expect(wipe.status).toBe('skipped');
    const restored = report.dr.stale_allocations_restored;
    expect(restored).toBeGreaterThan(0);
    // Nothing runs them and nothing ends them: all still there at the end.
    expect(report.dr.stale_allocations_at_end).toBe(restored);
    const m = /^the restored \/opt\/nomad kept (\d+) stale allocations holding (\d+)% of the fleet's CPU at the end; new builds waited behind them (\d+) times$/.exec(wipe.consequence);
    expect(m, wipe.consequence).not.toBeNull();
    expect(Number(m![1])).toBe(restored);
    expect(Number(m![2])).toBeGreaterThan(50);
    expect(Number(m![3])).toBeGreaterThan(0);
    // The builds triggered after the restore never started: their jobs wait in the Nomad server, blocked.
    expect(afterRestore.length).toBeGreaterThan(0);
    expect(afterRestore.every((b) => b.status === 'queued' || b.status === 'scheduled')).toBe(true);
    expect(nomadJobs.filter((j) => j.Status === 'pending').length).toBeGreaterThanOrEqual(Number(m![3]));
    expect(report.rto_ms).toBeNull();
  }, 600_000);

  it('ebs-restore-new-ip: the restored instance has a new private IP and /etc/default/replicated still names the old one, so the builders never register and the builds after the restore are never placed', async () => {
    const scenario = loadScenarioFile('scenarios/dr/ebs-restore-new-ip.yaml', { mode: 'live', command: 'dr' });
    let pushes: readonly LivePush[] = [];
    let present = new Set<string>();
    let afterRestore: { status: string; started_at: Date | null }[] = [];
    let nodes: { Status: string }[] = [];
    let files: { replicated: string[]; primary: string; secondary: string | undefined } | undefined;
    const report: DrReport = await runLiveDr(scenario, loadRunbook('restore-from-ebs'), {
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made, machine }) => {
        pushes = made;
        present = new Set((await postgres.query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha));
        const shas = made.filter((p) => p.phase === 'after_restore' && p.delivered).map((p) => p.sha);
        afterRestore = (await postgres.query<{ status: string; started_at: Date | null }>(PIPELINE_DB, 'SELECT status, started_at FROM builds WHERE sha = ANY($1)', [shas])).rows;
        nodes = (await (await fetch(`${machine.nomad!.url}/v1/nodes`)).json()) as typeof nodes;
        files = { replicated: replicatedAddresses(machine.etcDir), primary: machine.privateIp, secondary: machine.secondaryIp };
      },
    });
    process.stderr.write(`${JSON.stringify({ builds: report.builds, pushes: (report.live as { pushes: unknown }).pushes, afterRestore, nodes: nodes.map((n) => n.Status), builders: report.dr.timeline.filter((e) => /builders/.test(e.event)) })}\n`);
    const live = report.live as { services_instance: { old: { private_ip: string }; new: { private_ip: string } } };
    const { old, new: restored } = live.services_instance;
    // RunInstances without --private-ip-address: a new address; the old one re-associated as a secondary.
    expect(restored.private_ip).not.toBe(old.private_ip);
    expect(files).toEqual({ replicated: [old.private_ip, old.private_ip], primary: restored.private_ip, secondary: old.private_ip });
    expect(report.runbook.find((s) => s.step === 'reassign_private_ip')).toMatchObject({ status: 'done' });
    const skipped = report.runbook.find((s) => s.step === 'update_replicated_ips')!;
    expect(skipped.status).toBe('skipped');
    // The simulation's words (dr-rehearsal.ts), over the live machine's files and addresses and PostgreSQL's builds.
    const m = /^builders cannot reach the Services machine: replicated names (\S+), the instance's address is (\S+); (\d+) builds never placed$/.exec(skipped.consequence);
    expect(m, skipped.consequence).not.toBeNull();
    expect([m![1], m![2]]).toEqual([old.private_ip, restored.private_ip]);
    // The consequence is the mechanics': every Nomad client is down (heartbeats missed), nothing after the restore started.
    expect(nodes.length).toBe(scenario.topology.nomadClients.count);
    expect(nodes.every((n) => n.Status === 'down')).toBe(true);
    expect(afterRestore.length).toBeGreaterThanOrEqual(3);
    expect(afterRestore.every((b) => b.started_at === null && (b.status === 'queued' || b.status === 'scheduled'))).toBe(true);
    expect(Number(m![3])).toBeGreaterThanOrEqual(afterRestore.length);
    expect(report.builds.stuck).toBeGreaterThanOrEqual(afterRestore.length);
    expect(report.dr.builders_reach_services).toBe(false);
    expect(report.rto_ms).toBeNull();
    // The data is the snapshot's all the same: before it all back, after it all lost.
    expectRestoredAtSnapshot(pushes, present, report);
    expect(report.rpo_ms).toBeGreaterThanOrEqual(540_000);
    expect(report.rpo_ms).toBeLessThanOrEqual(660_000);
    expect(report.passed).toBe(true);
  }, 600_000);
});
