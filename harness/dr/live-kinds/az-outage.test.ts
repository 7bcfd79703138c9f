/**
 * The live cold fail-over's EC2 side and the replica's volume, on the twin's EC2 endpoint in this process (fast
 * timings) with a stand-in for the Services machine: the replica launched in another zone, its volume the primary's
 * stores with its own /etc/default and no /opt/nomad, the IP refused while the dead primary still holds it, moved
 * once EC2 reports it terminated.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { Ec2Api, type StartedEc2Api } from '../../ec2/server.ts';
import type { ServicesMachine } from '../services-machine.ts';
import { replicatedAddresses, writeMachineConfig } from '../services-volume.ts';
import type { RunbookStep } from '../../../sim/models/dr/runbook.ts';
import { REPLICA_TAG, ReplicaFailover } from './az-outage.ts';

const step = (does: RunbookStep['does']): RunbookStep => ({ name: does, does, seed: { file: 'f', section: 's' }, duration: { kind: 'lognormal', medianMs: 1, p95Ms: 2 }, requires: [] });

describe('ReplicaFailover (az_outage with a replica, live)', () => {
  let ec2: StartedEc2Api;
  let client: EC2Client;
  let primary: { id: string; ip: string; zone: string };
  let replica: ReplicaFailover;
  const failedOver: { instance: { instanceId: string; privateIp: string; volumeId: string }; files: string[]; replicated: string[] }[] = [];
  const machine = {
    instanceId: '',
    secondaryIp: undefined as string | undefined,
    appRunning: false,
    nomad: undefined,
    judged: 0,
    /** The primary's volume: a store's file, /opt/nomad's state, its own /etc/default naming its address. */
    copyVolumeTo(dir: string) {
      mkdirSync(join(dir, 'postgres'), { recursive: true });
      writeFileSync(join(dir, 'postgres', 'PG_VERSION'), '15\n');
      mkdirSync(join(dir, 'nomad_server'), { recursive: true });
      writeFileSync(join(dir, 'nomad_server', 'state.json'), '{"jobs":[1]}');
      writeMachineConfig(join(dir, 'etc'), primary.ip);
      return { holdMs: 12.5, bytes: 4096, parts: ['postgres', 'nomad_server', 'etc'] };
    },
    async failOverTo(instance: { instanceId: string; privateIp: string; volumeId: string }, dir: string) {
      failedOver.push({ instance, files: readdirSync(dir).sort(), replicated: replicatedAddresses(join(dir, 'etc')) });
    },
    judgeBuilders() {
      this.judged++;
    },
    buildersReach: () => false,
  };

  beforeAll(async () => {
    ec2 = await new Ec2Api().withRegion('us-east-1').withSeed(3).withTimings({ bootMs: 0, terminateMs: 400 }).start();
    client = new EC2Client({ endpoint: ec2.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    const ami = [...ec2.state.ec2.images.values()].find((i) => i.isPublic)!.imageId;
    const r = await client.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 'm4.2xlarge', MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'circleci_services' }] }] }));
    const i = r.Instances![0]!;
    primary = { id: i.InstanceId!, ip: i.PrivateIpAddress!, zone: i.Placement!.AvailabilityZone! };
    machine.instanceId = primary.id;
    const until = async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((res) => setTimeout(res, 25));
      }
    };
    replica = await ReplicaFailover.launch({ ec2: client, machine: machine as unknown as ServicesMachine, zones: ec2.state.ec2.network.availabilityZones, note: () => undefined, call: (x) => x, until });
  });

  afterAll(async () => {
    await replica?.dispose();
    client?.destroy();
    await ec2?.stop();
  });

  it('launches the replica in another zone, tagged so that the seeds\' backup script still finds the primary alone', async () => {
    const r = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [REPLICA_TAG] }] }));
    const i = r.Reservations![0]!.Instances![0]!;
    expect(i.State!.Name).toBe('running');
    expect(i.Placement!.AvailabilityZone).not.toBe(primary.zone);
    const boxes = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['circleci_services'] }] }));
    expect(boxes.Reservations!.flatMap((x) => x.Instances!.map((y) => y.InstanceId))).toEqual([primary.id]);
    expect(replica.measures()).toMatchObject({ replica: { zone: i.Placement!.AvailabilityZone, primary_zone: primary.zone, private_ip: i.PrivateIpAddress, copy: null } });
  });

  it('holds the primary\'s stores with its own /etc/default (its address) and no /opt/nomad; the machine becomes it at the disaster', async () => {
    await replica.backup();
    await client.send(new TerminateInstancesCommand({ InstanceIds: [primary.id] }));
    await replica.afterDisaster();
    expect(failedOver).toHaveLength(1);
    const { instance, files, replicated } = failedOver[0]!;
    expect(instance.privateIp).not.toBe(primary.ip);
    expect(files).toEqual(['etc', 'postgres']);
    expect(replicated).toEqual([instance.privateIp, instance.privateIp]);
    expect(replica.rpoMs({ snapshotAtMs: 11_370_000, disasterAtMs: 11_400_000 })).toBe(30_000);
    expect(replica.restored()).toBe(false);
  });

  it('cannot move the IP while the dead primary still holds it; once EC2 reports it terminated the IP goes to the replica\'s interface', async () => {
    const at = { oldIp: primary.ip, oldInstanceId: primary.id };
    const early = await replica.apply(step('reassign_private_ip'), at);
    expect(early).toMatch(/^AssignPrivateIpAddresses refused \(InvalidParameterValue: .*is the primary private IP address/);
    expect(machine.secondaryIp).toBeUndefined();
    expect(await replica.apply(step('confirm_primary_dead'), at)).toBe(`${primary.id} in ${primary.zone} is terminated: ${primary.ip} is free`);
    expect(await replica.apply(step('reassign_private_ip'), at)).toMatch(/re-associated to the replica's eni-\w+ as a secondary IP$/);
    expect(machine.secondaryIp).toBe(primary.ip);
    expect(machine.judged).toBe(1);
    const r = await client.send(new DescribeInstancesCommand({ InstanceIds: [failedOver[0]!.instance.instanceId] }));
    const addresses = r.Reservations![0]!.Instances![0]!.NetworkInterfaces![0]!.PrivateIpAddresses!.map((a) => a.PrivateIpAddress);
    expect(addresses).toEqual([failedOver[0]!.instance.privateIp, primary.ip]);
    // The other steps are the rehearsal's own.
    expect(await replica.apply(step('start_app'), at)).toBeUndefined();
  });
});
