import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TmuxTerminal } from './interactive-tty.ts';

/**
 * `twin dr --interactive` as an admin uses it: in a real terminal (a tmux pane: a pty, readline in terminal mode),
 * each line of a session typed with send-keys, the screen read back with capture-pane. The full EBS restore, the
 * same restore without `sudo rm -rf /opt/nomad` (the skipped step and its consequence on screen and in the report,
 * and its session.txt replayed with --script to the same report), the cold fail-over to a replica without the IP
 * re-associated (a skipped step and its consequence), and Ctrl-D ending the recovery half-way.
 */

const tty = new TmuxTerminal(`twin-dr-test-${process.pid}`, 90_000);
const PROMPTS = /admin@dr-rehearsal:~\$|user=> /g;
const SCENARIO = 'scenarios/dr/ebs-snapshot-restore.yaml';

const prompts = (text: string) => text.match(PROMPTS)?.length ?? 0;
const exitOf = (text: string) => Number(/TWIN-EXIT=(\d+)/.exec(text)![1]);

function start(name: string, scenario = SCENARIO) {
  const out = join(mkdtempSync(join(tmpdir(), 'twin-dr-tty-')), 'out');
  const command = `${process.execPath} --import tsx bin/twin.ts dr ${scenario} --interactive --out ${out}; echo TWIN-EXIT=$?; exec sleep 120`;
  tty.open(name, command, process.cwd());
  return out;
}

/** Types a session's lines (but those `drop` matches) into `twin dr --interactive` in a tmux pane; returns the screen, the exit and the report. */
async function typeSession(name: string, file: string, scenario = SCENARIO, drop?: RegExp) {
  const out = start(name, scenario);
  const lines = readFileSync(join('harness/dr/sessions', file), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !drop?.test(l));
  await tty.until(name, 'first prompt', (t) => prompts(t) >= 1);
  for (const [i, line] of lines.entries()) {
    tty.typeLine(name, line);
    await tty.until(name, `prompt after \`${line}\``, (t) => prompts(t) >= i + 2 || t.includes('TWIN-EXIT='));
  }
  const text = await tty.until(name, 'the exit code', (t) => /TWIN-EXIT=\d/.test(t));
  tty.close(name);
  return { text, exit: exitOf(text), out, report: JSON.parse(readFileSync(join(out, 'dr-report.json'), 'utf8')) };
}

afterAll(() => tty.shutdown());

describe('twin dr --interactive in a terminal (tmux)', () => {
  it('has tmux (CI installs it: .ci/run)', () => {
    expect(TmuxTerminal.available, 'tmux is not installed: apt-get install tmux (.ci/run does)').toBe(true);
  });

  it('the EBS restore in full: every step done, each with its consequence on screen; the rehearsal passes', { timeout: 300_000 }, async () => {
    const s = await typeSession('full', 'full-restore.txt');
    expect(s.text).toContain('10:00  the Services machine (i-0c1rc1e5e7v1ce5a0, 10.0.1.10) was terminated');
    expect(s.text).toMatch(/→ step 1: register_image done at 03:16:16 .*: AMI registered from the snapshot of 3h/);
    // At the new private IP the builders' clients went down at the boot and the restored allocations with them (nothing left to wipe).
    expect(s.text).toMatch(/→ step 7: wipe_nomad_state done .*\/opt\/nomad removed: 0 allocations/);
    expect(s.text).toMatch(/user=> \(admin\/delete-build "https:\/\/circleci\.example\.com\/gh\/acme\/app\/153"\)\ntrue\n {2}→ step 9: cleanup_stuck_builds done/);
    expect(s.text).toMatch(/PASS ebs-snapshot-restore: .* runbook 9 done, 0 skipped/);
    expect(s.exit).toBe(0);
    expect(s.report.runbook.map((r: { status: string }) => r.status)).toEqual(Array(9).fill('done'));
    expect(s.report.dr.stale_allocations_at_end).toBe(0);
  });

  it('without `sudo rm -rf /opt/nomad` at a new private IP: the skipped step and its consequence (the stale allocations lost with the builders\' clients, as live), on screen and in the report; session.txt replays it', { timeout: 300_000 }, async () => {
    const s = await typeSession('skip', 'skips-nomad-wipe.txt');
    expect(s.text).not.toContain('rm -rf');
    expect(s.text).toMatch(/\/opt\/nomad: 0 allocations \(0 stale\), 0 pending jobs/);
    expect(s.text).toMatch(/7\. wipe_nomad_state +not done/);
    expect(s.text).toMatch(/PASS ebs-snapshot-restore: .* runbook 8 done, 1 skipped/);
    expect(s.text).toContain('skipped wipe_nomad_state: the restored /opt/nomad brought back 10 stale allocations; none held the fleet at the end: they were lost when the Nomad clients went down (the builders could not reach the machine after its boot)');
    expect(s.exit).toBe(0);
    const wipe = s.report.runbook.find((r: { step: string }) => r.step === 'wipe_nomad_state');
    expect(wipe).toMatchObject({ status: 'skipped', consequence: expect.stringMatching(/brought back 10 stale allocations; none held the fleet/) });
    expect(s.report.dr.recovery.skip).toEqual(['wipe_nomad_state']);
    expect(s.report.replay).toBe(`twin dr ${SCENARIO} --seed 13 --script ${s.out}/session.txt`);

    const again = join(mkdtempSync(join(tmpdir(), 'twin-dr-replay-')), 'out');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/twin.ts', 'dr', SCENARIO, '--script', join(s.out, 'session.txt'), '--out', again], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const replayed = JSON.parse(readFileSync(join(again, 'dr-report.json'), 'utf8'));
    expect({ ...replayed, replay: '' }).toEqual({ ...s.report, replay: '' });
  });

  it('cold fail-over after an availability-zone outage, typed without re-associating the IP: the replica runs, builders never reach it', { timeout: 300_000 }, async () => {
    const s = await typeSession('failover', 'cold-failover.txt', 'scenarios/dr/cold-failover-az-outage.yaml', /assign-private-ip-addresses/);
    expect(s.text).toContain('is cut off: its zone us-east-1a is down (az_outage)');
    expect(s.text).toMatch(/"Status": "impaired",\n {2}→ step 1: confirm_primary_dead done at 03:17:46 .*confirmed down/);
    expect(s.text).toMatch(/→ step 2: start_app done .*app started, but builders cannot reach the Services machine \(it requires reassign_private_ip, not done yet/);
    expect(s.text).toMatch(/Services machine i-0c1rc1e5e7v1ce5c2: private IP 10\.0\.2\.20; app running; builders cannot reach it/);
    expect(s.text).toMatch(/2\. reassign_private_ip +not done/);
    expect(s.text).toMatch(/FAIL cold-failover-az-outage: RTO never \(not recovered\)/);
    expect(s.text).toMatch(/skipped reassign_private_ip: builders dial 10\.0\.1\.10, which no instance holds: they cannot reach the Services machine; \d+ builds never placed/);
    expect(s.exit).toBe(1);
    expect(s.report.runbook.find((r: { step: string }) => r.step === 'reassign_private_ip')).toMatchObject({ status: 'skipped', consequence: expect.stringMatching(/cannot reach the Services machine/) });
    expect(s.report.dr.builders_reach_services).toBe(false);
  });

  it('Ctrl-D ends the recovery half-way: the steps done count, the rest are skipped with their consequences', async () => {
    const name = 'ctrl-d';
    const out = start(name);
    await tty.until(name, 'first prompt', (t) => prompts(t) >= 1);
    tty.typeLine(name, 'sudo rm -rf /opt/nomad');
    await tty.until(name, 'the refusal', (t) => t.includes('No route to host'));
    tty.press(name, 'C-d');
    const text = await tty.until(name, 'the exit code', (t) => /TWIN-EXIT=\d/.test(t));
    tty.close(name);
    expect(text).toContain('logout');
    expect(text).toMatch(/RTO never \(not recovered\)/);
    expect(text).toMatch(/skipped launch_instance: no Services machine came back: \d+ webhooks dropped, nothing recovered/);
    expect(exitOf(text)).toBe(1);
    expect(readFileSync(join(out, 'session.txt'), 'utf8')).toBe('sudo rm -rf /opt/nomad\n# (ended by the end of input)\n');
    expect(existsSync(join(out, 'transcript.md'))).toBe(true);
  });
});
