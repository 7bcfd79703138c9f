/**
 * CopySnapshot between two regions of the twin (two endpoints, as AWS's regions are, their states linked): through
 * the AWS SDK and the AWS CLI, the copy pending then completed in the destination region, with EC2's placeholder
 * volume id and default description; the errors EC2 gives for an unknown snapshot, a pending source and an unknown
 * region.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopySnapshotCommand, CreateSnapshotCommand, DescribeSnapshotsCommand, EC2Client, RunInstancesCommand, type Snapshot } from '@aws-sdk/client-ec2';
import { Ec2Api, type StartedEc2Api } from './server.ts';
import { awsCliEnv } from './aws-cli-env.ts';
import { COPIED_SNAPSHOT_VOLUME_ID } from './ec2-model.ts';

/** The AWS CLI, asynchronously: the endpoints answer in this process (a synchronous spawn would block them). */
function aws(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('aws', args, { encoding: 'utf8', env, timeout: 60_000 }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** Fast snapshots: 300 ms each (the copy takes as long as a snapshot of its size). */
const TIMINGS = { snapshotBaseMs: 300, snapshotPerGibMs: 0, bootMs: 0 };

describe('CopySnapshot between two regions of the twin', () => {
  let east: StartedEc2Api;
  let west: StartedEc2Api;
  let eastClient: EC2Client;
  let westClient: EC2Client;
  let scratch: string;
  let source: string;

  const describeIn = async (client: EC2Client, id: string): Promise<Snapshot> => (await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots![0]!;
  const completed = async (client: EC2Client, id: string): Promise<Snapshot> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const s = await describeIn(client, id);
      if (s.State === 'completed' || Date.now() > deadline) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    east = await new Ec2Api().withRegion('us-east-1').withSeed(1).withTimings(TIMINGS).start();
    west = await new Ec2Api().withRegion('us-west-2').withSeed(2).withTimings(TIMINGS).start();
    east.state.linkRegion(west.state);
    eastClient = new EC2Client({ endpoint: east.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    westClient = new EC2Client({ endpoint: west.url, region: 'us-west-2', credentials: CREDENTIALS, maxAttempts: 1 });
    scratch = mkdtempSync(join(tmpdir(), 'twin-copy-snapshot-'));
    const ami = [...east.state.ec2.images.values()].find((i) => i.isPublic)!.imageId;
    const run = await eastClient.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 'm4.2xlarge', MinCount: 1, MaxCount: 1 }));
    const volumeId = east.state.ec2.instances.get(run.Instances![0]!.InstanceId!)!.blockDeviceMappings[0]!.volumeId;
    source = (await eastClient.send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: 'CircleCI Services box Backup' }))).SnapshotId!;
  });

  afterAll(async () => {
    eastClient?.destroy();
    westClient?.destroy();
    await east?.stop();
    await west?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses to copy a snapshot that is still pending (IncorrectState), then copies it once completed (SDK)', async () => {
    await expect(westClient.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: source }))).rejects.toMatchObject({ name: 'IncorrectState' });
    expect((await completed(eastClient, source)).State).toBe('completed');
    const copy = await westClient.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: source }));
    expect(copy.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(copy.SnapshotId).not.toBe(source);
    // In the destination region only, pending, then completed; EC2's placeholder volume and default description.
    const pending = await describeIn(westClient, copy.SnapshotId!);
    expect(pending).toMatchObject({ State: 'pending', VolumeId: COPIED_SNAPSHOT_VOLUME_ID, VolumeSize: 8, Description: `[Copied ${source} from us-east-1]` });
    await expect(eastClient.send(new DescribeSnapshotsCommand({ SnapshotIds: [copy.SnapshotId!] }))).rejects.toMatchObject({ name: 'InvalidSnapshot.NotFound' });
    expect((await completed(westClient, copy.SnapshotId!)).State).toBe('completed');
    expect(west.state.ec2.snapshots.get(copy.SnapshotId!)!.copiedFrom).toEqual({ region: 'us-east-1', snapshotId: source });
  });

  it('names the unknown snapshot and the unknown region', async () => {
    await expect(westClient.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: 'snap-0123456789abcdef0' }))).rejects.toMatchObject({ name: 'InvalidSnapshot.NotFound' });
    await expect(westClient.send(new CopySnapshotCommand({ SourceRegion: 'eu-west-1', SourceSnapshotId: source }))).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('this twin serves us-west-2, us-east-1') });
  });

  const cli = spawnSync('aws', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  it.skipIf(cli.status !== 0)('copies with the AWS CLI: aws ec2 copy-snapshot --source-region us-east-1 --region us-west-2', async () => {
    await completed(eastClient, source);
    const env = awsCliEnv(scratch, 'us-west-2');
    const r = await aws(['ec2', 'copy-snapshot', '--endpoint-url', west.url, '--region', 'us-west-2', '--source-region', 'us-east-1', '--source-snapshot-id', source, '--description', 'CircleCI Services box Backup, copied', '--output', 'json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = (JSON.parse(r.stdout) as { SnapshotId: string }).SnapshotId;
    expect((await completed(westClient, id)).Description).toBe('CircleCI Services box Backup, copied');
    const listed = await aws(['ec2', 'describe-snapshots', '--endpoint-url', west.url, '--region', 'us-west-2', '--owner-ids', 'self', '--query', 'Snapshots[].[SnapshotId,State,VolumeId]', '--output', 'text'], env);
    expect(listed.stdout).toContain(`${id}\tcompleted\t${COPIED_SNAPSHOT_VOLUME_ID}`);
  });
});
