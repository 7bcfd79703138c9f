import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../main.ts';
import { captureIo as capture } from '../capture-io.ts';
import { tempDirs } from '../../test-temp.ts';

const SESSIONS = 'harness/train/sessions';
const tempDir = tempDirs('twin-train-');
const DRILL = 'queued-at-picard-dispatcher';

async function train(script: string, extra: string[] = []) {
  const out = join(tempDir(), 'out');
  const c = capture();
  const code = await main(['train', '--drill', DRILL, '--script', join(SESSIONS, script), '--out', out, ...extra], c.io);
  const report = existsSync(join(out, 'train-report.json')) ? JSON.parse(readFileSync(join(out, 'train-report.json'), 'utf8')) : undefined;
  return { code, stdout: c.stdout, stderr: c.stderr, out, report };
}

describe('twin train --script (a typed session replayed)', () => {
  it('solves the drill along the shortest path: 100, byte-identical reports for the same seed', async () => {
    const a = await train('shortest-path.txt');
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.report).toMatchObject({ drill: DRILL, seed: 7, mode: 'sim', root_cause_correct: true, fixed: true, score: 100, hints_used: 0 });
    expect(a.report.commands.map((c: { command: string }) => c.command)).toEqual(['sudo docker logs --tail 10 dispatcher', 'sudo docker logs --tail 10 picard-dispatcher', 'answer picard-dispatcher hung', 'sudo docker restart picard-dispatcher', 'exit']);
    expect(a.report.commands.map((c: { at_ms: number }) => c.at_ms)).toEqual([30_000, 60_000, 90_000, 120_000, 160_000]);
    expect(a.stdout).toContain('ubuntu@ip-172-31-72-162:~$ sudo docker logs --tail 10 picard-dispatcher\nJan 5 ');
    expect(a.stdout).toContain('Score 100/100');
    const b = await train('shortest-path.txt');
    for (const f of ['train-report.json', 'transcript.json', 'transcript.md', 'session.txt']) expect(readFileSync(join(b.out, f), 'utf8'), f).toBe(readFileSync(join(a.out, f), 'utf8'));
    // The written session replays to the same report.
    const c = capture();
    const replayOut = join(a.out, 'replay');
    expect(await main(['train', '--drill', DRILL, '--script', join(a.out, 'session.txt'), '--out', replayOut], c.io)).toBe(0);
    expect(readFileSync(join(replayOut, 'train-report.json'), 'utf8')).toBe(readFileSync(join(a.out, 'train-report.json'), 'utf8'));
  });

  it('does not credit a wrong diagnosis, says so, and charges the hints taken before the right one', async () => {
    const r = await train('wrong-diagnosis-then-hints.txt');
    expect(r.code).toBe(0);
    expect(r.report.answers).toEqual([expect.objectContaining({ answer: 'nomad_client draining', correct: false }), expect.objectContaining({ answer: 'picard-dispatcher hung', correct: true })]);
    expect(r.report.score_parts).toMatchObject({ diagnosis: 30, fix: 30, hints: 0 });
    expect(r.report.hints_used).toBe(2);
    expect(r.stdout).toContain('that is not the root cause of this ticket (not credited)');
    expect(r.stdout).toContain('Hint 2 of 3 (pointer)');
  });

  it('a wrong last answer is not credited: exit 1, and the transcript names the root cause', async () => {
    const dir = tempDir();
    const script = join(dir, 's.txt');
    writeFileSync(script, 'sudo docker ps\nanswer dispatcher down\nsudo docker restart picard-dispatcher\nexit\n');
    const c = capture();
    expect(await main(['train', '--drill', DRILL, '--script', script, '--out', join(dir, 'o')], c.io)).toBe(1);
    const r = JSON.parse(readFileSync(join(dir, 'o', 'train-report.json'), 'utf8'));
    expect(r).toMatchObject({ root_cause_correct: false, fixed: true });
    expect(r.score_parts.diagnosis).toBe(0);
    expect(readFileSync(join(dir, 'o', 'transcript.md'), 'utf8')).toContain('Wrong diagnosis: the last answer was `dispatcher down`; the root cause was `picard-dispatcher` (hung).');
  });

  it('restarting the wrong container first fixes nothing, costs commands and time, and the right restart still scores', async () => {
    const r = await train('wrong-container-first.txt');
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ root_cause_correct: true, fixed: true });
    expect(r.report.score).toBeLessThan(100);
    expect(r.report.score_parts.commands).toBeLessThan(10);
    expect(r.report.score).toBeGreaterThanOrEqual(85);
  });

  it('the instructor summary reads the reports of several trainees', async () => {
    const a = await train('shortest-path.txt');
    const b = await train('wrong-diagnosis-then-hints.txt');
    const c = capture();
    expect(await main(['train', '--report', a.out, b.out, '--json'], c.io)).toBe(0);
    const s = JSON.parse(c.stdout);
    expect(s.sessions.map((x: { score: number }) => x.score)).toEqual([100, b.report.score]);
    expect(s.drills).toEqual([{ drill: DRILL, sessions: 2, mean_score: (100 + b.report.score) / 2, solved: 2, wrong_diagnoses: 1 }]);
    const md = capture();
    expect(await main(['train', '--report', a.out, b.out], md.io)).toBe(0);
    expect(md.stdout).toContain('| drill | sessions | mean score | solved (right and fixed) | wrong diagnoses |');
  });
});

describe('twin train, the other uses and bad input', () => {
  it('--list shows the drills with their difficulty and whether --mode live runs them', async () => {
    const c = capture();
    expect(await main(['train', '--list', '--json'], c.io)).toBe(0);
    const list = JSON.parse(c.stdout) as { name: string; difficulty: string; live: boolean; live_refused?: string }[];
    expect(list.find((d) => d.name === DRILL)).toMatchObject({ difficulty: 'easy', live: true });
    expect(list.find((d) => d.name === DRILL)?.live_refused).toBeUndefined();
    expect(list.find((d) => d.name === 'disk-full-logrotate-down')).toMatchObject({ live: true });
    expect(list.find((d) => d.name === 'disk-full-logrotate-down')?.live_refused).toBeUndefined();
    expect(list.find((d) => d.name === 'ldap-logins-failing')).toMatchObject({ live: true });
    expect(list.length).toBeGreaterThanOrEqual(4);
    const table = capture();
    expect(await main(['train', '--list'], table.io)).toBe(0);
    expect(table.stdout).toMatch(/^DRILL +DIFFICULTY +LIVE +TITLE\n/);
    expect(table.stdout).toMatch(new RegExp(`\\n${DRILL} +easy +yes +Builds queue at picard-dispatcher\\n`));
    expect(table.stdout).toMatch(/\ndisk-full-logrotate-down +hard +yes +No new builds/);
    expect(table.stdout).toMatch(/\nldap-logins-failing +medium +yes +Nobody can log in/);
  });

  it('refuses an unknown drill with the nearest name, live mode for a drill it cannot run (or paced by --time-factor), a missing script and a bad --command-time (exit 2, nothing written)', async () => {
    // Every seed drill runs live: a copy whose hidden fault is on a container the live stack does not fault (test-results).
    const notLive = join(tempDir(), 'not-live.yaml');
    const seed = readFileSync(join(process.cwd(), 'fixtures/drills/disk-full-logrotate-down.yaml'), 'utf8');
    writeFileSync(notLive, seed.replace('target: tutum/logrotate', 'target: test-results').replace('../../scenarios/', `${join(process.cwd(), 'scenarios')}/`));
    const cases: [string[], RegExp][] = [
      [['train', '--drill', 'queued-at-picard-dispatchr'], /no drill `queued-at-picard-dispatchr`; did you mean `queued-at-picard-dispatcher`\?/],
      [['train', '--drill', DRILL, '--mode', 'live', '--time-factor', '20'], /--time-factor paces the simulation by the wall clock; on the live stack the installation runs at its own time scale/],
      [['train', '--drill', notLive, '--mode', 'live'], /drill disk-full-logrotate-down cannot run on the live stack: .*the live stack runs no test-results/],
      [['train', '--list', '--mode', 'live'], /--mode live applies to a drill/],
      [['train', '--drill', DRILL, '--script', 'nowhere.txt'], /cannot read the script nowhere.txt: no such file/],
      [['train', '--drill', DRILL, '--command-time', '0s'], /--command-time must be from 1s to 20m/],
      [['train'], /needs --list, --drill NAME or --report DIR/],
      [['train', '--report'], /needs the directories/],
      [['train', '--report', 'README.md'], /README.md is not JSON/],
    ];
    for (const [argv, message] of cases) {
      const c = capture();
      const out = join(tempDir(), 'out');
      expect(await main(argv[1] === '--drill' ? [...argv, '--out', out] : argv, c.io), argv.join(' ')).toBe(2);
      expect(existsSync(out)).toBe(false);
      expect(c.stderr, argv.join(' ')).toMatch(message);
      expect(c.stderr).toContain('hint:');
    }
  });
});
