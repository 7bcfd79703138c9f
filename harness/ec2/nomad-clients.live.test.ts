/**
 * The Nomad clients' Auto Scaling Group on the twin's Nomad API (`nomad-clients.ts`), the smallest stack that has
 * both: the twin's EC2/Auto Scaling/CloudWatch endpoint on a manual clock and the twin's Nomad API (no clients of
 * its own). An alarm on pending jobs made with the AWS CLI scales the group; its instances boot and register as
 * Nomad clients; the queue drains; scale-in drains each client through the lifecycle hook before its instance
 * terminates, and a terminated instance takes its node down.
 *
 *   npx vitest run --project live harness/ec2/nomad-clients.live.test.ts
 */
import { CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand, PutScalingPolicyCommand } from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NomadApiServer, type StartedNomadApiServer } from '../nomad/server.ts';
import { SimulatedTaskRunner } from '../nomad/task-runner.ts';
import { awsCli, cliScratch, closeTwin, GROUP, MINUTE, openTwin, probeAwsCli, REGION, START, type Twin } from './cloudwatch-live-twin.ts';
import { AVAILABLE_CPU, GAUGE_NAMESPACE, NomadClients, PENDING_JOBS, QUEUE_TIME } from './nomad-clients.ts';

const cli = probeAwsCli();
const scratch = cliScratch('twin-nomad-clients-');

/** A batch job of one task that takes a whole client (3 GB of the 4 GB a client of 8 GB offers after the 4 GB reservation: one per client), running `durationMs` of wall time. */
function job(id: string, durationMs: number) {
  return {
    Job: {
      ID: id,
      Type: 'batch',
      Datacenters: ['us-east-1'],
      Meta: { duration_ms: String(durationMs) },
      TaskGroups: [{ Name: 'build', Count: 1, Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: 1000, MemoryMB: 3000 } }] }],
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(cli.missing)(`the Nomad clients' group on the twin's Nomad API (AWS CLI ${cli.version})`, () => {
  let t: Twin;
  let nomad: StartedNomadApiServer;
  let clients: NomadClients;
  let cw: ReturnType<typeof awsCli>;
  /** The AWS CLI's Auto Scaling commands, at the endpoint's Auto Scaling URL. */
  let autoscaling: (...args: string[]) => Promise<Record<string, unknown> | undefined>;

  beforeAll(async () => {
    t = await openTwin();
    nomad = await new NomadApiServer().withClients([]).withTaskRunner(new SimulatedTaskRunner({ startDelayMs: 20 })).start();
    await t.asg.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'nomad-lc', ImageId: [...t.api.state.ec2.images.values()][0]!.imageId, InstanceType: 'm5.2xlarge' }));
    await t.asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: GROUP, LaunchConfigurationName: 'nomad-lc', MinSize: 0, MaxSize: 6, DesiredCapacity: 0, DefaultCooldown: 60, AvailabilityZones: [`${REGION}a`] }));
    clients = new NomadClients(t.api.state, nomad.state, { groupName: GROUP, client: { cpus: 4, memoryGb: 8 } });
    cw = awsCli(scratch, t.api.url);
    const asgCli = awsCli(scratch, t.api.autoscalingUrl);
    autoscaling = (...args) => asgCli.aws('autoscaling', ...args, '--endpoint-url', t.api.autoscalingUrl);
  }, 60_000);
  afterAll(async () => {
    clients?.dispose();
    await nomad?.stop();
    if (t !== undefined) await closeTwin(t);
  });

  const group = () => t.api.state.autoscaling.requireGroup(GROUP);
  const nodes = () => nomad.state.scheduler.nodes();
  /** Moves the endpoint's clock `ms` in 10 s steps (each a sync), giving the Nomad API's wall-clock tasks time to run. */
  const advance = async (ms: number) => {
    for (let done = 0; done < ms; done += 10_000) {
      t.clock.advance(Math.min(10_000, ms - done));
      t.api.state.sync();
      await sleep(60);
    }
  };

  it('an alarm on pending jobs (2 of 2 minutes) grows the fleet; the instances register as Nomad clients; the queue drains', async () => {
    const policy = await t.asg.send(
      new PutScalingPolicyCommand({ AutoScalingGroupName: GROUP, PolicyName: 'pending-out', PolicyType: 'StepScaling', AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 2 }] }),
    );
    await cw.aws('cloudwatch', 'put-metric-alarm', '--alarm-name', 'pending-jobs', '--namespace', GAUGE_NAMESPACE, '--metric-name', PENDING_JOBS, '--statistic', 'Maximum', '--period', '60',
      '--evaluation-periods', '2', '--datapoints-to-alarm', '2', '--treat-missing-data', 'notBreaching', '--threshold', '0', '--comparison-operator', 'GreaterThanThreshold', '--alarm-actions', policy.PolicyARN!);
    for (let i = 1; i <= 4; i++) {
      const res = await fetch(`${nomad.url}/v1/jobs`, { method: 'PUT', body: JSON.stringify(job(`build-${i}`, 1500)) });
      expect(res.status).toBe(200);
    }
    expect(nomad.state.scheduler.counts().pending).toBe(4);
    const timeline: string[] = [];
    for (let minute = 1; minute <= 10; minute++) {
      await advance(MINUTE);
      const g = group();
      timeline.push(`${minute}: desired ${g.desiredCapacity}, nodes ${nodes().filter((n) => n.status === 'ready').length}, pending ${nomad.state.scheduler.counts().pending}`);
    }
    console.log(timeline.join('\n'));
    // The gauges at 09:01:30 and 09:02:30 (4 pending) alarm at 09:03: +2; each instance a client 20 s after its
    // launch; still 2 pending at 09:03:30: +2 at 09:04 (the policy's cooldown is the group's 60 s).
    expect(timeline.slice(1, 5)).toEqual(['2: desired 0, nodes 0, pending 4', '3: desired 2, nodes 0, pending 4', '4: desired 4, nodes 2, pending 2', '5: desired 4, nodes 4, pending 0']);
    expect(timeline[9]).toMatch(/^10: desired 4, nodes 4, pending 0$/);
    await until('the four builds complete', () => nomad.state.scheduler.counts().complete === 4 || undefined);
    // The fleet is the group: every Nomad node is one of its instances, named by its id.
    const described = (await autoscaling('describe-auto-scaling-groups', '--auto-scaling-group-names', GROUP)) as { AutoScalingGroups: { DesiredCapacity: number; Instances: { InstanceId: string; LifecycleState: string }[] }[] };
    const instances = described.AutoScalingGroups[0]!.Instances;
    expect(described.AutoScalingGroups[0]!.DesiredCapacity).toBe(4);
    expect(instances.map((i) => i.LifecycleState)).toEqual(['InService', 'InService', 'InService', 'InService']);
    const nodeList = (await (await fetch(`${nomad.url}/v1/nodes`)).json()) as { Name: string; Status: string }[];
    expect(nodeList.map((n) => n.Name).sort()).toEqual(instances.map((i) => i.InstanceId).sort());
    // The gauge as CloudWatch holds it.
    const stats = (await cw.aws('cloudwatch', 'get-metric-statistics', '--namespace', GAUGE_NAMESPACE, '--metric-name', PENDING_JOBS, '--statistics', 'Maximum', '--period', '60',
      '--start-time', new Date(START).toISOString(), '--end-time', new Date(START + 10 * MINUTE).toISOString())) as { Datapoints: { Timestamp: string; Maximum: number }[] };
    const series = stats.Datapoints.sort((a, b) => Date.parse(a.Timestamp) - Date.parse(b.Timestamp)).map((d) => d.Maximum);
    console.log(`get-metric-statistics ${PENDING_JOBS} Maximum per minute: ${series.join(' ')}`);
    expect(series.slice(0, 4)).toEqual([4, 4, 2, 0]);
    // Each build's queue time (submitted to placed, in the Nomad API's wall time) once, over the ten minutes.
    const latency = (await cw.aws('cloudwatch', 'get-metric-statistics', '--namespace', GAUGE_NAMESPACE, '--metric-name', QUEUE_TIME, '--statistics', 'SampleCount', 'Maximum', '--period', '600',
      '--start-time', new Date(START).toISOString(), '--end-time', new Date(START + 10 * MINUTE).toISOString())) as { Datapoints: { SampleCount: number; Maximum: number; Unit: string }[] };
    console.log(`get-metric-statistics ${QUEUE_TIME}: ${JSON.stringify(latency.Datapoints)}`);
    expect(latency.Datapoints).toEqual([{ Timestamp: expect.anything(), SampleCount: 4, Maximum: expect.any(Number), Unit: 'Milliseconds' }]);
    expect(latency.Datapoints[0]!.Maximum).toBeGreaterThan(0);
    // The builds done, one more minute: the free CPU of the 4 idle clients, as Nomad reports it (MHz, 2,500 a core):
    // 4 x (4 cores less the 2 reserved) = 20,000 MHz.
    await advance(MINUTE);
    const now = t.api.state.nowMs();
    const free = (await cw.aws('cloudwatch', 'get-metric-statistics', '--namespace', GAUGE_NAMESPACE, '--metric-name', AVAILABLE_CPU, '--statistics', 'Maximum', '--period', '60',
      '--start-time', new Date(now - MINUTE).toISOString(), '--end-time', new Date(now).toISOString())) as { Datapoints: { Maximum: number }[] };
    expect(free.Datapoints.map((d) => d.Maximum)).toEqual([20_000]);
  }, 120_000);

  it('scale-in drains each client through the lifecycle hook, waits for its build, then terminates it; its node goes down', async () => {
    const res = await fetch(`${nomad.url}/v1/jobs`, { method: 'PUT', body: JSON.stringify(job('long-build', 15_000)) });
    expect(res.status).toBe(200);
    await until('the long build running', () => nomad.state.scheduler.counts().running === 1 || undefined);
    const busy = nodes().find((n) => n.runningAllocs > 0)!;
    await autoscaling('set-desired-capacity', '--auto-scaling-group-name', GROUP, '--desired-capacity', '0');
    t.api.state.sync();
    const states = () => [...group().instances.values()].map((m) => m.lifecycleState);
    expect(states()).toEqual(['Terminating:Wait', 'Terminating:Wait', 'Terminating:Wait', 'Terminating:Wait']);
    // Drained: ineligible (a spec drain without deadline ends by itself on a client with nothing running).
    expect(nodes().map((n) => n.eligibility)).toEqual(['ineligible', 'ineligible', 'ineligible', 'ineligible']);
    expect(nodes().find((n) => n.id === busy.id)?.drain).toBe(true);
    // The next check (the half minute): the three idle clients' hooks complete; the busy one records a heartbeat.
    await advance(MINUTE);
    const busyInstance = clients.instanceOfNode(busy.id)!;
    expect(group().instances.get(busyInstance)?.lifecycleState).toBe('Terminating:Wait');
    expect(nodes().filter((n) => n.status === 'down').length).toBe(3);
    await until('the long build done', () => nomad.state.scheduler.counts().running === 0 || undefined, 40_000);
    await advance(2 * MINUTE);
    expect(group().instances.size).toBe(0);
    expect(nodes().map((n) => n.status)).toEqual(['down', 'down', 'down', 'down']);
    const summary = (await (await fetch(`${nomad.url}/v1/job/long-build/summary`)).json()) as { Summary: { build: { Complete: number; Lost: number } } };
    expect(summary.Summary.build).toMatchObject({ Complete: 1, Lost: 0 });
    console.log(clients.events.join('\n'));
  }, 120_000);

  it('a scheduled action (aws autoscaling put-scheduled-update-group-action) boots instances that register as Nomad clients', async () => {
    const at = Math.ceil((t.api.state.nowMs() + 2 * MINUTE) / MINUTE) * MINUTE;
    await autoscaling('put-scheduled-update-group-action', '--auto-scaling-group-name', GROUP, '--scheduled-action-name', 'morning', '--start-time', new Date(at).toISOString(), '--desired-capacity', '2');
    const ready = () => nodes().filter((n) => n.status === 'ready').length;
    expect(ready()).toBe(0);
    await advance(at - t.api.state.nowMs() + 30_000);
    const described = (await autoscaling('describe-auto-scaling-groups', '--auto-scaling-group-names', GROUP)) as { AutoScalingGroups: { DesiredCapacity: number; Instances: { InstanceId: string; LifecycleState: string }[] }[] };
    const instances = described.AutoScalingGroups[0]!.Instances;
    expect(instances.map((i) => i.LifecycleState)).toEqual(['InService', 'InService']);
    expect(ready()).toBe(2);
    // The two new clients are the new instances; the four terminated ones' nodes stay down.
    const live = nodes().filter((n) => n.status === 'ready').map((n) => clients.instanceOfNode(n.id));
    expect(live.sort()).toEqual(instances.map((i) => i.InstanceId).sort());
    expect(nodes().filter((n) => n.status === 'down')).toHaveLength(4);
  }, 60_000);
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
