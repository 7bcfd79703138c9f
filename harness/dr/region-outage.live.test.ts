/**
 * A region outage, restored from a snapshot copied out of the region: the live stack as the Services machine of the
 * twin's us-east-1 endpoint, its snapshot copied to a us-west-2 endpoint (CopySnapshot, the states linked as two
 * regions), the machine terminated in us-east-1, and RegisterImage + RunInstances of the copy in us-west-2 boot the
 * installation on the copied state: what was written before the snapshot is back, what came after is gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopySnapshotCommand, CreateSnapshotCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client, RegisterImageCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { LiveStack } from '../live/stack.ts';
import { liveBackends } from '../live/backends.ts';
import { FOLLOWED_REPO } from '../live/pipeline-services.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { Ec2Api, type StartedEc2Api } from '../ec2/server.ts';
import type { StartedPostgres } from '../providers/index.ts';
import type { StartedFakeGithub } from '../github/server.ts';
import { ServicesMachine } from './services-machine.ts';
import { oneJobConfig } from './one-job-config.ts';
import { waitFor } from './live-test-helpers.ts';

/** The DR live tests' ports (+19000; live test files run one at a time). */
const PORT_OFFSET = 19_000;
/** EC2's transitions shortened (AWS: 20 s boot, 30 s termination, 38 s for an 8 GiB snapshot) to keep the test short. */
const TIMINGS = { bootMs: 1_000, terminateMs: 1_000, snapshotBaseMs: 3_000, snapshotPerGibMs: 0 };
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('region outage: restore in another region from a copied snapshot', () => {
  const profile = loadProfile('2.19.6');
  const parts = liveBackends(profile);
  const externals = { ...parts.externals, ec2: () => new Ec2Api().withPort(0).withRegion('us-east-1').withTimings(TIMINGS).start() };
  const stack = new LiveStack({ profile, portOffset: PORT_OFFSET, backends: parts.backends, externals, services: parts.services, migrate: parts.migrate });
  let machine: ServicesMachine;
  let west: StartedEc2Api;
  let east: EC2Client;
  let westClient: EC2Client;
  const pg = () => stack.components.get('postgres') as StartedPostgres;
  const push = async (ms: number, message: string) => {
    const pushed = await (stack.components.get('github') as StartedFakeGithub).push(FOLLOWED_REPO, { files: { '.circleci/config.yml': oneJobConfig(ms) }, message });
    expect(pushed.deliveries.map((d) => d.statusCode), message).toEqual([200]);
    return pushed.commit.sha;
  };
  const shas = async () => new Set((await pg().query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha));
  const completed = (client: EC2Client, id: string) =>
    waitFor(`${id} to complete`, async () => ((await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots?.[0]?.State === 'completed' ? true : undefined));

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
    const ec2 = stack.components.get('ec2') as StartedEc2Api;
    machine = await ServicesMachine.attach(stack, ec2, { nomadClients: 2 });
    west = await new Ec2Api().withPort(0).withRegion('us-west-2').withSeed(2).withTimings(TIMINGS).start();
    ec2.state.linkRegion(west.state);
    machine.watchRegion(west.state);
    east = new EC2Client({ endpoint: ec2.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    westClient = new EC2Client({ endpoint: west.url, region: 'us-west-2', credentials: CREDENTIALS, maxAttempts: 1 });
  });
  afterAll(async () => {
    east?.destroy();
    westClient?.destroy();
    await stack.down();
    await west?.stop();
    await machine?.dispose();
  });

  it('copies the snapshot to us-west-2, loses us-east-1, and boots the installation there on the copy', async () => {
    const before = await push(200, 'written before the snapshot');
    const snap = await east.send(new CreateSnapshotCommand({ VolumeId: machine.volumeId, Description: 'CircleCI Services box Backup' }));
    const after = await push(200, 'written after the snapshot');
    await completed(east, snap.SnapshotId!);
    const copy = await westClient.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: snap.SnapshotId! }));
    await completed(westClient, copy.SnapshotId!);
    expect((await shas()).has(after)).toBe(true);
    // The region is lost: the Services machine with it (its processes, its volume).
    await east.send(new TerminateInstancesCommand({ InstanceIds: [machine.instanceId] }));
    await machine.whenDead();
    expect(machine.phase).toBe('terminated');
    // In us-west-2, from the copy only: the region's own snapshot is not reachable from there.
    await expect(westClient.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap.SnapshotId!] }))).rejects.toMatchObject({ name: 'InvalidSnapshot.NotFound' });
    const image = await westClient.send(new RegisterImageCommand({ Name: 'circleci-services-restore', RootDeviceName: '/dev/sda1', VirtualizationType: 'hvm', Architecture: 'x86_64', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: copy.SnapshotId!, DeleteOnTermination: true } }] }));
    await waitFor('the image', async () => ((await westClient.send(new DescribeImagesCommand({ ImageIds: [image.ImageId!] }))).Images?.[0]?.State === 'available' ? true : undefined));
    const run = await westClient.send(new RunInstancesCommand({ ImageId: image.ImageId!, InstanceType: 'm4.2xlarge', MinCount: 1, MaxCount: 1 }));
    const id = run.Instances![0]!.InstanceId!;
    await waitFor(`${id} running`, async () => ((await westClient.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running' ? true : undefined));
    await machine.whenBooted();
    expect(machine.instanceId).toBe(id);
    expect(machine.privateIp).toBe(run.Instances![0]!.PrivateIpAddress);
    expect(machine.events.map((e) => e.event)).toContain(`snapshot ${snap.SnapshotId} copied to us-west-2 as ${copy.SnapshotId}`);
    // The copied state: the push before the snapshot is back, the one after it gone with the region.
    const present = await shas();
    expect(present.has(before)).toBe(true);
    expect(present.has(after)).toBe(false);
  }, 600_000);
});
