import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../main.ts';
import { captureIo as capture } from '../capture-io.ts';
import { loadScenarioFile } from '../../scenario/load.ts';
import { checkDrSections, checkLiveDr } from './dr.ts';
import { tempDirs } from '../../test-temp.ts';

const tempDir = tempDirs('twin-dr-');

const SCENARIO = 'scenarios/dr/ebs-snapshot-restore.yaml';

/** `twin dr FILE --mode live` refused with exit 2, nothing written: its stderr. */
async function refusedLive(file: string, out: string): Promise<string> {
  const c = capture();
  expect(await main(['dr', file, '--mode', 'live', '--out', out], c.io)).toBe(2);
  expect(existsSync(out)).toBe(false);
  return c.stderr;
}

describe('twin dr', () => {
  it('writes dr-report.json, report.md and junit.xml, byte-identical for the same seed', async () => {
    const dir = tempDir();
    const c = capture();
    expect(await main(['dr', SCENARIO, '--out', join(dir, 'a'), '-q'], c.io)).toBe(0);
    expect(c.stdout).toMatch(/^PASS ebs-snapshot-restore: RTO /);
    expect(await main(['dr', SCENARIO, '--out', join(dir, 'b'), '-q'], capture().io)).toBe(0);
    for (const f of ['dr-report.json', 'report.md', 'junit.xml']) expect(readFileSync(join(dir, 'b', f), 'utf8'), f).toBe(readFileSync(join(dir, 'a', f), 'utf8'));
    const r = JSON.parse(readFileSync(join(dir, 'a', 'dr-report.json'), 'utf8'));
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['scenario', 'builds', 'queue_time_ms', 'data_loss', 'faults', 'observed_severity', 'expectations', 'replay', 'rto_ms', 'rpo_ms', 'webhooks_dropped', 'runbook']));
    expect(r.runbook[0]).toEqual(expect.objectContaining({ step: 'register_image', status: 'done' }));
    expect(readFileSync(join(dir, 'a', 'report.md'), 'utf8')).toContain("the seeds' fail-over target");
  });

  it('exits 1 when an expectation fails, with the replay command', async () => {
    const dir = tempDir();
    const file = join(dir, 'tight.yaml');
    writeFileSync(file, readFileSync(SCENARIO, 'utf8').replace('{ metric: rto_ms, max: 30m }', '{ metric: rto_ms, max: 1m }'));
    const c = capture();
    expect(await main(['dr', file, '--out', join(dir, 'out'), '-q'], c.io)).toBe(1);
    expect(c.stdout).toContain('✗ rto_ms max 60000');
    expect(c.stdout).toContain(`Rerun: twin dr ${file} --seed 13`);
  });

  it('takes --mode live of a tarball backup; refuses an unknown skipped step and a scenario without DR sections with exit 2, writing nothing', async () => {
    const dir = tempDir();
    const tarball = loadScenarioFile('scenarios/dr/tarball-backup-restore.yaml', { mode: 'live', command: 'dr' });
    expect(() => checkLiveDr(tarball, checkDrSections(tarball))).not.toThrow();
    const skip = join(dir, 'skip.yaml');
    writeFileSync(skip, readFileSync(SCENARIO, 'utf8').replace('skip: []', 'skip: [wipe_nomad]'));
    const s = capture();
    expect(await main(['dr', skip, '--out', join(dir, 'skip')], s.io)).toBe(2);
    expect(s.stderr).toContain('recovery.skip[0]: runbook restore-from-ebs has no step `wipe_nomad`');
    writeFileSync(skip, readFileSync(SCENARIO, 'utf8').replace('skip: []', 'skip: [stop_app], order: [launch_image]'));
    const o = capture();
    expect(await main(['dr', skip, '--out', join(dir, 'skip')], o.io)).toBe(2);
    expect(o.stderr).toContain('recovery.order[0]: runbook restore-from-ebs has no step `launch_image`');
    const faults = join(dir, 'faults.yaml');
    writeFileSync(faults, readFileSync(SCENARIO, 'utf8').replace('backups:', 'faults: [{ at: 1h, action: kill, target: rabbitmq }]\nbackups:'));
    const f = capture();
    expect(await main(['dr', faults, '--out', join(dir, 'faults')], f.io)).toBe(2);
    expect(f.stderr).toContain('faults: a DR rehearsal does not apply `faults`');
    const vm = join(dir, 'vm.yaml');
    writeFileSync(vm, readFileSync(SCENARIO, 'utf8').replace('topology:\n', 'topology:\n  vm_service: { boot_time: 2m }\n'));
    const v = capture();
    expect(await main(['dr', vm, '--out', join(dir, 'vm')], v.io)).toBe(2);
    expect(v.stderr).toContain('topology.vm_service.boot_time: a DR rehearsal does not model vm-service capacity');
    const plain = capture();
    expect(await main(['dr', 'scenarios/quiet-night.yaml', '--out', join(dir, 'plain')], plain.io)).toBe(2);
    expect(plain.stderr).toContain('a DR rehearsal needs `backups`');
    for (const d of ['live', 'skip', 'faults', 'vm', 'plain']) expect(existsSync(join(dir, d))).toBe(false);
  });

  it('a DR scenario validates with its DR paths; a scenario without DR sections may not name them', async () => {
    expect(await main(['validate', SCENARIO], capture().io)).toBe(0);
    const dir = tempDir();
    const file = join(dir, 'plain.yaml');
    writeFileSync(file, `${readFileSync('scenarios/quiet-night.yaml', 'utf8')}  - { metric: rpo_ms, max: 1h }\n`);
    const c = capture();
    expect(await main(['validate', file], c.io)).toBe(2);
    expect(c.stderr).toContain('unknown metric `rpo_ms`');
  });
});

describe('scenarios/dr', () => {
  it('every DR scenario passes its own expectations under twin dr', async () => {
    const dir = tempDir();
    const files = readdirSync('scenarios/dr').filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['cold-failover-az-outage.yaml', 'settings-change-rollback.yaml', 'ebs-snapshot-restore.yaml', 'tarball-backup-restore.yaml']));
    for (const f of files) {
      const c = capture();
      // A liveness bound, not a benchmark (bench/dr.ts measures): each runs its hours of virtual time in seconds.
      const t0 = performance.now();
      expect(await main(['dr', join('scenarios/dr', f), '--out', join(dir, f), '-q'], c.io), `${f}: ${c.stdout}`).toBe(0);
      expect(performance.now() - t0, f).toBeLessThan(15_000);
      const r = JSON.parse(readFileSync(join(dir, f, 'dr-report.json'), 'utf8'));
      // Each states what it expects of RTO, RPO, the losses and the runbook's compliance.
      const metrics: string[] = r.expectations.map((e: { metric: string }) => e.metric);
      expect(metrics, f).toEqual(expect.arrayContaining(['rto_ms', 'rpo_ms']));
      expect(metrics.some((m) => /^(builds\.(lost|stuck)|data_loss\.)/.test(m)), f).toBe(true);
      expect(metrics.some((m) => /^(runbook\.\d+\.status|dr\.skipped_steps)$/.test(m)), f).toBe(true);
    }
  });

  it('refuses the new disasters and sim-only runbooks in live mode with a hint, and bad DR sections with located errors', async () => {
    const dir = tempDir();
    // A region outage is rehearsed live with EBS snapshots copied to another region: without the copy, or with tarballs, refused.
    const region = readFileSync('scenarios/dr/region-outage-copied-snapshots.yaml', 'utf8');
    const uncopied = join(dir, 'region-uncopied.yaml');
    writeFileSync(uncopied, region.replace(', copy: { region: us-west-2, takes: 20m } }', ' }'));
    expect(await refusedLive(uncopied, join(dir, 'live'))).toContain('backups.copy: live, `region_outage` is rehearsed with EBS snapshots copied to another region (here: ebs_snapshot backups without `copy`)');
    const replica = join(dir, 'region-replica.yaml');
    writeFileSync(replica, region.replace('backups: { strategy: ebs_snapshot, every: 1h, copy: { region: us-west-2, takes: 20m } }', 'backups: { strategy: replica, lag: 30s }'));
    const refused = await refusedLive(replica, join(dir, 'live'));
    expect(refused).toContain('backups.strategy: live, `region_outage` is rehearsed with EBS snapshots copied to another region (here: replica backups)');
    // The builders are rotated live after an EBS snapshot restore; after a tarball restore, not yet.
    const rotateAfterTarball = join(dir, 'rotate-tarball.yaml');
    writeFileSync(rotateAfterTarball, readFileSync('scenarios/dr/ebs-restore-new-ip-rotate-builders.yaml', 'utf8').replace('backups: { strategy: ebs_snapshot, every: 1h }', 'backups: { strategy: tarball, every: 1h }').replace('runbook: restore-from-ebs,', 'runbook: restore-from-tarball,').replace(', skip: [reassign_private_ip]', ''));
    expect(await refusedLive(rotateAfterTarball, join(dir, 'live'))).toContain("recovery.then: the builders' re-association (get_secret_token, update_launch_configuration, rotate_builders) is rehearsed live after an EBS snapshot restore only (here: tarball backups)");
    // Live, a replica fails over when its zone is lost; an az_outage with snapshots (or a replica with another disaster) is refused.
    const azWithSnapshots = join(dir, 'az-ebs.yaml');
    writeFileSync(azWithSnapshots, readFileSync(SCENARIO, 'utf8').replace('kind: services_machine_terminated }', 'kind: az_outage }'));
    expect(await refusedLive(azWithSnapshots, join(dir, 'live'))).toContain('backups.strategy: live, `az_outage` is rehearsed with a replica and a replica with `az_outage` (here: ebs_snapshot backups, az_outage)');
    const cases: [string, string, string][] = [
      ['backups: { strategy: ebs_snapshot, every: 1h }', 'backups: { strategy: replica, every: 1h }', 'backups.every: a replica is kept in sync continuously'],
      ['backups: { strategy: ebs_snapshot, every: 1h }', 'backups: { strategy: replica }', 'backups: a replica needs its replication `lag`'],
      ['backups: { strategy: ebs_snapshot, every: 1h }', 'backups: { strategy: ebs_snapshot }', 'backups: ebs_snapshot backups need their interval `every`'],
      ['kind: services_machine_terminated }', 'kind: settings_change }', 'disaster: a settings_change needs what it `breaks`'],
      ['kind: services_machine_terminated }', 'kind: settings_change, breaks: contexts }', 'disaster.breaks: no job of the workload uses contexts'],
      ['kind: services_machine_terminated }', 'kind: az_outage, breaks: contexts }', "disaster.breaks: `breaks` is a settings_change's, not a az_outage's"],
      ['kind: services_machine_terminated }', 'kind: settings_change, breaks: contexts, share: 0.5 }', 'disaster.share: `share` is the share of projects'],
      ['backups: { strategy: ebs_snapshot, every: 1h }\ndisaster: { at: 3h10m, kind: services_machine_terminated }', 'backups: { strategy: replica, lag: 1m }\ndisaster: { at: 3h10m, kind: ebs_corruption }', 'backups.strategy: a replica replicates the corrupted blocks'],
      ['skip: [] }', 'skip: [], then: [restore-from-ebs] }', 'recovery.then: the chained runbooks repeat the step names register_image'],
      ['skip: [] }', 'skip: [], then: [reassociate-builder] }', 'no runbook `reassociate-builder`; did you mean `reassociate-builders`?'],
      ['skip: [] }', 'skip: [], rpo_tolerance: soon }', 'recovery.rpo_tolerance'],
      ['every: 1h }', 'every: 1h, copy: { region: west, takes: 10m } }', 'backups.copy.region'],
    ];
    for (const [from, to, message] of cases) {
      const file = join(dir, 'bad.yaml');
      const text = readFileSync(SCENARIO, 'utf8').replace(from, to);
      expect(text, to).not.toBe(readFileSync(SCENARIO, 'utf8'));
      writeFileSync(file, text);
      const c = capture();
      expect(await main(['dr', file, '--out', join(dir, 'bad')], c.io), to).toBe(2);
      expect(c.stderr, to).toContain(message);
      expect(existsSync(join(dir, 'bad')), to).toBe(false);
    }
  });
});

describe('twin dr --mode live: the disaster kinds done live', () => {
  it('takes ebs_corruption and settings_change (breaks: contexts or project_settings) with EBS snapshots, and a settings change restored from a tarball in place; refuses a corrupted volume with tarballs', async () => {
    const { checkLiveDr, checkDrSections } = await import('./dr.ts');
    const { loadScenarioFile } = await import('../../scenario/load.ts');
    const live = (f: string) => loadScenarioFile(f, { mode: 'live', command: 'dr' });
    for (const f of ['scenarios/dr/ebs-corruption-new-ip.yaml', 'scenarios/dr/settings-change-rollback.yaml', 'scenarios/dr/settings-change-project-settings.yaml']) {
      const s = live(f);
      expect(() => checkLiveDr(s, checkDrSections(s)), f).not.toThrow();
    }
    const dir = tempDir();
    // Live tarballs restore a terminated Services machine, or a settings change in place; a corrupted volume with tarballs is refused live.
    const inPlace = live('scenarios/dr/settings-change-tarball-in-place.yaml');
    expect(() => checkLiveDr(inPlace, checkDrSections(inPlace))).not.toThrow();
    const file = join(dir, 'corrupt-tar.yaml');
    writeFileSync(file, readFileSync('scenarios/dr/ebs-corruption-new-ip.yaml', 'utf8').replace(/backups: \{ strategy: ebs_snapshot,/, 'backups: { strategy: tarball,').replace(/runbook: restore-from-ebs/, 'runbook: restore-from-tarball'));
    expect(await refusedLive(file, join(dir, 'tar'))).toContain('disaster.kind: `ebs_corruption` is rehearsed live with EBS snapshots, not tarballs (live tarballs restore a terminated Services machine, or a settings change in place)');
  });
});

describe('twin run and DR sections', () => {
  it('twin run refuses backups, disaster and recovery with a pointer to twin dr (exit 2)', async () => {
    const c = capture();
    expect(await main(['run', SCENARIO, '--out', join(tempDir(), 'x'), '-q'], c.io)).toBe(2);
    expect(c.stderr).toContain('`disaster` belongs to a disaster-recovery rehearsal');
    expect(c.stderr).toContain(`hint: run it with \`twin dr ${SCENARIO}\``);
  });
});
