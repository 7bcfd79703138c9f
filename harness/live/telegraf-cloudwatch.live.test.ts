/**
 * twin up's gauges reach CloudWatch only through telegraf (issue 15): nomad-metrics polls the twin's Nomad API and
 * sends its gauges over UDP to telegraf, whose flushes the stack publishes to the EC2 endpoint's CloudWatch as
 * `[[outputs.cloudwatch]]` would (`ServicesMachine.attach` with `TWIN_UP_ATTACH`, as `twin up` attaches it). Killing
 * telegraf leaves a real gap: GetMetricStatistics has no datapoint for the minutes it was down, an alarm on pending
 * jobs goes to INSUFFICIENT_DATA, and data (and OK) come back once it is started again; the same for nomad-metrics. The EC2 endpoint runs at 20x
 * (a model minute is 3 wall s), nomad-metrics polls every 500 wall ms and telegraf flushes every 1.5 wall s.
 *
 *   flock /tmp/twin-live.lock nice -n 19 npx vitest run --project live harness/live/telegraf-cloudwatch.live.test.ts
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricStatisticsCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../../fixtures/load.ts';
import { scaledClock } from '../ec2/clock.ts';
import { AVAILABLE_CPU, GAUGE_NAMESPACE, PENDING_JOBS } from '../ec2/nomad-clients.ts';
import { Ec2Api, StartedEc2Api } from '../ec2/server.ts';
import { ServicesMachine, TWIN_UP_ATTACH } from '../dr/services-machine.ts';
import { liveBackends } from './backends.ts';
import { LiveStack } from './stack.ts';

const SCALE = 20;
const MINUTE = 60_000;
/** Wall ms for `minutes` of the endpoint's model time. */
const wall = (minutes: number) => (minutes * MINUTE) / SCALE;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("twin up's gauges in CloudWatch come from telegraf's flushes", () => {
  const profile = loadProfile('2.19.6');
  const parts = liveBackends(profile);
  const externals = { ...parts.externals, ec2: () => new Ec2Api().withPort(0).withClock(scaledClock(SCALE)).withTimings({ bootMs: 1_000, terminateMs: 1_000 }).start() };
  const stack = new LiveStack({ profile, portOffset: 29_500, backends: parts.backends, externals, services: parts.services, migrate: parts.migrate, metricsPollMs: 500 });
  let machine: ServicesMachine | undefined;
  let ec2: StartedEc2Api;
  let cw: CloudWatchClient;

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
    ec2 = stack.components.get('ec2') as StartedEc2Api;
    machine = await ServicesMachine.attach(stack, ec2, { nomadClients: 3, ...TWIN_UP_ATTACH });
    cw = new CloudWatchClient({ endpoint: ec2.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  }, 180_000);
  afterAll(async () => {
    cw?.destroy();
    await stack.down();
    await machine?.dispose();
  });

  /** The minutes (model epoch ms, each period's start: periods start at StartTime) GetMetricStatistics has a datapoint for. */
  const minutesWithData = async (metric: string, fromMs: number, toMs: number) => {
    const r = await cw.send(new GetMetricStatisticsCommand({ Namespace: GAUGE_NAMESPACE, MetricName: metric, StartTime: new Date(fromMs), EndTime: new Date(toMs), Period: 60, Statistics: ['SampleCount', 'Maximum'] }));
    return new Set((r.Datapoints ?? []).map((d) => d.Timestamp!.getTime()));
  };
  const alarmState = async () => (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['pending-jobs'] }))).MetricAlarms?.[0]?.StateValue;
  const floorMinute = (ms: number) => Math.floor(ms / MINUTE) * MINUTE;

  /**
   * Kills `name` for 8 model minutes after 5 with data, starts it again and waits 5 more: neither gauge has a
   * datapoint in the whole minutes it was down (one minute of slack after the kill for a flush in flight), both have
   * them in the minutes before and after; the alarm on pending jobs is OK, INSUFFICIENT_DATA at the end of the
   * outage, OK again.
   */
  const outage = async (name: 'telegraf' | 'nomad-metrics') => {
    ec2.state.sync();
    const t0 = ec2.state.nowMs();
    await sleep(wall(5));
    const ok = await alarmState();
    ec2.state.sync();
    const killedAt = ec2.state.nowMs();
    await stack.kill(name);
    await sleep(wall(8));
    const insufficient = await alarmState();
    ec2.state.sync();
    const startedAt = ec2.state.nowMs();
    await stack.start(name);
    await sleep(wall(5));
    const back = await alarmState();
    ec2.state.sync();
    const end = ec2.state.nowMs();
    const down: number[] = [];
    for (let m = floorMinute(killedAt) + 2 * MINUTE; m + MINUTE <= floorMinute(startedAt); m += MINUTE) down.push(m);
    const before = [floorMinute(killedAt) - 2 * MINUTE, floorMinute(killedAt) - MINUTE];
    const after = [floorMinute(startedAt) + 2 * MINUTE, floorMinute(startedAt) + 3 * MINUTE];
    expect(down.length).toBeGreaterThanOrEqual(5);
    for (const metric of [PENDING_JOBS, AVAILABLE_CPU]) {
      const got = await minutesWithData(metric, floorMinute(t0), end);
      const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());
      console.info(`${metric}: data at ${iso([...got].sort())}; ${name} down ${new Date(killedAt).toISOString()} to ${new Date(startedAt).toISOString()}`);
      expect(iso(down.filter((m) => got.has(m))), `${metric}: datapoints while ${name} was down`).toEqual([]);
      expect(iso(before.filter((m) => !got.has(m))), `${metric}: minutes without data before the kill`).toEqual([]);
      expect(iso(after.filter((m) => !got.has(m))), `${metric}: minutes without data after the start`).toEqual([]);
    }
    expect([ok, insufficient, back]).toEqual(['OK', 'INSUFFICIENT_DATA', 'OK']);
  };

  it('a killed telegraf is a gap in get-metric-statistics and INSUFFICIENT_DATA on the alarm; data and OK come back after it starts', async () => {
    await cw.send(new PutMetricAlarmCommand({ AlarmName: 'pending-jobs', Namespace: GAUGE_NAMESPACE, MetricName: PENDING_JOBS, Statistic: 'Maximum', Period: 60, EvaluationPeriods: 1, Threshold: 1_000, ComparisonOperator: 'GreaterThanThreshold' }));
    await outage('telegraf');
  }, 240_000);

  it('so is a killed nomad-metrics (telegraf flushes on, without its gauges)', async () => {
    await outage('nomad-metrics');
  }, 240_000);
});
