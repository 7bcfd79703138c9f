/**
 * `twin train --drill queued-at-picard-dispatcher --mode live --script FILE`, as a person would run it: the live
 * stack booted (private PostgreSQL, Redis, RabbitMQ, MongoDB processes, the pipeline's stages, the twin's Nomad API),
 * picard-dispatcher hung through the stack's fault port, pushes replayed to GitHub Enterprise, the typed session
 * replayed at the console, and the fix verified on the stack. Two sessions: the shortest path, and the wrong
 * container restarted first. Each boots its own stack (about a minute at nice 19).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import type { TrainReport } from '../../reports/train.ts';
import { PROMPT, TMUX, TmuxPanes } from './tmux-pane.ts';
import { ownLiveEnv } from './live-test-env.ts';

/** A boot at nice 19 (about a minute), the session, the verification window and the teardown. */
const LIVE_DRILL_TIMEOUT_MS = 600_000;
const SESSIONS = new URL('./sessions/', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'twin-train-live-'));
const panes = new TmuxPanes(`twin-train-live-${process.pid}`);
afterAll(() => {
  panes.killServer();
  rmSync(out, { recursive: true, force: true });
  env.restore();
});

/**
 * The stores' data directories go under a data root of this file's own (on the providers' root: /dev/shm where it is
 * writable), so that other runs on the machine do not count: after each drill it must be empty. Set before the first
 * tmux command, so the tmux server's panes inherit it too.
 */
const env = ownLiveEnv('twin-train-live-data-');
const dataRoot = env.dataRoot;
const ours = () => readdirSync(dataRoot);

async function drill(session: string): Promise<{ code: number; stdout: string; stderr: string; report: TrainReport; md: string }> {
  const lines = { stdout: '', stderr: '' };
  const io = { stdout: { write: (s: string) => (lines.stdout += s) }, stderr: { write: (s: string) => (lines.stderr += s) } };
  const dir = join(out, session);
  // The built-in read-outs answer `nomad`: the test does not depend on a binary on PATH.
  const code = await main(['train', '--drill', 'queued-at-picard-dispatcher', '--mode', 'live', '--nomad', 'twin', '--script', join(SESSIONS, `${session}.txt`), '--out', dir], io);
  // The stack was torn down: every data directory it created is gone.
  expect(ours()).toEqual([]);
  const report = JSON.parse(readFileSync(join(dir, 'train-report.json'), 'utf8')) as TrainReport;
  return { code, ...lines, report, md: readFileSync(join(dir, 'transcript.md'), 'utf8') };
}

describe('twin train --mode live (the drill console on the live stack)', () => {
  it('queued-at-picard-dispatcher along the shortest path: the hung picard-dispatcher is restarted on the stack, the queue drains, the next build succeeds', async () => {
    const r = await drill('shortest-path');
    console.info(`shortest path live: ${r.stdout.split('\n').filter((l) => /^Score|^\s+(ok|FAIL)/.test(l)).join(' | ')}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.mode).toBe('live');
    // picard-dispatcher's own log (LiveStack.logs): its heartbeat while the installation ran healthy, before it hung.
    const logs = r.stdout.split('ubuntu@ip-172-31-72-162:~$ ').find((b) => b.startsWith('sudo docker logs --tail 10 picard-dispatcher'))!;
    expect(logs.split('\n').filter((l) => l.includes('picard-dispatcher.init Still running...')).length).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/ok {3}queue_drains: builds queued [0-2], run-queue [0-2],/);
    expect(r.stdout).toMatch(/ok {3}next_build_succeeds: build \d+ succeeded at \d\d:\d\d/);
    expect(r.report.root_cause_correct).toBe(true);
    expect(r.report.fixed).toBe(true);
    expect(r.report.score).toBe(100);
    expect(r.stderr).toMatch(/pushes replayed: [1-9]\d* \(0 webhooks frontend did not take/);
  }, LIVE_DRILL_TIMEOUT_MS);

  it('restarting dispatcher first fixes nothing on the stack; picard-dispatcher then does, and the wasted restart costs the commands part', async () => {
    const r = await drill('wrong-container-first');
    console.info(`wrong container first live: ${r.stdout.split('\n').filter((l) => /^Score|^\s+(ok|FAIL)/.test(l)).join(' | ')}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.fixed).toBe(true);
    expect(r.report.root_cause_correct).toBe(true);
    expect(r.md).toMatch(/sudo docker restart dispatcher/);
    // Five commands against the shortest path's three: the commands part is 3/5 of its 10, the score below 100.
    expect(r.stdout).toMatch(/Commands: 5 against the shortest path's 3\./);
    expect(r.report.score).toBeLessThan(100);
    expect(r.report.score).toBeGreaterThanOrEqual(90);
  }, LIVE_DRILL_TIMEOUT_MS);

  it.skipIf(!TMUX)('typed in a terminal (tmux): a wrong diagnosis, two hints, then picard-dispatcher restarted on the stack', async () => {
    // The first prompt comes once the stack has booted and the fault has held for 20 minutes of the installation's time.
    const s = await panes.typeSession('live-hints', 'queued-at-picard-dispatcher', 'wrong-diagnosis-then-hints.txt', ' --mode live --nomad twin', LIVE_DRILL_TIMEOUT_MS / 2);
    console.info(`live in tmux: ${s.text.split('\n').filter((l) => /^Score|^\s+(ok|FAIL)/.test(l)).join(' | ')}`);
    expect(s.text).toContain(`${PROMPT} nomad node-status -allocs`);
    expect(s.text).toMatch(/Drain\s+Status\s+Running Allocs/);
    expect(s.text).toContain('answer: nomad_client draining: that is not the root cause of this ticket (not credited)');
    expect(s.text).toContain('Hint 2 of 3 (pointer)');
    expect(s.exit).toBe(0);
    expect(s.report).toMatchObject({ mode: 'live', root_cause_correct: true, fixed: true, hints_used: 2 });
    expect(s.report.answers.map((a: { correct: boolean }) => a.correct)).toEqual([false, true]);
    expect(ours()).toEqual([]);
  }, LIVE_DRILL_TIMEOUT_MS);
});
