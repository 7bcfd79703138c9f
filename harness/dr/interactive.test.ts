import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';
import { captureIo as capture } from '../cli/capture-io.ts';
import { parseCliArgs } from '../cli/args.ts';

/** `twin dr --script` (the non-interactive replay of `--interactive`) through the CLI: its flags, files and refusals. */

const SCENARIO = 'scenarios/dr/ebs-snapshot-restore.yaml';
const tmp = () => mkdtempSync(join(tmpdir(), 'twin-dr-script-'));

describe('twin dr --interactive / --script', () => {
  it('takes --interactive and --script for dr only', () => {
    expect(parseCliArgs(['dr', SCENARIO, '--interactive'])).toMatchObject({ command: 'dr', interactive: true });
    expect(parseCliArgs(['dr', SCENARIO, '--script', 's.txt'])).toMatchObject({ command: 'dr', script: 's.txt' });
    expect(() => parseCliArgs(['run', SCENARIO, '--interactive'])).toThrow('option --interactive does not apply to `twin run`');
  });

  it('replays a session: the transcript on stdout, dr-report.json with the typed steps, session.txt and transcript.md', async () => {
    const out = join(tmp(), 'out');
    const c = capture();
    expect(await main(['dr', SCENARIO, '--script', 'harness/dr/sessions/skips-nomad-wipe.txt', '--out', out], c.io)).toBe(1);
    expect(c.stdout).toContain('admin@dr-rehearsal:~$ sudo replicated app 2a7f3c1d9e8b4f60a1c2d3e4f5a6b7c8 start\n  → step 7: start_app done');
    expect(c.stdout).toMatch(/skipped wipe_nomad_state: the restored \/opt\/nomad kept 10 stale allocations/);
    const report = JSON.parse(readFileSync(join(out, 'dr-report.json'), 'utf8'));
    expect(report.runbook.map((s: { step: string; status: string }) => `${s.step}:${s.status}`)).toEqual([
      'register_image:done', 'launch_instance:done', 'reassign_private_ip:done', 'stop_app:done', 'check_hostname:done', 'update_replicated_ips:done', 'start_app:done', 'cleanup_stuck_builds:done', 'wipe_nomad_state:skipped',
    ]);
    expect(report.dr.recovery).toMatchObject({ skip: ['wipe_nomad_state'], new_private_ip: true });
    const typed = readFileSync('harness/dr/sessions/skips-nomad-wipe.txt', 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(readFileSync(join(out, 'session.txt'), 'utf8')).toBe(`${typed.join('\n')}\n`);
    const md = readFileSync(join(out, 'transcript.md'), 'utf8');
    expect(md).toContain('| wipe_nomad_state | skipped | the restored /opt/nomad kept 10 stale allocations');
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

  it('refuses --interactive with --mode live, a disaster the shell does not model (az_outage, cold-failover), and a script it cannot read, with exit 2 and nothing written', async () => {
    const dir = tmp();
    const live = capture();
    expect(await main(['dr', SCENARIO, '--interactive', '--mode', 'live', '--out', join(dir, 'a')], live.io)).toBe(2);
    expect(live.stderr).toContain('the interactive rehearsal runs in the simulation only');
    const missing = capture();
    expect(await main(['dr', SCENARIO, '--script', join(dir, 'nope.txt'), '--out', join(dir, 'b')], missing.io)).toBe(2);
    expect(missing.stderr).toContain(`cannot read the script ${join(dir, 'nope.txt')}`);
    const az = capture();
    expect(await main(['dr', 'scenarios/dr/cold-failover-az-outage.yaml', '--interactive', '--out', join(dir, 'c')], az.io)).toBe(2);
    expect(az.stderr).toContain('disaster.kind');
    expect(az.stderr).toContain('rehearse it without --interactive / --script');
    expect(az.stderr).toContain("the interactive rehearsal's shell models a terminated Services machine, not `az_outage`");
    expect(az.stderr).toContain('runbook cold-failover has steps no command of the interactive shell does yet: confirm_primary_dead');
    expect(existsSync(join(dir, 'a')) || existsSync(join(dir, 'b')) || existsSync(join(dir, 'c'))).toBe(false);
  });
});
