/**
 * The builders' rotation (`builders-rotation.ts`) through the Auto Scaling and EC2 APIs, on a stack of the twin's
 * Nomad server alone (no process, in seconds): the Services machine restored at a new private IP cuts the original
 * builders off; rotated without the secret token, the new builders cannot register and the waiting build stays
 * pending; rotated with it, they register as Nomad clients and the build is placed. The full stack's version is
 * `builders-rotation.live.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateSnapshotCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RegisterImageCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { loadProfile } from '../../fixtures/load.ts';
import { LiveStack } from '../live/stack.ts';
import { Ec2Api, type StartedEc2Api } from '../ec2/server.ts';
import { NomadApiServer } from '../nomad/server.ts';
import { ServicesMachine, SERVICES_TAG } from './services-machine.ts';
import { readSecretToken, updateReplicatedAddresses } from './services-volume.ts';
import { BuildersRotation } from './builders-rotation.ts';

const full = loadProfile('2.19.6');
const nomadOnly = { ...full, containers: full.containers.filter((c) => c.name === 'nomad_server') };
const TOKEN = '0123456789abcdef0123456789abcdef01234567';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 20_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the builders rotated onto a Services machine at a new private IP (reassociate-builders live)', () => {
  let ec2: StartedEc2Api;
  let stack: LiveStack;
  let machine: ServicesMachine;
  let client: EC2Client;
  let rotation: BuildersRotation;

  beforeAll(async () => {
    ec2 = await new Ec2Api().withPort(0).withTimings({ bootMs: 100, terminateMs: 100, snapshotBaseMs: 100, snapshotPerGibMs: 0 }).start();
    stack = new LiveStack({
      profile: nomadOnly,
      portOffset: 24_000,
      backends: { nomad_server: () => new NomadApiServer().withPort(0).withClients([{ name: 'c1', cpus: 4, memoryGb: 8 }, { name: 'c2', cpus: 4, memoryGb: 8 }]).start() },
    });
    expect(await stack.up()).toEqual([]);
    machine = await ServicesMachine.attach(stack, ec2, { nomadClients: 2, fleetIsGroup: true, secretToken: TOKEN });
    client = new EC2Client({ endpoint: ec2.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    rotation = new BuildersRotation({ api: ec2, ec2: client, machine, region: 'us-east-1', credentials: CREDENTIALS, until: (what, probe) => until(what, probe), call: (r) => r });
    await until('the group to take over both clients', async () => (machine.clients!.nodeOf.size === 2 ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    rotation?.dispose();
    client?.destroy();
    await stack?.down();
    await machine?.dispose();
    await ec2?.stop();
  });

  const put = (id: string) =>
    fetch(`${machine.nomad!.url}/v1/jobs`, {
      method: 'PUT',
      body: JSON.stringify({ Job: { ID: id, Type: 'batch', Datacenters: ['us-east-1'], Meta: { duration_ms: '600000' }, TaskGroups: [{ Name: 'build', Count: 1, Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: 2500, MemoryMB: 1024 } }] }] } }),
    }).then((r) => (r.status === 200 ? true : undefined));
  const status = async (id: string) => ((await (await fetch(`${machine.nomad!.url}/v1/job/${id}`)).json()) as { Status: string }).Status;
  const ready = () => machine.nomad!.state.scheduler.nodes().filter((n) => n.status === 'ready').map((n) => n.id);

  it('restored at a new IP with the defaults updated: the original builders dial the old address and are down', async () => {
    const dialIp = machine.buildersDialIp;
    const snap = await client.send(new CreateSnapshotCommand({ VolumeId: machine.volumeId }));
    await client.send(new TerminateInstancesCommand({ InstanceIds: [machine.instanceId] }));
    await machine.whenDead();
    await until('the snapshot', async () => ((await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap.SnapshotId!] }))).Snapshots?.[0]?.State === 'completed' ? true : undefined));
    const image = await client.send(new RegisterImageCommand({ Name: 'restore', RootDeviceName: '/dev/sda1', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: snap.SnapshotId } }] }));
    await until('the image', async () => ((await client.send(new DescribeImagesCommand({ ImageIds: [image.ImageId!] }))).Images?.[0]?.State === 'available' ? true : undefined));
    const id = (await client.send(new RunInstancesCommand({ ImageId: image.ImageId, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: SERVICES_TAG }] }] }))).Instances![0]!.InstanceId!;
    await until('the new instance', async () => ((await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running' ? true : undefined));
    await machine.whenBooted();
    expect(machine.privateIp).not.toBe(dialIp);
    // The token came back with the volume.
    expect(readSecretToken(machine.etcDir)).toBe(TOKEN);
    updateReplicatedAddresses(machine.etcDir, dialIp, machine.privateIp);
    await machine.stopApp();
    machine.wipeNomadState(false);
    await machine.startApp();
    expect(ready()).toEqual([]);
    expect(machine.buildersReach()).toBe(false);
    await until('the server to take a job', () => put('waiting'));
    expect(await status('waiting')).toBe('pending');
    expect(rotation.skippedConsequence()).toBe(`builders dial ${dialIp} and cannot register with the Services machine at ${machine.privateIp}`);
  }, 60_000);

  it('rotated without the token: the new builders dial the new address without CIRCLE_SECRET_PASSPHRASE and never register', async () => {
    expect(await rotation.updateLaunchConfiguration()).toBe(`the builders' launch configuration now names SERVICES_PRIVATE_IP=${machine.privateIp} without CIRCLE_SECRET_PASSPHRASE (the token was not read) (circleci-nomad-clients-${machine.privateIp.replaceAll('.', '-')}-1, UpdateAutoScalingGroup circleci-nomad-clients)`);
    const nodesBefore = machine.nomad!.state.nodeIds().length;
    expect(await rotation.rotateBuilders()).toBe(`2 builders replaced, dialling ${machine.privateIp}; 0 allocations lost with them (not rescheduled); they cannot register with the Services machine (no CIRCLE_SECRET_PASSPHRASE for a new address)`);
    expect(machine.clients!.unregistered.size).toBe(2);
    expect(machine.clients!.events.filter((e) => /cannot register with the Nomad server \(it dials \S+ without CIRCLE_SECRET_PASSPHRASE\)$/.test(e))).toHaveLength(2);
    expect(machine.nomad!.state.nodeIds().length).toBe(nodesBefore);
    expect(ready()).toEqual([]);
    expect(await status('waiting')).toBe('pending');
    expect(machine.buildersReach()).toBe(false);
    expect(rotation.skippedConsequence()).toBe(`builders dial ${machine.privateIp} without CIRCLE_SECRET_PASSPHRASE and cannot register with the Services machine at ${machine.privateIp}`);
  }, 60_000);

  it('rotated with the token: every builder replaced, the new ones register as Nomad clients and the waiting build is placed', async () => {
    expect(rotation.getSecretToken()).toBe(`export CIRCLE_SECRET_PASSPHRASE='${TOKEN}'`);
    expect(await rotation.updateLaunchConfiguration()).toMatch(/ with CIRCLE_SECRET_PASSPHRASE \(circleci-nomad-clients-[\d-]+-2, /);
    expect(await rotation.rotateBuilders()).toBe(`2 builders replaced, dialling ${machine.privateIp}; 0 allocations lost with them (not rescheduled); they register with the Services machine (2 Nomad clients)`);
    expect(rotation.rotated).toBe(4);
    const now = rotation.builders().filter((b) => b.status === 'ready');
    expect(now).toHaveLength(2);
    expect(now.every((b) => b.dial?.ip === machine.privateIp && b.dial.passphrase === TOKEN)).toBe(true);
    expect(ready().sort()).toEqual(now.map((b) => b.node).sort());
    expect(machine.clients!.unregistered.size).toBe(0);
    expect(machine.buildersReach()).toBe(true);
    await until('the waiting build to be placed', async () => ((await status('waiting')) === 'running' ? true : undefined));
    expect(rotation.skippedConsequence()).toBe(`none: builders reach the Services machine (dialling ${machine.privateIp})`);
  }, 60_000);
});
