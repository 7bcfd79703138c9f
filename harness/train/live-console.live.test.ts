/**
 * The drill console's Services-machine commands on the live stack (live-commands.ts), as a person runs them with
 * `twin train --mode live --script FILE`: `no-nomad-clients` (the Nomad clients' Auto Scaling Group set to 0 on the
 * stack's EC2 endpoint, its clients drained and terminated; fixed by the trainee's real `update-auto-scaling-group`),
 * and a customization file written under /etc/circleconfig then applied by `replicated app ... stop` / `start`.
 * Documented ports at 27000 + port (TWIN_TRAIN_PORT_OFFSET). Each boots its own stack (about a minute at nice 19).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import type { TrainReport } from '../../reports/train.ts';
import { ownLiveEnv } from './live-test-env.ts';

const LIVE_DRILL_TIMEOUT_MS = 600_000;
const SESSIONS = new URL('./sessions/', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'twin-train-console-'));
const env = ownLiveEnv('twin-train-console-data-', { TWIN_TRAIN_PORT_OFFSET: '27000' });
const dataRoot = env.dataRoot;
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  env.restore();
});

async function drill(name: string, session: string): Promise<{ code: number; stdout: string; stderr: string; report: TrainReport; blocks: string[] }> {
  const lines = { stdout: '', stderr: '' };
  const io = { stdout: { write: (s: string) => (lines.stdout += s) }, stderr: { write: (s: string) => (lines.stderr += s) } };
  const dir = join(out, session);
  const code = await main(['train', '--drill', name, '--mode', 'live', '--nomad', 'twin', '--script', join(SESSIONS, `${session}.txt`), '--out', dir], io);
  // The stack was torn down: every data directory it created is gone.
  expect(readdirSync(dataRoot)).toEqual([]);
  const report = JSON.parse(readFileSync(join(dir, 'train-report.json'), 'utf8')) as TrainReport;
  return { code, ...lines, report, blocks: lines.stdout.split(/ubuntu@ip-172-31-72-162:~\$ |user=> /) };
}

/** The output of the typed line that starts with `command` (its block of the console's output). */
const answerTo = (blocks: readonly string[], command: string, nth = 0) => blocks.filter((b) => b.startsWith(command))[nth];

describe('the drill console\'s Services machine on the live stack', () => {
  it('no-nomad-clients: the group set to 0 on the EC2 endpoint leaves no client; the trainee\'s update-auto-scaling-group brings 4 back and the queue drains', async () => {
    const r = await drill('no-nomad-clients', 'no-nomad-clients-shortest');
    console.info(`no-nomad-clients live: ${r.stdout.split('\n').filter((l) => /^Score|^\s+(ok|FAIL)/.test(l)).join(' | ')}`);
    expect(r.code, r.stderr).toBe(0);
    // The hidden change reached the clients: every Nomad node down when the trainee looks.
    const nodes = answerTo(r.blocks, 'nomad node-status')!;
    expect(nodes).toMatch(/\bdown\b/);
    expect(nodes).not.toMatch(/\bready\b/);
    // The real DescribeAutoScalingGroups answer (through grep), the group as the hidden change left it.
    const described = answerTo(r.blocks, 'aws autoscaling describe-auto-scaling-groups')!;
    expect(described).toMatch(/"MinSize": 0,/);
    expect(described).toMatch(/"DesiredCapacity": 0,/);
    expect(answerTo(r.blocks, 'aws autoscaling update-auto-scaling-group')).toMatch(/^aws autoscaling update-auto-scaling-group[^\n]*\n?$/);
    expect(r.report.checks.map((c) => [c.check, c.passed])).toEqual([['clients_eligible 4', true], ['queue_drains', true], ['next_build_succeeds', true]]);
    expect(r.report).toMatchObject({ mode: 'live', root_cause_correct: true, fixed: true });
    expect(r.report.score).toBeGreaterThanOrEqual(90);
  }, LIVE_DRILL_TIMEOUT_MS);

  it('a customization file written under /etc/circleconfig reaches frontend\'s environment at the app\'s stop and start, not before', async () => {
    const r = await drill('queued-at-picard-dispatcher', 'live-customization-restart');
    const exits = r.report.commands.map((c) => [c.command, c.exit] as const);
    const printenv = exits.filter(([c]) => c === 'sudo docker exec frontend printenv JVM_HEAP_SIZE').map(([, e]) => e);
    // Unset at boot, still unset after the file is written (the container keeps its environment), set after the start
    // and after a docker restart (which keeps the container, so its environment): read from frontend's own process.
    expect(printenv).toEqual([1, 1, 0, 0]);
    expect(answerTo(r.blocks, 'sudo docker exec frontend printenv JVM_HEAP_SIZE', 2)).toMatch(/^[^\n]*\n2g\n/);
    expect(answerTo(r.blocks, 'sudo docker exec frontend printenv JVM_HEAP_SIZE', 3)).toMatch(/^[^\n]*\n2g\n/);
    // The process's whole environment is the container's: the image's PATH, its HOSTNAME, the customization; none of
    // the host's (HOME, the test runner's variables).
    const env = answerTo(r.blocks, 'sudo docker exec frontend env', 1)!.split('\n').slice(1).filter((l) => /^[A-Z_]+=/.test(l));
    expect(env.map((l) => l.split('=')[0])).toEqual(['PATH', 'HOSTNAME', 'JVM_HEAP_SIZE']);
    expect(answerTo(r.blocks, 'cat /etc/circleconfig/frontend/customizations')).toContain('export JVM_HEAP_SIZE=2g');
    expect(answerTo(r.blocks, 'sudo replicated app 2a7f3c1d9e8b4f60a1c2d3e4f5a6b7c8 status', 0)).toContain('State: stopped');
    expect(answerTo(r.blocks, 'sudo docker exec frontend env')).toMatch(/is not running/);
    expect(answerTo(r.blocks, 'sudo replicated app 2a7f3c1d9e8b4f60a1c2d3e4f5a6b7c8 status', 1)).toContain('State: started');
    expect(answerTo(r.blocks, '(-> (java.lang.Runtime/getRuntime) (.maxMemory))')).toContain(String(2 * 1024 ** 3));
    // df: the real filesystem holding the stack's data, and each store's directory in it.
    const df = answerTo(r.blocks, 'df -h')!;
    expect(df).toMatch(/Filesystem\s+Size\s+Used\s+Avail\s+Use%\s+Mounted on/);
    expect(df).toMatch(/postgres\s+\d/);
    // The app's start started the hung picard-dispatcher again, and builds run (the next one succeeds); the builds
    // that waited in the run queue were lost with the broker's stop (non-durable queues, as in the simulation:
    // `waitingBuilds`), so they no longer count as queued and the queue drains.
    expect(r.report.root_cause_correct).toBe(true);
    expect(r.report.checks.find((c) => c.check === 'next_build_succeeds')?.passed, r.stdout).toBe(true);
    const drains = r.report.checks.find((c) => c.check === 'queue_drains');
    console.info(`live-customization-restart queue_drains: ${JSON.stringify(drains)}`);
    expect(drains?.passed, r.stdout).toBe(true);
  }, LIVE_DRILL_TIMEOUT_MS);
});
