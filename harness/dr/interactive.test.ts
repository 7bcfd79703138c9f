import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../cli/main.ts';
import { captureIo as capture } from '../cli/capture-io.ts';
import { parseCliArgs } from '../cli/args.ts';
import { tempDirs } from '../test-temp.ts';

const tempDir = tempDirs('twin-dr-script-');

/** `twin dr --script` (the non-interactive replay of `--interactive`) through the CLI: its flags, files and refusals. */

const SCENARIO = 'scenarios/dr/ebs-snapshot-restore.yaml';
const tmp = () => tempDir();

describe('twin dr --interactive / --script', () => {
  it('takes --interactive and --script for dr only', () => {
    expect(parseCliArgs(['dr', SCENARIO, '--interactive'])).toMatchObject({ command: 'dr', interactive: true });
    expect(parseCliArgs(['dr', SCENARIO, '--script', 's.txt'])).toMatchObject({ command: 'dr', script: 's.txt' });
    expect(() => parseCliArgs(['run', SCENARIO, '--interactive'])).toThrow('option --interactive does not apply to `twin run`');
  });

  it('replays a session: the transcript on stdout, dr-report.json with the typed steps, session.txt and transcript.md', async () => {
    const out = join(tmp(), 'out');
    const c = capture();
    // At a new private IP the builders cannot reach the restored machine at its boot: their Nomad clients go down and the
    // stale allocations are lost with them (the rule both runtimes apply), so the skipped wipe costs nothing here.
    expect(await main(['dr', SCENARIO, '--script', 'harness/dr/sessions/skips-nomad-wipe.txt', '--out', out], c.io)).toBe(0);
    expect(c.stdout).toContain('admin@dr-rehearsal:~$ sudo replicated app 2a7f3c1d9e8b4f60a1c2d3e4f5a6b7c8 start\n  → step 7: start_app done');
    expect(c.stdout).toContain('skipped wipe_nomad_state: the restored /opt/nomad brought back 10 stale allocations; none held the fleet at the end: they were lost when the Nomad clients went down (the builders could not reach the machine after its boot)');
    const report = JSON.parse(readFileSync(join(out, 'dr-report.json'), 'utf8'));
    expect(report.runbook.map((s: { step: string; status: string }) => `${s.step}:${s.status}`)).toEqual([
      'register_image:done', 'launch_instance:done', 'reassign_private_ip:done', 'stop_app:done', 'check_hostname:done', 'update_replicated_ips:done', 'start_app:done', 'cleanup_stuck_builds:done', 'wipe_nomad_state:skipped',
    ]);
    expect(report.dr.recovery).toMatchObject({ skip: ['wipe_nomad_state'], new_private_ip: true });
    const typed = readFileSync('harness/dr/sessions/skips-nomad-wipe.txt', 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(readFileSync(join(out, 'session.txt'), 'utf8')).toBe(`${typed.join('\n')}\n`);
    const md = readFileSync(join(out, 'transcript.md'), 'utf8');
    expect(md).toContain('| wipe_nomad_state | skipped | the restored /opt/nomad brought back 10 stale allocations; none held the fleet');
    expect(md).toMatch(/\| 3h15m \| `aws ec2 describe-snapshots --filters "Name=description,Values=CircleCI\*" \\\| grep SnapshotId` \| 0 \| {2}\|/);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
  });

  it('says which recovery settings of the file the typed steps replace (restore-skips-nomad-wipe skips a step)', async () => {
    const dir = tmp();
    const script = join(dir, 's.txt');
    writeFileSync(script, 'done\n');
    const c = capture();
    expect(await main(['dr', 'scenarios/dr/restore-skips-nomad-wipe.yaml', '--script', script, '--out', join(dir, 'out')], c.io)).toBe(1);
    expect(c.stderr).toContain('twin: --interactive: the steps you type replace recovery.skip [wipe_nomad_state] of scenarios/dr/restore-skips-nomad-wipe.yaml');
    expect(c.stdout).toContain('RTO never (not recovered)');
  });

  it('rehearses a tarball restore: a clean install, the tarball downloaded and restored; the clean-up skipped leaves builds Running', async () => {
    const dir = tmp();
    const script = join(dir, 's.txt');
    writeFileSync(script, ['aws s3 ls s3://circleci-backups/', 'aws ec2 run-instances --image-id ami-0c1rc1e5e7v2196c1 --private-ip-address 10.0.1.10', 'sudo circleci-restore ./backup.tar.bz2', 'aws s3 cp s3://circleci-backups/030000/circleci-data-export.tar.bz2 ./backup.tar.bz2', 'sudo circleci-restore ./backup.tar.bz2', 'done'].join('\n'));
    const c = capture();
    expect(await main(['dr', 'scenarios/dr/tarball-backup-restore.yaml', '--script', script, '--out', join(dir, 'out')], c.io)).toBe(1);
    expect(c.stdout).toContain('2026-01-05 03:00:00   52428800 030000/circleci-data-export.tar.bz2');
    expect(c.stdout).toContain('circleci-restore: ./backup.tar.bz2: No such file (download it first');
    expect(c.stdout).toMatch(/step 3: restore_tarball done .*circleci-restore loaded \d+ build records/);
    expect(c.stdout).toMatch(/^FAIL tarball-backup-restore: .* 10 stuck\), .* runbook 3 done, 1 skipped/m);
    expect(c.stdout).toContain('  skipped cleanup_stuck_builds: 10 build records left Running or queued\n  ✗ builds.stuck equals 0: got 10');
  });

  it('refuses --interactive with --mode live beyond the EBS restore of a terminated machine and the cold fail-over to a replica, a disaster the shell does not model (ebs_corruption), and a script it cannot read, with exit 2 and nothing written', async () => {
    const dir = tmp();
    // Live, the typed rehearsal is wired for services_machine_terminated with EBS snapshots and az_outage with a replica (harness/dr/live-interactive.ts).
    const tarball = capture();
    expect(await main(['dr', 'scenarios/dr/tarball-backup-restore.yaml', '--script', 'harness/dr/sessions/full-restore.txt', '--mode', 'live', '--out', join(dir, 'a')], tarball.io)).toBe(2);
    expect(tarball.stderr).toContain('backups.strategy: live, `services_machine_terminated` is typed with ebs_snapshot backups, not `tarball` yet (the live typed rehearsal takes the EBS restore of a terminated Services machine (services_machine_terminated with ebs_snapshot backups) and the cold fail-over to a replica (az_outage with replica backups))');
    expect(tarball.stderr).toContain('type it in the simulation (drop --mode live), or let the runbook run it live (drop --interactive / --script)');
    expect(existsSync(join(dir, 'a'))).toBe(false);
    const missing = capture();
    expect(await main(['dr', SCENARIO, '--script', join(dir, 'nope.txt'), '--out', join(dir, 'b')], missing.io)).toBe(2);
    expect(missing.stderr).toContain(`cannot read the script ${join(dir, 'nope.txt')}`);
    const corrupt = capture();
    expect(await main(['dr', 'scenarios/dr/ebs-corruption-new-ip.yaml', '--interactive', '--out', join(dir, 'c')], corrupt.io)).toBe(2);
    expect(corrupt.stderr).toContain('disaster.kind');
    expect(corrupt.stderr).toContain('rehearse it without --interactive / --script');
    expect(corrupt.stderr).toContain("the interactive rehearsal's shell models a Services machine terminated or cut off in its zone (services_machine_terminated, az_outage), not `ebs_corruption`");
    expect(existsSync(join(dir, 'a')) || existsSync(join(dir, 'b')) || existsSync(join(dir, 'c'))).toBe(false);
  });

  /** A session file without some of its lines (a step not done), written to a temporary script. */
  const without = (session: string, drop: RegExp) => {
    const file = join(tmp(), 's.txt');
    writeFileSync(file, readFileSync(`harness/dr/sessions/${session}`, 'utf8').split('\n').filter((l) => !drop.test(l)).join('\n'));
    return file;
  };

  it('cold fail-over (az_outage, a replica): the seeds\' steps typed pass the scenario; without re-associating the IP, builders never reach the replica', async () => {
    const dir = tmp();
    const c = capture();
    expect(await main(['dr', 'scenarios/dr/cold-failover-az-outage.yaml', '--script', 'harness/dr/sessions/cold-failover.txt', '--out', join(dir, 'full')], c.io)).toBe(0);
    expect(c.stdout).toMatch(/"Status": "impaired",\n {2}→ step 1: confirm_primary_dead done at 03:17:46 .*confirmed down/);
    expect(c.stdout).toContain('→ step 2: reassign_private_ip done at 03:18:15 (took 00:00:28): 10.0.1.10 re-associated to the replica as a secondary IP');
    expect(c.stdout).toMatch(/step 3: start_app done .*app started; builders reach the Services machine/);
    expect(c.stdout).toMatch(/^PASS cold-failover-az-outage: RTO .*RPO 30 s; .*runbook 4 done/m);
    const skip = capture();
    expect(await main(['dr', 'scenarios/dr/cold-failover-az-outage.yaml', '--script', without('cold-failover.txt', /assign-private-ip-addresses/), '--out', join(dir, 'skip')], skip.io)).toBe(1);
    expect(skip.stdout).toMatch(/step 2: start_app done .*app started, but builders cannot reach the Services machine \(it requires reassign_private_ip, not done yet/);
    expect(skip.stdout).toMatch(/^FAIL cold-failover-az-outage: RTO never \(not recovered\)/m);
    expect(skip.stdout).toMatch(/ {2}skipped reassign_private_ip: builders dial 10\.0\.1\.10, which no instance holds: they cannot reach the Services machine; \d+ builds never placed/);
    const report = JSON.parse(readFileSync(join(dir, 'skip', 'dr-report.json'), 'utf8'));
    expect(report.runbook.map((s: { step: string; status: string }) => `${s.step}:${s.status}`)).toEqual(['confirm_primary_dead:done', 'start_app:done', 'cleanup_stuck_builds:done', 'reassign_private_ip:skipped']);
  });

  it('a new private IP: builders rotated onto it with the secret token pass the scenario; without reading the token, the rotated builders cannot register', async () => {
    const dir = tmp();
    const scenario = 'scenarios/dr/ebs-restore-new-ip-rotate-builders.yaml';
    const c = capture();
    expect(await main(['dr', scenario, '--script', 'harness/dr/sessions/new-ip-rotate-builders.txt', '--out', join(dir, 'full')], c.io)).toBe(0);
    expect(c.stdout).toContain('→ step 10: update_launch_configuration done at 03:31:19 (took 00:01:58): the builders\' launch configuration now names SERVICES_PRIVATE_IP=10.0.1.77 with CIRCLE_SECRET_PASSPHRASE');
    expect(c.stdout).toMatch(/step 11: rotate_builders done .*6 builders replaced, dialling 10\.0\.1\.77; .*they register with the Services machine/);
    expect(c.stdout).toMatch(/^PASS ebs-restore-new-ip-rotate-builders: RTO .*runbook 11 done, 1 skipped/m);
    const skip = capture();
    expect(await main(['dr', scenario, '--script', without('new-ip-rotate-builders.txt', /get-secret-token|^export CIRCLE_SECRET_PASSPHRASE/), '--out', join(dir, 'skip')], skip.io)).toBe(1);
    expect(skip.stdout).toMatch(/step 9: update_launch_configuration done .*SERVICES_PRIVATE_IP=10\.0\.1\.77 without CIRCLE_SECRET_PASSPHRASE \(the token was not read\) \(it requires get_secret_token, not done yet/);
    expect(skip.stdout).toMatch(/step 10: rotate_builders done .*dialling 10\.0\.1\.77; .*they cannot register with the Services machine \(no CIRCLE_SECRET_PASSPHRASE for a new address\)/);
    expect(skip.stdout).toContain('  skipped get_secret_token: builders dial 10.0.1.77 without CIRCLE_SECRET_PASSPHRASE and cannot register with the Services machine at 10.0.1.77');
    // Not re-associating the old IP is not why (the new builders dial the new one): the consequence says so.
    expect(skip.stdout).toContain('  skipped reassign_private_ip: none of its own: builders dial 10.0.1.77, which the instance holds and replicated names; they cannot reach it because they dial a new address without its CIRCLE_SECRET_PASSPHRASE');
    expect(skip.stdout).toContain('  ✗ dr.builders_reach_services equals true: got false');
  });
});
