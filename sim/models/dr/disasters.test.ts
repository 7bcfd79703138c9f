import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadAnyRunbook } from '../../../fixtures/runbooks/load.ts';
import { chainRunbooks } from './runbook.ts';
import { runDrRehearsal, type DrReport } from './dr-report.ts';

/** The workload of scenarios/dr/ebs-snapshot-restore.yaml (its DR sections and expectations removed). */
const WORKLOAD = readFileSync(new URL('../../../scenarios/dr/ebs-snapshot-restore.yaml', import.meta.url), 'utf8').replace(/^(backups|disaster|recovery|expect):[\s\S]*$/m, '');

/** That workload with the DR sections given (and `extra` appended to the last job). */
function rehearse(backups: string, disaster: string, recovery: string, jobs = ''): DrReport {
  const text = `${WORKLOAD.replace(/duration: 20m \}/, `duration: 20m${jobs} }`)}backups: ${backups}\ndisaster: ${disaster}\nrecovery: ${recovery}\n`;
  const s = parseScenario(text, 'dr.yaml', fixtureContext(undefined, 'dr'));
  const chained = chainRunbooks(loadAnyRunbook(s.recovery!.runbook), s.recovery!.then.map((n) => loadAnyRunbook(n)));
  return runDrRehearsal(s, chained.runbook!);
}

const step = (r: DrReport, name: string) => r.runbook.find((s) => s.step === name)!;
const HOURLY = '{ strategy: ebs_snapshot, every: 1h }';

describe('determinism', () => {
  it('every new disaster gives byte-identical reports for the same scenario and seed', () => {
    const cases: [string, string, string, string?][] = [
      ['{ strategy: replica, lag: 30s }', '{ at: 3h10m, kind: az_outage }', '{ runbook: cold-failover, then: [reassociate-builders], after: 5m }'],
      ['{ strategy: ebs_snapshot, every: 1h, copy: { region: us-west-2, takes: 20m } }', '{ at: 3h10m, kind: region_outage }', '{ runbook: restore-from-ebs, then: [reassociate-builders], after: 5m, reassign_private_ip: true, rpo_tolerance: 1h }'],
      ['{ strategy: tarball, every: 1h }', '{ at: 2h20m, kind: settings_change, breaks: project_settings, share: 0.5 }', '{ runbook: restore-tarball-in-place, after: 30m }'],
    ];
    for (const [b, d, r] of cases) expect(JSON.stringify(rehearse(b, d, r)), d).toBe(JSON.stringify(rehearse(b, d, r)));
  });
});

describe('ebs_corruption', () => {
  it('the corrupted instance keeps its private IP: a restore at the same IP is refused, nothing recovers', () => {
    const r = rehearse(HOURLY, '{ at: 3h10m, kind: ebs_corruption }', '{ runbook: restore-from-ebs, after: 5m }');
    expect(step(r, 'launch_instance').consequence).toMatch(/^RunInstances refused: 10\.0\.1\.10 is in use by the instance with the corrupted volume/);
    expect(r.rto_ms).toBeNull();
    expect(r.dr.builders_reach_services).toBe(false);
  });

  it('restored at a new IP with the old one re-associated: the 3h snapshot comes back, RPO 10 minutes', () => {
    const r = rehearse(HOURLY, '{ at: 3h10m, kind: ebs_corruption }', '{ runbook: restore-from-ebs, after: 5m, reassign_private_ip: true }');
    expect(r.rpo_ms).toBe(600_000);
    expect(r.rto_ms).not.toBeNull();
    expect(r.dr.builders_reach_services).toBe(true);
    expect(r.data_loss.build_records).toBeGreaterThan(0);
    expect(r.faults[0]).toEqual(expect.objectContaining({ action: 'ebs_corruption', target: 'services_machine' }));
    expect(r.ledger.conserved).toBe(true);
  });
});

describe('az_outage: cold fail-over to a replica', () => {
  const REPLICA = '{ strategy: replica, lag: 30s }';
  const AZ = '{ at: 3h10m, kind: az_outage }';

  it('RPO is the replication lag; the replica brings no stale Nomad allocations; builders reconnect at the re-associated IP', () => {
    const r = rehearse(REPLICA, AZ, '{ runbook: cold-failover, after: 5m }');
    expect(r.rpo_ms).toBe(30_000);
    expect(r.dr.stale_allocations_restored).toBe(0);
    expect(r.dr.builders_reconnected).toBe(6);
    expect(r.dr.builders_rotated).toBe(0);
    expect(r.rto_ms).not.toBeNull();
    expect(r.runbook.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done']);
    // The old instance in the failed zone cannot be terminated: the operator can only confirm it down.
    expect(step(r, 'confirm_primary_dead').consequence).toMatch(/cannot be reached to terminate it: confirmed down/);
    // The replica's own /opt/nomad holds no jobs: every record it brought back Running is cleaned up, none stays stuck.
    expect(r.builds.stuck).toBe(0);
    expect(r.dr.stuck_from_snapshot).toBeGreaterThan(0);
    // A 30 s lag loses at most the records of 30 s: far fewer than an hourly snapshot 10 minutes old.
    const snapshot = rehearse(HOURLY, AZ, '{ runbook: restore-from-ebs, after: 5m }');
    expect(r.data_loss.build_records).toBeLessThan(snapshot.data_loss.build_records);
    expect(snapshot.rpo_ms).toBe(600_000);
  });

  it('without the IP re-associated, builders dial an address no instance holds: not recovered', () => {
    const r = rehearse(REPLICA, AZ, '{ runbook: cold-failover, after: 5m, skip: [reassign_private_ip] }');
    expect(r.rto_ms).toBeNull();
    expect(step(r, 'reassign_private_ip').consequence).toMatch(/^builders dial 10\.0\.1\.10, which no instance holds/);
    expect(r.builds.stuck).toBeGreaterThan(0);
  });

  it('then rotating the builders onto the replica\'s address with the secret token recovers; without the token they cannot register', () => {
    const ok = rehearse(REPLICA, AZ, '{ runbook: cold-failover, then: [reassociate-builders], after: 5m, skip: [reassign_private_ip] }');
    expect(ok.dr.builders_reach_services).toBe(true);
    expect(ok.dr.builders_rotated).toBe(6);
    expect(ok.rto_ms).not.toBeNull();
    expect(step(ok, 'rotate_builders').consequence).toMatch(/dialling 10\.0\.2\.20.*they register/);
    const noToken = rehearse(REPLICA, AZ, '{ runbook: cold-failover, then: [reassociate-builders], after: 5m, skip: [reassign_private_ip, get_secret_token] }');
    expect(noToken.dr.builders_reach_services).toBe(false);
    expect(noToken.rto_ms).toBeNull();
    expect(step(noToken, 'rotate_builders').consequence).toMatch(/cannot register.*no CIRCLE_SECRET_PASSPHRASE/);
    expect(step(noToken, 'get_secret_token').consequence).toMatch(/without CIRCLE_SECRET_PASSPHRASE and cannot register/);
  });
});

describe('region_outage', () => {
  const REGION = '{ at: 3h10m, kind: region_outage }';
  const RECOVERY = '{ runbook: restore-from-ebs, then: [reassociate-builders], after: 5m, reassign_private_ip: true }';

  it('a replica in another zone of the region is lost with it: nothing to fail over to', () => {
    const r = rehearse('{ strategy: replica, lag: 30s }', REGION, '{ runbook: cold-failover, after: 5m }');
    expect(r.rpo_ms).toBeNull();
    expect(r.rto_ms).toBeNull();
    expect(step(r, 'start_app').consequence).toBe('no instance');
  });

  it('snapshots never copied out of the region: nothing to register, nothing recovers', () => {
    const r = rehearse(HOURLY, REGION, RECOVERY);
    expect(step(r, 'register_image').consequence).toMatch(/stayed in it/);
    expect(r.rpo_ms).toBeNull();
    expect(r.rto_ms).toBeNull();
    expect(r.dr.backups.list.every((b) => !b.usable && b.note === 'never copied out of the failed region')).toBe(true);
  });

  it('copies to another region: the newest copy complete at the outage is restored, a new fleet is launched there', () => {
    const r = rehearse('{ strategy: ebs_snapshot, every: 1h, copy: { region: us-west-2, takes: 20m } }', REGION, RECOVERY);
    // The 3h snapshot's copy completes after 3h20m: the 2h one is the newest in us-west-2 at 3h10m.
    expect(r.rpo_ms).toBe(70 * 60_000);
    expect(r.dr.backups.list.map((b) => b.usable)).toEqual([true, true, false]);
    expect(step(r, 'reassign_private_ip').consequence).toMatch(/cannot be re-associated: it belongs to a subnet of the failed region/);
    expect(r.dr.builders_rotated).toBe(6);
    expect(r.dr.builders_reach_services).toBe(true);
    expect(r.rto_ms).not.toBeNull();
    const noRotation = rehearse('{ strategy: ebs_snapshot, every: 1h, copy: { region: us-west-2, takes: 20m } }', REGION, RECOVERY.replace('}', ', skip: [rotate_builders] }'));
    expect(noRotation.rto_ms).toBeNull();
    expect(step(noRotation, 'rotate_builders').consequence).toBe('no builders: the fleet was lost and none was launched');
  });
});

describe('settings_change', () => {
  const CONTEXTS = ', uses_contexts: true';
  const TARBALLS = '{ strategy: tarball, every: 1h }';
  const CHANGE = '{ at: 2h20m, kind: settings_change, breaks: contexts }';

  it('jobs using contexts fail until the tarball from before the change is restored in place; what was written since is moved aside', () => {
    const r = rehearse(TARBALLS, CHANGE, '{ runbook: restore-tarball-in-place, after: 30m }', CONTEXTS);
    expect(r.dr.settings).toEqual({ broken: 'contexts', builds_failed: expect.any(Number), restored: true });
    expect(r.dr.settings!.builds_failed).toBeGreaterThan(0);
    expect(r.webhooks_dropped).toBe(0);
    expect(r.rpo_ms).toBe(20 * 60_000);
    expect(r.dr.records_lost_at_restore).toBeGreaterThan(0);
    expect(r.builds.lost).toBe(r.dr.records_lost_at_restore);
    // The RTO ends with the first success of a job the change broke, after the restore.
    const restore = step(r, 'restore_tarball');
    expect(r.rto_ms!).toBeGreaterThanOrEqual(restore.started_at_ms + restore.duration_ms - r.dr.disaster.at_ms);
    // Backups taken after the change hold it: the restore uses the one before.
    expect(r.dr.backups.list.map((b) => b.usable)).toEqual([true, true, false, false]);
    expect(r.ledger.conserved).toBe(true);
  });

  it('not restored: the settings stay changed, every later job using contexts fails, no RTO', () => {
    const r = rehearse(TARBALLS, CHANGE, '{ runbook: restore-tarball-in-place, after: 30m, skip: [download_backup, restore_tarball] }', CONTEXTS);
    const full = rehearse(TARBALLS, CHANGE, '{ runbook: restore-tarball-in-place, after: 30m }', CONTEXTS);
    expect(r.rto_ms).toBeNull();
    expect(r.dr.settings!.restored).toBe(false);
    expect(r.dr.settings!.builds_failed).toBeGreaterThan(3 * full.dr.settings!.builds_failed);
    expect(step(r, 'restore_tarball').consequence).toMatch(/^the settings stayed changed: \d+ builds failed/);
  });

  it('a project_settings change touches the given share of projects: more builds fail with a larger share', () => {
    const few = rehearse(TARBALLS, '{ at: 2h20m, kind: settings_change, breaks: project_settings, share: 0.1 }', '{ runbook: restore-tarball-in-place, after: 30m }');
    const all = rehearse(TARBALLS, '{ at: 2h20m, kind: settings_change, breaks: project_settings }', '{ runbook: restore-tarball-in-place, after: 30m }');
    expect(all.dr.settings!.builds_failed).toBeGreaterThan(3 * few.dr.settings!.builds_failed);
    expect(few.dr.settings!.builds_failed).toBeGreaterThan(0);
  });

  it('an EBS restore at the same IP is refused while the running machine holds it', () => {
    const r = rehearse(HOURLY, CHANGE, '{ runbook: restore-from-ebs, after: 30m }', CONTEXTS);
    expect(step(r, 'launch_instance').consequence).toMatch(/^RunInstances refused: 10\.0\.1\.10 is in use by the running Services machine/);
    expect(r.rto_ms).toBeNull();
  });
});

describe('builder rotation', () => {
  it('after a same-IP restore, rotating builders retries the builds running on them; the ledger holds', () => {
    const plain = rehearse(HOURLY, '{ at: 3h10m, kind: services_machine_terminated }', '{ runbook: restore-from-ebs, after: 5m }');
    const r = rehearse(HOURLY, '{ at: 3h10m, kind: services_machine_terminated }', '{ runbook: restore-from-ebs, then: [reassociate-builders], after: 5m }');
    expect(plain.builds.retried).toBe(0);
    expect(plain.dr.builders_reconnected).toBe(6);
    expect(r.builds.retried).toBeGreaterThan(0);
    expect(r.dr.builders_reach_services).toBe(true);
    expect(r.ledger.conserved).toBe(true);
  });
});

describe('backups', () => {
  it('each backup has its size, duration and age; the first EBS snapshot copies the used volume, the next only changes', () => {
    const r = rehearse(HOURLY, '{ at: 3h10m, kind: services_machine_terminated }', '{ runbook: restore-from-ebs, after: 5m }');
    const [first, second, third] = r.dr.backups.list;
    expect(first!.size_bytes).toBe(88_000_000_000);
    expect(second!.size_bytes).toBeLessThan(first!.size_bytes / 100);
    expect(second!.duration_ms).toBeLessThan(first!.duration_ms);
    expect(third!.age_ms).toBe(600_000);
    expect(first!.age_ms).toBe(130 * 60_000);
    expect(third!.note).toMatch(/^the newest restorable/);
  });

  it('recommends the longest interval whose worst-case RPO meets recovery.rpo_tolerance', () => {
    const r = rehearse(HOURLY, '{ at: 3h10m, kind: services_machine_terminated }', '{ runbook: restore-from-ebs, after: 5m, rpo_tolerance: 20m }');
    const rec = r.dr.recommendation!;
    expect(rec.every_ms).toBe(15 * 60_000);
    expect(rec.worst_rpo_ms!).toBeLessThanOrEqual(20 * 60_000);
    expect(rec.current_meets).toBe(false);
    const twenty = rec.candidates.find((c) => c.every_ms === 20 * 60_000)!;
    expect(twenty.meets).toBe(false);
    expect(twenty.worst_rpo_ms!).toBeGreaterThan(20 * 60_000);
    // At the tolerance exactly an interval meets it; a millisecond less and the next shorter one is recommended.
    const worst15 = `${rec.worst_rpo_ms}`;
    const at = rehearse(HOURLY, '{ at: 3h10m, kind: services_machine_terminated }', `{ runbook: restore-from-ebs, after: 5m, rpo_tolerance: ${worst15} }`);
    expect(at.dr.recommendation!.every_ms).toBe(15 * 60_000);
    const below = rehearse(HOURLY, '{ at: 3h10m, kind: services_machine_terminated }', `{ runbook: restore-from-ebs, after: 5m, rpo_tolerance: ${Number(worst15) - 1} }`);
    expect(below.dr.recommendation!.every_ms).toBe(10 * 60_000);
    // A replica has no interval: its lag is its RPO.
    const replica = rehearse('{ strategy: replica, lag: 6m }', '{ at: 3h10m, kind: az_outage }', '{ runbook: cold-failover, after: 5m, rpo_tolerance: 5m }');
    expect(replica.dr.recommendation).toEqual(expect.objectContaining({ every_ms: null, worst_rpo_ms: 360_000, current_meets: false, candidates: [] }));
  });
});
