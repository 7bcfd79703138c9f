import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROMPT, TMUX, TmuxPanes, prompts } from './tmux-pane.ts';

/**
 * The drills as a person uses them: `twin train --drill` in a real terminal (a tmux pane: a pty, readline in
 * terminal mode), each line typed with send-keys, the screen read back with capture-pane. The three sessions of
 * issue 15: the shortest path, a wrong diagnosis then hints, the wrong container restarted first.
 */

const panes = new TmuxPanes(`twin-train-test-${process.pid}`);
const tmux = (...args: string[]) => panes.tmux(...args);
const waitFor = (session: string, what: string, ok: (text: string) => boolean) => panes.waitFor(session, what, ok);
const typeSession = (name: string, drill: string, script: string, extra = '') => panes.typeSession(name, drill, script, extra);

afterAll(() => panes.killServer());

describe('twin train in a terminal (tmux)', () => {
  it('has tmux (CI installs it: .ci/run)', () => {
    expect(TMUX, 'tmux is not installed: apt-get install tmux (.ci/run does)').toBe(true);
  });

  it('solves queued-at-picard-dispatcher along the shortest path', async () => {
    const s = await typeSession('shortest', 'queued-at-picard-dispatcher', 'shortest-path.txt');
    expect(s.text).toContain('Ticket, 09:00');
    expect(s.text).toContain(`${PROMPT} sudo docker logs --tail 10 picard-dispatcher`);
    expect(s.text).toMatch(/INFO picard-dispatcher\.init Still running\.\.\./);
    expect(s.text).toContain('Score 100/100');
    expect(s.exit).toBe(0);
    expect(s.report).toMatchObject({ root_cause_correct: true, fixed: true, score: 100, hints_used: 0 });
  });

  it('a wrong diagnosis, then hints, then the right one', async () => {
    const s = await typeSession('hints', 'queued-at-picard-dispatcher', 'wrong-diagnosis-then-hints.txt');
    expect(s.text).toContain('that is not the root cause of this ticket (not credited)');
    expect(s.text).toContain('Hint 1 of 3 (nudge)');
    expect(s.exit).toBe(0);
    expect(s.report).toMatchObject({ root_cause_correct: true, fixed: true, hints_used: 2 });
    expect(s.report.answers.map((a: { correct: boolean }) => a.correct)).toEqual([false, true]);
  });

  it('Ctrl-C abandons a half-typed line, as bash does, and Ctrl-D ends the drill', async () => {
    const name = 'ctrl-c';
    const out = join(mkdtempSync(join(tmpdir(), 'twin-train-tty-')), 'out');
    tmux('new-session', '-d', '-s', name, '-x', '220', '-y', '50', '-c', process.cwd(), `${process.execPath} --import tsx bin/twin.ts train --drill exim-quietly-down --out ${out}; echo TWIN-EXIT=$?; exec sleep 120`);
    await waitFor(name, 'first prompt', (t) => prompts(t) >= 1);
    tmux('send-keys', '-t', name, '-l', 'sudo docker rest');
    tmux('send-keys', '-t', name, 'C-c');
    await waitFor(name, 'a fresh prompt after ^C', (t) => prompts(t) >= 2 && t.includes('^C'));
    tmux('send-keys', '-t', name, 'C-d');
    const text = await waitFor(name, 'the exit code', (t) => /TWIN-EXIT=\d/.test(t));
    tmux('kill-session', '-t', name);
    expect(text).toContain('logout');
    expect(/TWIN-EXIT=(\d+)/.exec(text)![1]).toBe('1');
    const report = JSON.parse(readFileSync(join(out, 'train-report.json'), 'utf8'));
    expect(report).toMatchObject({ drill: 'exim-quietly-down', commands: [], ended_by: 'end-of-input', fixed: false, score: 0 });
  });

  it('the wrong container restarted first, then the right one', async () => {
    const s = await typeSession('wrong-first', 'queued-at-picard-dispatcher', 'wrong-container-first.txt');
    expect(s.text).toContain(`${PROMPT} sudo docker restart dispatcher\ndispatcher`);
    expect(s.exit).toBe(0);
    expect(s.report).toMatchObject({ root_cause_correct: true, fixed: true });
    expect(s.report.score).toBeLessThan(100);
  });

  it('docker logs -f prints as the installation moves on (--time-factor), until Ctrl-C; the prompt comes back', async () => {
    const name = 'follow';
    const out = join(mkdtempSync(join(tmpdir(), 'twin-train-tty-')), 'out');
    // --nomad twin: the drill's own emulation, whatever nomad is on PATH.
    tmux('new-session', '-d', '-s', name, '-x', '220', '-y', '50', '-c', process.cwd(), `${process.execPath} --import tsx bin/twin.ts train --drill queued-at-picard-scheduler --nomad twin --time-factor 60 --out ${out}; echo TWIN-EXIT=$?; exec sleep 120`);
    await waitFor(name, 'first prompt', (t) => prompts(t) >= 1);
    tmux('send-keys', '-t', name, '-l', 'sudo docker logs -f --tail 1 dispatcher');
    tmux('send-keys', '-t', name, 'Enter');
    // dispatcher forwards a build every minute or so: at 60x, new lines within seconds.
    await waitFor(name, 'lines written while following', (t) => (t.split('forwarded to run-queue').length - 1) >= 3);
    tmux('send-keys', '-t', name, 'C-c');
    await waitFor(name, 'a fresh prompt after ^C', (t) => prompts(t) >= 2 && t.includes('^C'));
    tmux('send-keys', '-t', name, '-l', 'exit');
    tmux('send-keys', '-t', name, 'Enter');
    await waitFor(name, 'the exit code', (t) => /TWIN-EXIT=\d/.test(t));
    tmux('kill-session', '-t', name);
    const report = JSON.parse(readFileSync(join(out, 'transcript.json'), 'utf8'));
    const follow = report.entries?.[0] ?? report.commands?.[0];
    expect(follow.command).toBe('sudo docker logs -f --tail 1 dispatcher');
    expect(follow.output.split('\n').filter((l: string) => l.includes('forwarded to run-queue')).length).toBeGreaterThanOrEqual(3);
    expect(follow.output.endsWith('^C')).toBe(true);
  });

  // The seeds' two drills added last; the built-in nomad emulation (a real `nomad` on PATH reads the mirror, which has no task logs).
  it('no-nomad-clients: draining blamed first (not credited), two hints, then the Auto Scaling Group set back', async () => {
    const s = await typeSession('no-clients', 'no-nomad-clients', 'no-nomad-clients-wrong-diagnosis.txt', ' --nomad twin');
    expect(s.text).toContain('answer: nomad_client draining: that is not the root cause of this ticket (not credited)');
    expect(s.text).toContain(`${PROMPT} aws autoscaling describe-auto-scaling-groups | grep -c InstanceId\n0`);
    expect(s.text).toContain('Score 72/100');
    expect(s.exit).toBe(0);
    expect(s.report).toMatchObject({ root_cause_correct: true, fixed: true, score: 72, hints_used: 2 });
  });

  it('nomad-state-stale-after-restore along the shortest path: the app stopped, /opt/nomad removed, the app started', async () => {
    const s = await typeSession('stale', 'nomad-state-stale-after-restore', 'nomad-state-stale-shortest.txt', ' --nomad twin');
    expect(s.text).toContain(`${PROMPT} sudo rm -rf /opt/nomad`);
    expect(s.text).toContain('ok   no_stale_allocations: 0 allocations of the restored /opt/nomad the Nomad server still holds');
    expect(s.text).toContain('Score 100/100');
    expect(s.exit).toBe(0);
  });
});
