/**
 * The Services machine's `/opt/nomad` through EC2 calls, on a stack of the twin's Nomad server alone (no process, in
 * seconds): a snapshot carries the server's jobs, the machine restored from it starts its Nomad server on them (the
 * builds placed at the snapshot come back as stale allocations that hold the fleet), and `rm -rf /opt/nomad` with
 * the app stopped clears them. The full stack's version is `live-rehearsal.live.test.ts`.
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
import { NOMAD_CLIENTS_GROUP, ServicesMachine, SERVICES_TAG } from './services-machine.ts';
import { replicatedAddresses, updateReplicatedAddresses } from './services-volume.ts';

const full = loadProfile('2.19.6');
const nomadOnly = { ...full, containers: full.containers.filter((c) => c.name === 'nomad_server') };

/** A build's job: 1 vCPU (2500 MHz), running for ten minutes. */
const job = (id: string) => ({
  Job: {
    ID: id,
    Type: 'batch',
    Datacenters: ['us-east-1'],
    Meta: { duration_ms: '600000' },
    TaskGroups: [{ Name: 'build', Count: 1, Tasks: [{ Name: 'agent', Driver: 'docker', Resources: { CPU: 2500, MemoryMB: 1024 } }] }],
  },
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 20_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the Services machine carries /opt/nomad (the twin\'s Nomad server alone)', () => {
  let ec2: StartedEc2Api;
  let stack: LiveStack;
  let machine: ServicesMachine;
  let client: EC2Client;

  beforeAll(async () => {
    ec2 = await new Ec2Api().withPort(0).withTimings({ bootMs: 100, terminateMs: 100, snapshotBaseMs: 100, snapshotPerGibMs: 0 }).start();
    // One client of 4 vCPU, 2 reserved: room for two builds of 1 vCPU.
    stack = new LiveStack({ profile: nomadOnly, portOffset: 21_000, backends: { nomad_server: () => new NomadApiServer().withPort(0).withClients([{ name: 'c1', cpus: 4, memoryGb: 8 }]).start() } });
    expect(await stack.up()).toEqual([]);
    machine = await ServicesMachine.attach(stack, ec2, { nomadClients: 1 });
    client = new EC2Client({ endpoint: ec2.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  });

  afterAll(async () => {
    client?.destroy();
    await stack?.down();
    await machine?.dispose();
    await ec2?.stop();
  });

  const put = async (body: unknown) => {
    const r = await fetch(`${machine.nomad!.url}/v1/jobs`, { method: 'PUT', body: JSON.stringify(body) });
    expect(r.status).toBe(200);
  };
  const status = async (id: string) => ((await (await fetch(`${machine.nomad!.url}/v1/job/${id}`)).json()) as { Status: string }).Status;

  let image: { ImageId?: string } = {};

  it('snapshot, terminate, restore: the restored server reads the snapshot\'s jobs, their allocations stale and holding the fleet; a wipe with the app stopped clears them', async () => {
    expect(machine.nomad?.dataDir).toBeDefined();
    await put(job('build-1'));
    await put(job('build-2'));
    expect([await status('build-1'), await status('build-2')]).toEqual(['running', 'running']);
    const oldIp = machine.privateIp;
    const snap = await client.send(new CreateSnapshotCommand({ VolumeId: machine.volumeId }));
    // Written after the snapshot: gone with the disaster.
    await put(job('after-snapshot'));
    await client.send(new TerminateInstancesCommand({ InstanceIds: [machine.instanceId] }));
    await machine.whenDead();
    await until('the snapshot to complete', async () => ((await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap.SnapshotId!] }))).Snapshots?.[0]?.State === 'completed' ? true : undefined));
    image = await client.send(new RegisterImageCommand({ Name: 'restore', RootDeviceName: '/dev/sda1', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: snap.SnapshotId } }] }));
    await until('the image', async () => ((await client.send(new DescribeImagesCommand({ ImageIds: [image.ImageId!] }))).Images?.[0]?.State === 'available' ? true : undefined));
    const launched = await until('the old address to be free', () =>
      client.send(new RunInstancesCommand({ ImageId: image.ImageId, MinCount: 1, MaxCount: 1, PrivateIpAddress: oldIp, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: SERVICES_TAG }] }] })),
    );
    const id = launched.Instances![0]!.InstanceId!;
    await until('the new instance to run', async () => ((await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running' ? true : undefined));
    await machine.whenBooted();
    const nomad = machine.nomad!;
    expect(nomad.lastStart).toEqual({ kind: 'restored', jobs: 2, staleAllocs: 2 });
    expect(machine.events.at(-1)!.event).toMatch(/its Nomad server read 2 jobs from \/opt\/nomad, 2 allocations no builder runs$/);
    expect(await status('after-snapshot').catch(() => 'gone')).toBe('gone');
    expect(nomad.state.runningTasks).toBe(0);
    // A new build waits behind the stale allocations.
    await put(job('new-1'));
    expect(await status('new-1')).toBe('pending');
    expect(nomad.state.blockedBehindStale).toBe(1);
    // The runbook's steps 2, 5 and 6: app stop, `sudo rm -rf /opt/nomad`, app start.
    // Out of order first: under the running app the wipe has no effect (the server writes its state back).
    expect(machine.wipeNomadState(true)).toBe('no effect: the app was running, and its Nomad server kept its 2 placed jobs (2 stale allocations) and 1 pending jobs in memory and wrote them back');
    await machine.stopApp();
    await machine.startApp();
    expect(nomad.lastStart).toEqual({ kind: 'kept' });
    expect(nomad.state.staleAllocations()).toHaveLength(2);
    await machine.stopApp();
    expect(machine.wipeNomadState(false)).toBe('/opt/nomad removed: 2 placed jobs (2 stale allocations) and 1 pending jobs; the Nomad server starts empty with the app');
    await machine.startApp();
    expect(nomad.lastStart).toEqual({ kind: 'empty', forgotten: 3 });
    expect(nomad.state.staleAllocations()).toEqual([]);
    // The client's pooled connection to the stopped listener is gone: the first request may need a second try.
    await until('the restarted server to take a job', async () => (await put(job('new-2')), true));
    expect(await status('new-2')).toBe('running');
  }, 60_000);

  it('a new private IP: with /etc/default/replicated naming the old one the builders cannot register (clients down, builds wait); re-associating the old IP is not enough; the defaults updated and the app restarted, they do', async () => {
    const dialIp = machine.buildersDialIp;
    await client.send(new TerminateInstancesCommand({ InstanceIds: [machine.instanceId] }));
    await machine.whenDead();
    // RunInstances without --private-ip-address: a new address.
    const launched = await client.send(new RunInstancesCommand({ ImageId: image.ImageId, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: SERVICES_TAG }] }] }));
    const id = launched.Instances![0]!.InstanceId!;
    await until('the new instance to run', async () => ((await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running' ? true : undefined));
    await machine.whenBooted();
    expect(machine.privateIp).not.toBe(dialIp);
    expect(replicatedAddresses(machine.etcDir)).toEqual([dialIp, dialIp]);
    // Through `until`: the pooled connection to a restarted listener may need a second try.
    const nodes = () => until('the nodes', async () => ((await (await fetch(`${machine.nomad!.url}/v1/nodes`)).json()) as { Status: string }[]).map((n) => n.Status));
    expect(machine.buildersReach()).toBe(false);
    expect(await nodes()).toEqual(['down']);
    expect(machine.events.map((e) => e.event)).toContainEqual(expect.stringMatching(/^builders cannot reach the Services machine: they dial \S+, replicated bound the app to \S+, the instance's address is \S+; 1 Nomad clients down \(heartbeats missed\)$/));
    await until('the restarted server to take a job', async () => (await put(job('unreached')), true));
    expect(await status('unreached')).toBe('pending');
    // The old address re-associated (runbook step: --allow-reassignment): replicated still binds to it, not to the primary.
    machine.secondaryIp = dialIp;
    machine.judgeBuilders();
    expect(await nodes()).toEqual(['down']);
    // `rm -rf /opt/nomad` with the app stopped (the runbook's step 5): the server starts empty, its clients still down.
    await machine.stopApp();
    machine.wipeNomadState(false);
    await machine.startApp();
    expect(await nodes()).toEqual(['down']);
    await until('the restarted server to take a job', async () => (await put(job('unreached')), true));
    expect(await status('unreached')).toBe('pending');
    // Step 4 done and the app restarted: the builders register and the waiting build is placed.
    expect(updateReplicatedAddresses(machine.etcDir, dialIp, machine.privateIp)).toEqual(['/etc/default/replicated', '/etc/default/replicated-operator']);
    machine.judgeBuilders();
    expect(await nodes()).toEqual(['down']);
    await machine.stopApp();
    await machine.startApp();
    expect(machine.buildersReach()).toBe(true);
    expect(await nodes()).toEqual(['ready']);
    await until('the waiting build to be placed', async () => ((await status('unreached').catch(() => '')) === 'running' ? true : undefined));
  }, 60_000);
});

describe('twin up\'s fleet: the Nomad clients\' group is the twin\'s Nomad API\'s clients (fleetIsGroup)', () => {
  it('the group\'s first instance takes over the running client; a larger desired capacity boots instances that register as clients; a terminated instance\'s node stays down', async () => {
    const ec2 = await new Ec2Api().withPort(0).withTimings({ bootMs: 100, terminateMs: 100 }).start();
    const stack = new LiveStack({ profile: nomadOnly, portOffset: 21_000, backends: { nomad_server: () => new NomadApiServer().withPort(0).withClients([{ name: 'c1', cpus: 8, memoryGb: 32 }]).start() } });
    try {
      expect(await stack.up()).toEqual([]);
      const machine = await ServicesMachine.attach(stack, ec2, { nomadClients: 1, fleetIsGroup: true });
      try {
        const nomad = machine.nomad!;
        const group = () => ec2.state.autoscaling.requireGroup(NOMAD_CLIENTS_GROUP);
        const first = [...group().instances.keys()][0]!;
        const c1 = nomad.state.nodeIds()[0]!;
        await until('the first instance to take over c1', async () => (machine.clients!.nodeOf.get(first) === c1 ? true : undefined));
        ec2.state.autoscaling.setDesiredCapacity(NOMAD_CLIENTS_GROUP, 3, false);
        const ready = () => nomad.state.scheduler.nodes().filter((n) => n.status === 'ready').length;
        await until('three Nomad clients', async () => (ready() === 3 ? true : undefined));
        const names = ((await (await fetch(`${nomad.url}/v1/nodes`)).json()) as { Name: string }[]).map((n) => n.Name).sort();
        expect(names).toEqual(['c1', ...[...group().instances.keys()].filter((id) => id !== first)].sort());
        // Terminated outside the group (`aws ec2 terminate-instances`): its node goes down, and stays down when the
        // builders are judged again (they reach the machine; the instance is gone).
        ec2.state.ec2.terminateInstances([first]);
        await until('c1 down', async () => (nomad.state.scheduler.node(c1)?.status === 'down' ? true : undefined));
        machine.judgeBuilders();
        expect(nomad.state.scheduler.node(c1)?.status).toBe('down');
        // The group replaces it (its health check): a fourth client registers.
        await until('the replacement registered', async () => (ready() === 3 && nomad.state.nodeIds().length === 4 ? true : undefined));
      } finally {
        await machine.dispose();
      }
    } finally {
      await stack.down();
      await ec2.stop();
    }
  }, 60_000);
});
