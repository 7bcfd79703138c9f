import { describe, expect, it } from 'vitest';
import { containerLogs, type LogSources } from './container-logs.ts';
import { SymptomRecorder } from './recorder.ts';
import { Twin } from '../twin.ts';
import { conformanceScenarios } from '../conformance/conformance.ts';
import type { SettledScenario } from '../scenario/settled.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';

/**
 * `sudo docker logs <container>` on a simulated installation, as the training shell shows it: every container of
 * the Services machine writes lines, and a killed container's documented effect shows in the logs people read.
 */
const context = fixtureContext();
const profile = loadProfile('2.19.6');
const rows = conformanceScenarios(profile, { context });
const KILL_MS = 2 * 3_600_000;
/** Looked at 90 minutes into the outage, inside the log window of every line since the kill. */
const LOOK_MS = KILL_MS + 90 * 60_000;

/** The installation of a row's scenario run to `untilMs`, with or without its fault, and its log sources. */
function installation(scenario: SettledScenario, untilMs: number, withoutFaults: boolean): LogSources {
  const recorder = new SymptomRecorder();
  const twin = new Twin(scenario, profile, { trace: recorder.onTrace, withoutFaults });
  recorder.attach((id) => twin.conductor.inflight.get(id));
  twin.begin();
  twin.advanceTo(untilMs);
  recorder.resolve();
  const history = twin.services.history;
  return { nowMs: untilMs, history: (n) => history.filter((h) => h.name === n), builds: recorder.list(), allocs: [...recorder.allocs.values()], events: recorder.events, containers: profile.containers };
}

const rowOf = (container: string) => rows.find((r) => r.container === container && (r.condition === 'default' || r.condition === 'ldap'))!;
const since = (lines: string[], fromMs: number) => lines.filter((l) => l >= stamp(fromMs));
/** The services' timestamp prefix (`Jan 5 10:00:00.000`) of a virtual instant, comparable as text within a day. */
function stamp(ms: number): string {
  const d = new Date(Date.UTC(2026, 0, 5, 8) + ms);
  return `Jan ${d.getUTCDate()} ${d.toISOString().slice(11, 23)}`;
}

describe('sudo docker logs, every container (2.19.6)', () => {
  const healthy = installation(rows[0]!.scenario, LOOK_MS, true);

  it('every container of the Services machine writes lines in a healthy installation', () => {
    const silent = profile.containers.map((c) => c.name).filter((n) => containerLogs(n, healthy).length === 0);
    expect(silent).toEqual([]);
  });

  it('exim down: notifier cannot send the failed builds\' emails; exim logs no delivery', () => {
    const s = installation(rowOf('exim').scenario, LOOK_MS, false);
    const notifier = since(containerLogs('notifier', s), KILL_MS);
    expect(notifier.some((l) => l.includes('Could not connect to SMTP host: exim, port: 25'))).toBe(true);
    expect(containerLogs('notifier', healthy).some((l) => l.includes('Could not connect'))).toBe(false);
    expect(since(containerLogs('exim', s), KILL_MS + 1).filter((l) => l.includes('Completed'))).toEqual([]);
  });

  it('slanger down: no build-status event is pushed while it is down', () => {
    const s = installation(rowOf('slanger').scenario, LOOK_MS, false);
    expect(since(containerLogs('slanger', s), KILL_MS + 1).filter((l) => l.includes('event=build-status'))).toEqual([]);
    expect(since(containerLogs('slanger', healthy), KILL_MS + 1).filter((l) => l.includes('event=build-status')).length).toBeGreaterThan(0);
  });

  it('audit-log-service down: the hourly file is not written', () => {
    const s = installation(rowOf('audit-log-service').scenario, LOOK_MS, false);
    const written = (src: LogSources) => containerLogs('audit-log-service', src).filter((l) => l.includes('audit-logs/audit_log/v1/2026-01-05/11.json'));
    expect(written(healthy)).toHaveLength(1);
    expect(written(s)).toEqual([]);
  });

  it('ready-agent answers 503 naming a killed container, 200 when all run', () => {
    const s = installation(rowOf('nomad-metrics').scenario, LOOK_MS, false);
    expect(since(containerLogs('ready-agent', s), KILL_MS + 1).some((l) => l.endsWith('WARN ready-agent GET /ready 503: not ready: nomad-metrics'))).toBe(true);
    expect(containerLogs('ready-agent', healthy).every((l) => l.endsWith('GET /ready 200: all services ready'))).toBe(true);
  });

  for (const [container, text] of [
    ['nomad-metrics', 'polled the Nomad server'],
    ['telegraf', 'wrote batch of statsd metrics'],
    ['shutdown-hook-poller', 'polled frontend for 1.0 Builder shutdown requests'],
    ['server-usage-stats', 'sent the user count'],
    ['vm-gc', 'vm-gc sweep'],
  ] as const) {
    it(`${container} down: its periodic line stops (\`${text}\`)`, () => {
      const s = installation(rowOf(container).scenario, LOOK_MS, false);
      const after = (src: LogSources) => since(containerLogs(container, src), KILL_MS + 1).filter((l) => l.includes(text));
      expect(after(healthy).length).toBeGreaterThan(0);
      expect(after(s)).toEqual([]);
    });
  }

  it('a migrator shows its boot run, and when restarted a run with nothing to migrate', () => {
    const s = installation(rowOf('contexts-service-migrator').scenario, 6 * 3_600_000 + 60_000, false);
    const lines = containerLogs('contexts-service-migrator', s);
    expect(lines.filter((l) => l.includes('applied pending migrations'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('no pending migrations'))).toHaveLength(1);
    expect(containerLogs('contexts-service-migrator', healthy).some((l) => l.includes('no pending migrations'))).toBe(false);
  });

  it('a service whose dependency is down says so once a minute; not when all run', () => {
    const s = installation(rowOf('vault-cci').scenario, LOOK_MS, false);
    const errors = containerLogs('contexts-service', s).filter((l) => l.includes('cannot reach vault-cci'));
    expect(errors.length).toBe(90);
    expect(containerLogs('contexts-service', healthy).some((l) => l.includes('cannot reach'))).toBe(false);
  });

  it('test-results down: nothing parsed while down; back-filled at its restart', () => {
    const s = installation(rowOf('test-results').scenario, 6 * 3_600_000 + 60_000, false);
    const lines = containerLogs('test-results', s);
    expect(lines.some((l) => /back-filling \d+ results stored while the service was down/.test(l))).toBe(true);
    expect(lines.filter((l) => l.includes('parsed JUnit') && l >= stamp(KILL_MS + 1) && l < stamp(6 * 3_600_000))).toEqual([]);
  });
});
