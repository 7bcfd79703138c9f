import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadRunbook } from '../../../fixtures/runbooks/load.ts';
import { runDrRehearsal } from './dr-report.ts';
import { rehearse } from './dr-rehearsal.ts';

const BASE = readFileSync(new URL('../../../scenarios/dr/ebs-snapshot-restore.yaml', import.meta.url), 'utf8').replace(/^expect:[\s\S]*$/m, '');
const runbook = loadRunbook('restore-from-ebs');

/** The ebs-snapshot-restore scenario without its expectations, with `recovery` replaced. */
function scenario(recovery: string, extra = '') {
  const text = BASE.replace(/^recovery:.*$/m, `recovery: ${recovery}`) + extra;
  return parseScenario(text, 'dr.yaml', fixtureContext(undefined, 'dr'));
}

describe('DR rehearsal', () => {
  it('is deterministic: same scenario and seed, same report bytes; another seed, another report', () => {
    const s = scenario('{ runbook: restore-from-ebs, after: 5m }');
    const a = JSON.stringify(runDrRehearsal(s, runbook));
    expect(JSON.stringify(runDrRehearsal(s, runbook))).toBe(a);
    expect(JSON.stringify(runDrRehearsal({ ...s, seed: s.seed + 1 }, runbook))).not.toBe(a);
  });

  it('restores the last snapshot: RPO is its age, records written after it are lost, the ledger holds', () => {
    const r = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m }'), runbook);
    expect(r.rpo_ms).toBe(10 * 60_000);
    expect(r.dr.restored_from_ms).toBe(3 * 3_600_000);
    expect(r.dr.backups_taken).toBe(3);
    expect(r.data_loss.build_records).toBeGreaterThan(0);
    expect(r.builds.lost).toBe(r.data_loss.build_records);
    expect(r.ledger.conserved).toBe(true);
    expect(r.webhooks_dropped).toBeGreaterThan(0);
    expect(r.rto_ms).not.toBeNull();
    // RTO runs from the disaster to the first new build's success: after the last step before it, start_app.
    const startApp = r.runbook.find((s) => s.step === 'start_app')!;
    expect(r.rto_ms!).toBeGreaterThanOrEqual(startApp.started_at_ms + startApp.duration_ms - r.dr.disaster.at_ms);
    expect(r.runbook.map((s) => s.status)).toEqual(runbook.steps.map(() => 'done'));
    expect(r.observed_severity).toBe('severe');
  });

  it('the baseline loses nothing and drops no webhook', () => {
    const o = rehearse(scenario('{ runbook: restore-from-ebs, after: 5m }'), runbook, { withoutDisaster: true });
    expect(o.builds.lost + o.builds.stuck + o.webhooksDropped).toBe(0);
    expect(o.rtoMs).toBeNull();
  });

  it('skipping wipe_nomad_state leaves stale allocations that hold capacity and delay new builds', () => {
    const full = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m }'), runbook);
    const skip = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m, skip: [wipe_nomad_state] }'), runbook);
    expect(full.dr.stale_allocations_restored).toBeGreaterThan(0);
    expect(full.dr.stale_allocations_at_end).toBe(0);
    expect(skip.dr.stale_allocations_at_end).toBe(skip.dr.stale_allocations_restored);
    expect(skip.queue_time_ms.p95).toBeGreaterThan(2 * full.queue_time_ms.p95);
    const step = skip.runbook.find((s) => s.step === 'wipe_nomad_state')!;
    expect(step.status).toBe('skipped');
    expect(step.consequence).toMatch(/stale allocations/);
  });

  it('skipping stop_app makes the wipe ineffective: the running Nomad server keeps its state', () => {
    const r = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m, skip: [stop_app] }'), runbook);
    expect(r.runbook.find((s) => s.step === 'wipe_nomad_state')!.consequence).toMatch(/^no effect/);
    expect(r.dr.stale_allocations_at_end).toBeGreaterThan(0);
  });

  it('skipping cleanup_stuck_builds leaves the builds restored as Running stuck', () => {
    const full = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m }'), runbook);
    const skip = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m, skip: [cleanup_stuck_builds] }'), runbook);
    expect(full.builds.stuck).toBe(0);
    expect(skip.builds.stuck).toBe(skip.dr.stuck_from_snapshot);
    expect(skip.builds.stuck).toBeGreaterThan(0);
    expect(skip.builds.failed).toBe(full.builds.failed - skip.builds.stuck);
  });

  it('a new private IP: builders reach the machine only with both reassign_private_ip and update_replicated_ips', () => {
    const ok = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m, reassign_private_ip: true }'), runbook);
    expect(ok.dr.builders_reach_services).toBe(true);
    expect(ok.rto_ms).not.toBeNull();
    for (const skipped of ['update_replicated_ips', 'reassign_private_ip']) {
      const r = runDrRehearsal(scenario(`{ runbook: restore-from-ebs, after: 5m, reassign_private_ip: true, skip: [${skipped}] }`), runbook);
      expect(r.dr.builders_reach_services, skipped).toBe(false);
      expect(r.rto_ms, skipped).toBeNull();
      expect(r.runbook.find((s) => s.step === skipped)!.consequence, skipped).toMatch(/cannot reach/);
    }
    // With the old IP kept, update_replicated_ips has nothing to do and skipping it costs nothing.
    const same = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m, skip: [update_replicated_ips] }'), runbook);
    expect(same.dr.builders_reach_services).toBe(true);
    expect(same.runbook.find((s) => s.step === 'update_replicated_ips')!.consequence).toMatch(/^none/);
  });

  it('a step run before one it requires is out_of_order, and its consequence follows: the wipe before stop_app does nothing', () => {
    const r = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m, order: [register_image, launch_instance, wipe_nomad_state, stop_app] }'), runbook);
    const wipe = r.runbook.find((x) => x.step === 'wipe_nomad_state')!;
    expect(wipe.status).toBe('out_of_order');
    expect(wipe.consequence).toMatch(/^no effect.*\(ran before stop_app\)$/);
    expect(r.runbook.map((x) => x.step).slice(0, 4)).toEqual(['register_image', 'launch_instance', 'wipe_nomad_state', 'stop_app']);
    expect(r.runbook.filter((x) => x.status === 'out_of_order').map((x) => x.step)).toEqual(['wipe_nomad_state']);
    expect(r.dr.stale_allocations_at_end).toBeGreaterThan(0);
  });

  it('a tarball restore: no /opt/nomad in the backup, and what the clean install recorded before circleci-restore is moved aside', () => {
    const tarballs = loadRunbook('restore-from-tarball');
    const s = scenario('{ runbook: restore-from-tarball, after: 5m }');
    const r = runDrRehearsal({ ...s, backups: { strategy: 'tarball', everyMs: 3_600_000, lagMs: 0 } }, tarballs);
    expect(r.dr.stale_allocations_restored).toBe(0);
    const restore = r.runbook.find((x) => x.step === 'restore_tarball')!;
    const moved = Number(/(\d+) records written on this install/.exec(restore.consequence)?.[1]);
    expect(moved).toBeGreaterThan(0);
    expect(r.builds.lost).toBe(r.data_loss.build_records + moved);
    // The RTO counts only a new build whose success the restored installation still records.
    expect(r.rto_ms!).toBeGreaterThanOrEqual(restore.started_at_ms + restore.duration_ms - r.dr.disaster.at_ms);
    expect(r.ledger.conserved).toBe(true);
    // The EBS runbook cannot register an image from tarballs: a clean install comes up with none of the data.
    const wrong = runDrRehearsal({ ...s, backups: { strategy: 'tarball', everyMs: 3_600_000, lagMs: 0 }, recovery: { ...s.recovery!, runbook: 'restore-from-ebs' } }, runbook);
    expect(wrong.runbook[0]!.consequence).toMatch(/tarballs/);
    expect(wrong.dr.restored_from_ms).toBeNull();
    expect(wrong.builds.lost).toBeGreaterThan(r.builds.lost + 100);
  });

  it('fails an expectation that does not hold (rto_ms, runbook paths)', () => {
    const r = runDrRehearsal(scenario('{ runbook: restore-from-ebs, after: 5m }', 'expect:\n  - { metric: rto_ms, max: 1m }\n  - { metric: runbook.6.status, equals: skipped }\n'), runbook);
    expect(r.passed).toBe(false);
    expect(r.expectations.map((e) => e.passed)).toEqual([false, false]);
  });
});
