/**
 * `twin dr scenarios/dr/ebs-snapshot-restore.yaml --mode live --script <session>` through the CLI: the live stack
 * destroyed as without --script, then the admin's session (the simulation's sessions, in the rehearsal's names)
 * replayed against it, each step done for real: the real AWS CLI against the rehearsal's EC2 endpoint, the Services
 * machine's commands on the restored machine. Ports at +26000 (TWIN_DR_PORT_OFFSET).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';
import { captureIo } from '../cli/capture-io.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { TmuxTerminal } from './interactive-tty.ts';

const SCENARIO = 'scenarios/dr/ebs-snapshot-restore.yaml';
const PORT_OFFSET = '26000';
const typedLines = (file: string) => readFileSync(`harness/dr/sessions/${file}`, 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

interface Step {
  step: string;
  status: string;
  consequence: string;
}

/** The CLI as a user runs it, with the session replayed; its exit, stdout and the files it wrote. */
async function replay(session: string, scenario = SCENARIO) {
  const out = join(mkdtempSync(join(tmpdir(), 'twin-dr-live-script-')), 'out');
  const c = captureIo();
  const exit = await main(['dr', scenario, '--mode', 'live', '--script', session.includes('/') ? session : `harness/dr/sessions/${session}`, '--out', out], c.io);
  process.stderr.write(c.stderr);
  const report = JSON.parse(readFileSync(join(out, 'dr-report.json'), 'utf8')) as {
    mode: string;
    passed: boolean;
    replay: string;
    runbook: Step[];
    dr: { stale_allocations_restored: number; stale_allocations_at_end: number; builders_reconnected: number; recovery: { skip: string[]; new_private_ip: boolean }; timeline: { event: string }[] };
    rpo_ms: number | null;
    live: { services_instance: { old: { id: string; private_ip: string }; new: { id: string; private_ip: string } }; snapshot: { id: string }; replica?: { instance: string; private_ip: string; zone: string; primary_zone: string } };
  };
  return { exit, stdout: c.stdout, report, session: readFileSync(join(out, 'session.txt'), 'utf8'), transcript: readFileSync(join(out, 'transcript.md'), 'utf8') };
}

describe('twin dr --mode live --script', () => {
  const saved = process.env.TWIN_DR_PORT_OFFSET;
  beforeAll(() => {
    process.env.TWIN_DR_PORT_OFFSET = PORT_OFFSET;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TWIN_DR_PORT_OFFSET;
    else process.env.TWIN_DR_PORT_OFFSET = saved;
  });

  it('full-restore.txt: each typed step done for real (the AWS CLI against the endpoint, the machine\'s commands on the restored machine), recorded as typed; the rehearsal passes', async () => {
    const r = await replay('full-restore.txt');
    const live = r.report.live;
    const { old, new: restored } = live.services_instance;
    // The real AWS CLI's output: the live snapshot, AMI, instance and ENI ids, not the simulation's.
    expect(r.stdout).toContain(`"SnapshotId": "${live.snapshot.id}"`);
    expect(live.snapshot.id).not.toBe('snap-000000000000000b4');
    expect(r.stdout).toMatch(/\{\n {4}"ImageId": "ami-[0-9a-f]{17}"\n\}\n {2}→ step 1: register_image done live in \d+ ms: AMI ami-[0-9a-f]{17} registered from snap-/);
    expect(r.stdout).toContain(`"InstanceId": "${restored.id}"`);
    expect(r.stdout).toMatch(new RegExp(`→ step 2: launch_instance done live in \\d+ ms: ${restored.id} launched at ${restored.private_ip.replaceAll('.', '\\.')} \\(a new one\\), booted and the app started on the restored volume`));
    expect(r.stdout).toMatch(new RegExp(`"NetworkInterfaceId": "eni-[0-9a-f]{17}",\\n {4}"AssignedPrivateIpAddresses": \\[\\n {8}\\{\\n {12}"PrivateIpAddress": "${old.private_ip.replaceAll('.', '\\.')}"`));
    // The machine's files, live: the replicated defaults name the old address, then (sed) the new one.
    expect(r.stdout).toContain(`| grep ADDRESS\nPRIVATE_ADDRESS=${old.private_ip}\nPRIVATE_ADDRESS=${old.private_ip}\n`);
    expect(r.stdout).toContain(`→ step 6: update_replicated_ips done live in`);
    expect(r.stdout).toContain(`/etc/default/replicated and /etc/default/replicated-operator now name ${restored.private_ip}`);
    expect(r.stdout).toMatch(/→ step 7: wipe_nomad_state done live in \d+ ms: \/opt\/nomad removed: /);
    expect(r.stdout).toMatch(/→ step 9: cleanup_stuck_builds done live in \d+ ms: \d+ build records left Running or queued with nothing running them marked failed/);
    expect(r.report.runbook.map((s) => [s.step, s.status])).toEqual(loadRunbook('restore-from-ebs').steps.map((s) => [s.name, 'done']));
    expect(r.report.dr.recovery).toMatchObject({ skip: [], new_private_ip: true });
    expect(r.report.dr.stale_allocations_at_end).toBe(0);
    expect(r.report.mode).toBe('live');
    expect(r.stdout).toMatch(/PASS ebs-snapshot-restore: .* runbook 9 done, 0 skipped/);
    expect(r.exit).toBe(0);
    // session.txt is the typed lines, in the rehearsal's names (it replays in the simulation and live).
    expect(r.session).toBe(`${typedLines('full-restore.txt').join('\n')}\n`);
    expect(r.report.replay).toMatch(/--mode live --seed 13 --script .*\/session\.txt$/);
    expect(r.transcript).toMatch(/\| \+\d+\.\d s \| `sudo rm -rf \/opt\/nomad` \| 0 \| wipe_nomad_state \|/);
  }, 600_000);

  it('skips-nomad-wipe.txt at the old private IP (run-instances --private-ip-address, nothing to re-associate or edit): the steps not typed skipped, and the restored /opt/nomad\'s stale allocations hold the live fleet to the end', async () => {
    // The builders reach a machine at the old address from its boot, so the restored allocations are not lost with them.
    const lines = typedLines('skips-nomad-wipe.txt')
      .filter((l) => !/assign-private-ip-addresses|sed -i/.test(l))
      .map((l) => (l.startsWith('aws ec2 run-instances') ? l.replace('--instance-type m4.2xlarge', '--instance-type m4.2xlarge --private-ip-address 10.0.1.10') : l));
    const file = join(mkdtempSync(join(tmpdir(), 'twin-dr-live-session-')), 'same-ip-skips-wipe.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await replay(file);
    const { old, new: restored } = r.report.live.services_instance;
    expect(restored.private_ip).toBe(old.private_ip);
    expect(r.stdout).toMatch(new RegExp(`→ step 2: launch_instance done live in \\d+ ms: ${restored.id} launched at ${old.private_ip.replaceAll('.', '\\.')} \\(the old private IP\\)`));
    expect(r.report.runbook.map((s) => `${s.step}:${s.status}`)).toEqual([
      'register_image:done', 'launch_instance:done', 'stop_app:done', 'check_hostname:done', 'start_app:done', 'cleanup_stuck_builds:done',
      'reassign_private_ip:skipped', 'update_replicated_ips:skipped', 'wipe_nomad_state:skipped',
    ]);
    expect(r.report.dr.recovery).toMatchObject({ skip: ['reassign_private_ip', 'update_replicated_ips', 'wipe_nomad_state'], new_private_ip: false });
    // The skipped wipe's consequence, live: the Nomad server restored from the snapshot's /opt/nomad keeps allocations no builder runs.
    const restoredStale = r.report.dr.stale_allocations_restored;
    expect(restoredStale).toBeGreaterThan(0);
    expect(r.report.dr.stale_allocations_at_end).toBe(restoredStale);
    const wipe = r.report.runbook.find((s) => s.step === 'wipe_nomad_state')!;
    const m = /^the restored \/opt\/nomad kept (\d+) stale allocations holding (\d+)% of the fleet's CPU at the end; new builds waited behind them (\d+) times$/.exec(wipe.consequence);
    expect(m, wipe.consequence).not.toBeNull();
    expect(Number(m![1])).toBe(restoredStale);
    expect(Number(m![2])).toBeGreaterThan(0);
    // On screen: `status` after start_app shows them on the live machine, and the summary names the skipped step's consequence.
    expect(r.stdout).toMatch(new RegExp(`/opt/nomad: ${restoredStale} stale allocations\\n`));
    expect(r.stdout).toContain(`  skipped wipe_nomad_state: ${wipe.consequence}`);
    expect(r.session).toBe(`${lines.join('\n')}\n`);
  }, 600_000);

  it('skips-nomad-wipe.txt as typed (a new private IP): the wipe skipped; live, the allocations the restored /opt/nomad brought back were lost with the builders that could not reach the machine after its boot, and the report says so', async () => {
    const r = await replay('skips-nomad-wipe.txt');
    expect(r.report.runbook.map((s) => `${s.step}:${s.status}`)).toEqual([
      'register_image:done', 'launch_instance:done', 'reassign_private_ip:done', 'stop_app:done', 'check_hostname:done', 'update_replicated_ips:done', 'start_app:done', 'cleanup_stuck_builds:done', 'wipe_nomad_state:skipped',
    ]);
    expect(r.report.dr.recovery).toMatchObject({ skip: ['wipe_nomad_state'], new_private_ip: true });
    const restoredStale = r.report.dr.stale_allocations_restored;
    expect(restoredStale).toBeGreaterThan(0);
    expect(r.report.dr.stale_allocations_at_end).toBe(0);
    const wipe = r.report.runbook.find((s) => s.step === 'wipe_nomad_state')!;
    expect(wipe.consequence).toBe(`the restored /opt/nomad brought back ${restoredStale} stale allocations; none held the fleet at the end: they were lost when the Nomad clients went down (the builders could not reach the machine after its boot)`);
    // The mechanics behind it, in the machine's timeline: the server read them at boot, then the clients went down.
    const events = r.report.dr.timeline.map((e) => e.event);
    const read = events.findIndex((e) => new RegExp(`${restoredStale} allocations no builder runs`).test(e));
    const down = events.findIndex((e) => /builders cannot reach the Services machine: .* Nomad clients down/.test(e));
    expect(read).toBeGreaterThanOrEqual(0);
    expect(down).toBeGreaterThanOrEqual(0);
    expect(r.stdout).toContain(`  skipped wipe_nomad_state: ${wipe.consequence}`);
    expect(r.session).toBe(`${typedLines('skips-nomad-wipe.txt').join('\n')}\n`);
  }, 600_000);

  it('cold-failover.txt on cold-failover-az-outage (az_outage, a replica): the old instance confirmed terminated by the real CLI, its IP moved to the replica\'s interface, the app started on the replica; the rehearsal passes', async () => {
    const r = await replay('cold-failover.txt', 'scenarios/dr/cold-failover-az-outage.yaml');
    const { old } = r.report.live.services_instance;
    const replica = r.report.live.replica!;
    // The replica's live ids stand for the rehearsal's (i-0c1rc1e5e7v1ce5c2, its ENI, 10.0.2.20).
    expect(r.stdout).toMatch(new RegExp(`the replica ${replica.instance} \\(${replica.private_ip.replaceAll('.', '\\.')}\\) holds its stores, its app stopped`));
    expect(r.stdout).toMatch(new RegExp(`i-0c1rc1e5e7v1ce5c2 is ${replica.instance}, eni-0c1rc1e5e7v1ce5c2 is eni-[0-9a-f]{17}, 10\\.0\\.2\\.20 is ${replica.private_ip.replaceAll('.', '\\.')}`));
    expect(r.stdout).toContain(`→ step 1: confirm_primary_dead done live in`);
    expect(r.stdout).toContain(`: ${old.id} in ${replica.primary_zone} is terminated: ${old.private_ip} is free`);
    // assign-private-ip-addresses by the real AWS CLI: the endpoint's answer, the old address on the replica's ENI.
    expect(r.stdout).toMatch(new RegExp(`"NetworkInterfaceId": "eni-[0-9a-f]{17}",\\n {4}"AssignedPrivateIpAddresses": \\[\\n {8}\\{\\n {12}"PrivateIpAddress": "${old.private_ip.replaceAll('.', '\\.')}"`));
    expect(r.stdout).toMatch(new RegExp(`→ step 2: reassign_private_ip done live in \\d+ ms: ${old.private_ip.replaceAll('.', '\\.')} re-associated to the replica's eni-[0-9a-f]{17} as a secondary IP`));
    expect(r.stdout).toMatch(/→ step 3: start_app done live in \d+ ms: app started; every health endpoint answers 200/);
    expect(r.stdout).toMatch(/→ step 4: cleanup_stuck_builds done live in \d+ ms: \d+ build records left Running or queued/);
    expect(r.report.runbook.map((s) => [s.step, s.status])).toEqual(loadRunbook('cold-failover').steps.map((s) => [s.name, 'done']));
    expect(r.report.rpo_ms).toBe(30_000);
    expect(r.report.dr.builders_reconnected).toBe(6);
    expect(r.stdout).toMatch(/PASS cold-failover-az-outage: .* runbook 4 done, 0 skipped/);
    expect(r.exit).toBe(0);
    expect(r.session).toBe(`${typedLines('cold-failover.txt').join('\n')}\n`);
  }, 600_000);

  it('--interactive in a terminal (tmux: a pty, readline in terminal mode): full-restore.txt typed line by line at the live shell\'s prompts', async () => {
    expect(TmuxTerminal.available, 'tmux is not installed: apt-get install tmux (.ci/run does)').toBe(true);
    // A live step waits for EC2 and the app (a boot took 60 s at load 13): each prompt is awaited up to 4 minutes.
    const tty = new TmuxTerminal(`twin-dr-live-tty-${process.pid}`, 240_000);
    const out = join(mkdtempSync(join(tmpdir(), 'twin-dr-live-tty-')), 'out');
    const prompts = (t: string) => t.match(/admin@dr-rehearsal:~\$|user=> /g)?.length ?? 0;
    try {
      tty.open('live', `TWIN_DR_PORT_OFFSET=${PORT_OFFSET} ${process.execPath} --import tsx bin/twin.ts dr ${SCENARIO} --mode live --interactive --out ${out} 2>/dev/null; echo TWIN-EXIT=$?; exec sleep 120`, process.cwd());
      await tty.until('live', 'the first prompt, after the disaster', (t) => prompts(t) >= 1);
      const lines = typedLines('full-restore.txt');
      for (const [i, line] of lines.entries()) {
        tty.typeLine('live', line);
        await tty.until('live', `the prompt after \`${line}\``, (t) => prompts(t) >= i + 2 || t.includes('TWIN-EXIT='));
      }
      const text = await tty.until('live', 'the exit code', (t) => /TWIN-EXIT=\d/.test(t));
      expect(text).toMatch(/Live: the stack's Services machine i-[0-9a-f]{17} \([\d.]+\) was terminated on the twin's EC2 endpoint/);
      expect(text).toMatch(/→ step 2: launch_instance done live in \d+ ms: i-[0-9a-f]{17} launched at [\d.]+ \(a new one\)/);
      expect(text).toMatch(/→ step 7: wipe_nomad_state done live/);
      expect(text).toMatch(/PASS ebs-snapshot-restore: .* runbook 9 done, 0 skipped/);
      expect(text).toContain('TWIN-EXIT=0');
      const report = JSON.parse(readFileSync(join(out, 'dr-report.json'), 'utf8')) as { mode: string; runbook: Step[] };
      expect(report.mode).toBe('live');
      expect(report.runbook.map((s) => s.status)).toEqual(Array(9).fill('done'));
      expect(readFileSync(join(out, 'session.txt'), 'utf8')).toBe(`${lines.join('\n')}\n`);
    } finally {
      tty.shutdown();
    }
  }, 900_000);
});

