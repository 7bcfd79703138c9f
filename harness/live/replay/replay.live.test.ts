/**
 * Sim-versus-live agreement in CI: `twin agree` replays kill-rabbitmq and picard-dispatcher-outage on the live
 * pipeline (private PostgreSQL, Redis and RabbitMQ processes, the twin's services) at 240× and compares each
 * with the simulation of the same seed. At 240× a 4-hour scenario takes a minute of wall time.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import type { Report } from '../../../sim/report/types.ts';

const SCENARIOS = new URL('../../../scenarios/failures/', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'twin-agree-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function capture() {
  const lines = { stdout: '', stderr: '' };
  return { lines, io: { stdout: { write: (s: string) => (lines.stdout += s) }, stderr: { write: (s: string) => (lines.stderr += s) } } };
}

const ours = () => readdirSync(tmpdir()).filter((d) => /^twin-(postgres|redis|rabbitmq)-/.test(d));

async function agree(name: string): Promise<{ code: number; report: Report; md: string; stdout: string }> {
  const before = new Set(ours());
  const c = capture();
  const dir = join(out, name);
  const code = await main(['agree', join(SCENARIOS, `${name}.yaml`), '--time-scale', '240', '--out', dir, '-q'], c.io);
  // The run removed every data directory it created.
  expect(ours().filter((d) => !before.has(d))).toEqual([]);
  expect(existsSync(join(dir, 'report.json')), c.lines.stderr).toBe(true);
  return { code, report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report, md: readFileSync(join(dir, 'report.md'), 'utf8'), stdout: c.lines.stdout };
}

describe('twin agree (live replay vs simulation)', () => {
  it('kill-rabbitmq: SIGKILLs the real RabbitMQ node, loses the non-durable run queue, agrees with the simulation', async () => {
    const { code, report, md, stdout } = await agree('kill-rabbitmq');
    expect(report.mode).toBe('live');
    expect(report.live?.fault_log.some((l) => /kill rabbitmq: SIGKILL to rabbitmq \(pid \d+\)/.test(l))).toBe(true);
    expect(report.live?.fault_log.some((l) => /start rabbitmq: rabbitmq started in \d+ ms/.test(l))).toBe(true);
    expect(report.builds.lost).toBeGreaterThanOrEqual(50);
    expect(report.builds.not_triggered).toBeGreaterThanOrEqual(1);
    expect(report.affected_builds.some((a) => a.fate === 'lost' && a.reason === 'message lost from a non-durable queue when rabbitmq went down (run-queue)')).toBe(true);
    expect(report.ledger.conserved).toBe(true);
    expect(report.observed_severity).toBe('severe');
    expect(report.expectations.every((e) => e.passed)).toBe(true);
    expect(report.agreement?.agrees, JSON.stringify(report.agreement?.checks)).toBe(true);
    expect(report.live?.peak_rss_mb).toBeGreaterThan(0);
    expect(Object.keys(report.live!.backends)).toEqual(expect.arrayContaining(['postgres', 'redis', 'rabbitmq', 'mongo', 's3', 'nomad_server', 'github']));
    expect(md).toContain('## Agreement with the simulation');
    expect(stdout).toContain('agrees with the simulation');
    expect(code).toBe(0);
  }, 300_000);

  it('picard-dispatcher-outage: the run queue backs up and drains, nothing lost, agrees with the simulation', async () => {
    const { code, report } = await agree('picard-dispatcher-outage');
    expect(report.builds.lost + report.builds.stuck + report.builds.not_triggered).toBe(0);
    expect(report.builds.succeeded).toBe(report.builds.triggered);
    expect(report.run_queue_latency_ms.max).toBeGreaterThanOrEqual(20 * 60_000);
    expect(report.metrics['circle.build-queue.runnable.builds']?.max).toBeGreaterThanOrEqual(50);
    expect(report.observed_severity).toBe('moderate');
    // Everything that finished is in object storage and the audit log.
    expect(report.data_loss).toMatchObject({ step_output: 0, artifacts: 0, test_results: 0, audit_events: 0 });
    const stored = report.live!.stored;
    expect(stored.action_logs).toBe(report.builds.succeeded);
    expect(stored.test_results).toBeGreaterThan(report.builds.succeeded / 3);
    expect(stored.artifacts).toBeGreaterThan(report.builds.succeeded);
    // workflow.start per workflow; workflow.job.scheduled and workflow.job.finish per build.
    expect(stored.audit_events_recorded).toBe(report.workflows.started + 2 * report.builds.succeeded);
    expect(stored.audit_events_persisted).toBe(stored.audit_events_recorded);
    expect(report.agreement?.agrees, JSON.stringify(report.agreement?.checks)).toBe(true);
    expect(code).toBe(0);
  }, 300_000);
});
