import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../fixtures/load.ts';
import type { DataLoss } from '../report/types.ts';
import type { SettledFault } from '../scenario/settled.ts';
import { downIntervals, faultHistory, liveSymptoms, type LiveSymptomInput } from './live.ts';
import { LOG_LINES } from './log-lines.ts';

const profile = loadProfile('2.19.6');
const NONE: DataLoss = { step_output: 0, artifacts: 0, test_results: 0, audit_events: 0, live_step_output: 0, build_records: 0, workflow_records: 0 };
const fault = (atMs: number, action: SettledFault['action'], target: string, forMs?: number): SettledFault => ({ atMs, action, target, writtenTarget: target, count: 1, ...(forMs === undefined ? {} : { forMs }) });

function input(over: Partial<LiveSymptomInput>): LiveSymptomInput {
  return { containers: profile.containers, faults: [], endedAtMs: 4 * 3_600_000, outcomes: [], dataLoss: NONE, ui: { requests: 0, failed: 0, failed_by_kind: {} }, flushMs: profile.metrics.statsd_interval_ms, ...over };
}
const text = (i: LiveSymptomInput) => liveSymptoms(i).map((s) => `${s.container} · ${s.view} · ${s.what} ×${s.count}`);

describe('the symptoms of a live run', () => {
  it('are none when nothing failed', () => {
    expect(liveSymptoms(input({}))).toEqual([]);
  });

  it('show a killed container in docker ps, its health endpoint and ready-agent, and what it stopped doing meanwhile', () => {
    const t = text(input({ faults: [fault(3_600_000, 'kill', 'picard-dispatcher', 10 * 60_000)] }));
    expect(t).toContain('picard-dispatcher · docker-ps · listed as Exited (137) ×1');
    expect(t).toContain('picard-dispatcher · health · server-ready-agent answers 503 (picard-dispatcher not ready) ×1');
    // Ten minutes down: five of its two-minute heartbeats missing.
    expect(t).toContain('picard-dispatcher · logs · no `picard-dispatcher.init Still running...` heartbeat ×5');
  });

  it('count one metrics gap per statsd flush while telegraf is down, to the end of the run if it never came back', () => {
    const end = 3_600_000 + 60_000;
    const t = text(input({ faults: [fault(3_600_000, 'stop', 'telegraf')], endedAtMs: end }));
    expect(t).toContain(`telegraf · metrics · no metric was forwarded for a flush interval (every gauge has a gap) ×${60_000 / profile.metrics.statsd_interval_ms}`);
    expect(t).toContain('telegraf · docker-ps · listed as Exited (0) ×1');
  });

  it('attribute build fates to the container their reason names; a failure while exim is down was not mailed, and slanger pushed nothing', () => {
    const faults = [fault(0, 'kill', 'exim'), fault(0, 'kill', 'slanger', 3_600_000)];
    const t = text(input({ faults, outcomes: [
      { fate: 'failed', reason: 'vault-cci down: contexts could not be decrypted', at_ms: 1_000 },
      { fate: 'failed', reason: 'the job failed (exit 1)', at_ms: 2 * 3_600_000 },
      { fate: 'not_triggered', reason: 'frontend down: webhook dropped', at_ms: 5_000 },
    ] }));
    expect(t).toContain('vault-cci · builds · failed: vault-cci down: contexts could not be decrypted ×1');
    expect(t).toContain('pipeline · builds · failed: the job failed (exit 1) ×1');
    expect(t).toContain('frontend · builds · not triggered: frontend down: webhook dropped ×1');
    expect(t).toContain('exim · email · a :build-failed email was not sent ×2');
    // slanger was back after an hour: only the first failure went unpushed; a dropped webhook is no status change.
    expect(t).toContain("slanger · live-updates · a build's status change (failed) was not pushed to open builds pages ×1");
  });

  it('attribute lost data and failed UI requests to the first store that was down', () => {
    const t = text(input({ faults: [fault(600_000, 'kill', 'rabbitmq', 60_000), fault(60_000, 'kill', 'mongo', 60_000)], dataLoss: { ...NONE, audit_events: 12, step_output: 3 }, ui: { requests: 10, failed: 4, failed_by_kind: { 'builds page': 4 } } }));
    expect(t).toContain('rabbitmq · builds · audit events lost (events missing from the audit log) ×12');
    expect(t).toContain('mongo · builds · step output lost (the build page shows no step output) ×3');
    expect(t).toContain('mongo · ui · builds page fails ×4');
  });

  it('count what the services said in their own logs: each `cannot reach` line is a symptom of the dependency, seen in the service\'s log', () => {
    const said = (container: string, dependency: string, atMs: number) => ({ container, atMs, text: LOG_LINES.cannotReach(container, dependency) });
    const t = text(input({ serviceLogs: [
      said('picard-dispatcher', 'rabbitmq', 60_000), said('picard-dispatcher', 'rabbitmq', 120_000), said('schedulerer', 'rabbitmq', 60_000),
      said('audit-log-service', 'object storage', 90_000),
      { container: 'picard-dispatcher', atMs: 61_000, text: LOG_LINES.stillRunning },
    ] }));
    // Object storage is no container of the profile: the service that said it carries it.
    expect([...t].sort()).toEqual([
      'audit-log-service · logs · audit-log-service: cannot reach object storage ×1',
      'rabbitmq · logs · picard-dispatcher: cannot reach rabbitmq ×2',
      'rabbitmq · logs · schedulerer: cannot reach rabbitmq ×1',
    ]);
    const s = liveSymptoms(input({ serviceLogs: [said('picard-dispatcher', 'rabbitmq', 60_000), said('picard-dispatcher', 'rabbitmq', 120_000)] }));
    expect(s).toEqual([{ container: 'rabbitmq', view: 'logs', what: 'picard-dispatcher: cannot reach rabbitmq', where: 'sudo docker logs picard-dispatcher', count: 2, first_at_ms: 60_000, last_at_ms: 120_000 }]);
  });

  it('with the services\' logs, count the emails and live updates notifier could not deliver from its own lines, not from when exim or slanger was down', () => {
    const faults = [fault(0, 'kill', 'exim'), fault(0, 'kill', 'slanger')];
    const outcomes = [{ fate: 'failed' as const, reason: 'the job failed (exit 1)', at_ms: 1_000 }, { fate: 'failed' as const, reason: 'the job failed (exit 1)', at_ms: 2_000 }];
    const notifier = (atMs: number, text: string) => ({ container: 'notifier', atMs, text });
    const t = text(input({ faults, outcomes, serviceLogs: [
      notifier(1_000, LOG_LINES.emailFailed('twin/app/1')), notifier(1_000, LOG_LINES.emailFailedCause), notifier(1_000, LOG_LINES.livePushFailed('twin/app/1', 'failed')),
      // The second failure's notification got through (exim answered): not a symptom.
      notifier(2_000, LOG_LINES.emailSending('twin/app/2')),
      // A line of another container's that happens to read like notifier's is not notifier's.
      { container: 'output-processor', atMs: 3_000, text: LOG_LINES.emailFailed('twin/app/3') },
    ] }));
    expect(t).toContain('exim · email · a :build-failed email was not sent ×1');
    expect(t).toContain('exim · logs · notifier: Could not connect to SMTP host: exim, port: 25 ×1');
    expect(t).toContain("slanger · live-updates · a build's status change (failed) was not pushed to open builds pages ×1");
    // Without the logs the two failures while both were down are inferred, as before.
    const inferred = text(input({ faults, outcomes }));
    expect(inferred).toContain('exim · email · a :build-failed email was not sent ×2');
    expect(inferred).toContain("slanger · live-updates · a build's status change (failed) was not pushed to open builds pages ×2");
  });

  it('read a pause as a hang and the Services machine\'s stop as every container\'s', () => {
    expect(text(input({ faults: [fault(0, 'pause', 'frontend', 1000)] }))).toContain('frontend · health · curl :80/ times out ×1'.replace(':80/', `:${profile.containers.find((c) => c.name === 'frontend')!.health!.port}${profile.containers.find((c) => c.name === 'frontend')!.health!.path}`));
    const names = new Set(profile.containers.map((c) => c.name));
    const h = faultHistory([fault(0, 'stop', 'services_machine', 1000)], names, 10_000);
    expect(h.filter((e) => e.state === 'stopped')).toHaveLength(names.size);
    expect(downIntervals(h, 10_000).get('postgres')).toEqual([[0, 1000]]);
  });
});
