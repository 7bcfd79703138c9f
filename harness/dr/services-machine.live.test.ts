/**
 * The installation on its own cloud: the live stack as the Services machine of the twin's EC2 endpoint. The seeds'
 * EBS backup script (verbatim, harness/ec2/fixtures/ebs-backup.sh) run with the real AWS CLI finds it and snapshots
 * its real state; TerminateInstances kills it; an instance of an image of the snapshot boots it on that state.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { NOMAD_STATE_FILE } from '../nomad/state-dir.ts';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client, RegisterImageCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { LiveStack } from '../live/stack.ts';
import { liveBackends } from '../live/backends.ts';
import { FOLLOWED_REPO } from '../live/pipeline-services.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { loadProfile } from '../../fixtures/load.ts';
import { Ec2Api, StartedEc2Api } from '../ec2/server.ts';
import { isPortOpen, type StartedPostgres } from '../providers/index.ts';
import type { StartedFakeGithub } from '../github/server.ts';
import { ServicesMachine, SERVICES_TAG } from './services-machine.ts';
import { replicatedAddresses } from './services-volume.ts';

const SCRIPT = join(import.meta.dirname, '..', 'ec2', 'fixtures', 'ebs-backup.sh');
import { oneJobConfig } from './one-job-config.ts';

const run = promisify(execFile);

const config = oneJobConfig;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the Services machine on the twin\'s EC2 endpoint', () => {
  const profile = loadProfile('2.19.6');
  const parts = liveBackends(profile);
  // EC2's transitions shortened (AWS: 20 s boot, 30 s termination, 38 s for an 8 GiB snapshot) to keep the test short.
  const externals = { ...parts.externals, ec2: () => new Ec2Api().withPort(0).withTimings({ bootMs: 1_000, terminateMs: 1_000, snapshotBaseMs: 20_000, snapshotPerGibMs: 0 }).start() };
  const stack = new LiveStack({ profile, portOffset: 15_000, backends: parts.backends, externals, services: parts.services, migrate: parts.migrate });
  let machine: ServicesMachine;
  let ec2: StartedEc2Api;
  let client: EC2Client;
  const pg = () => stack.components.get('postgres') as StartedPostgres;
  const ghe = () => stack.components.get('github') as StartedFakeGithub;
  const status = async (sha: string) => ((await pg().query(PIPELINE_DB, 'SELECT status FROM builds WHERE sha = $1', [sha])).rows[0] as { status: string } | undefined)?.status;
  const push = async (ms: number, message: string) => {
    const pushed = await ghe().push(FOLLOWED_REPO, { files: { '.circleci/config.yml': config(ms) }, message });
    expect(pushed.deliveries.map((d) => d.statusCode), message).toEqual([200]);
    return pushed.commit.sha;
  };

  beforeAll(async () => {
    const failed = await stack.up();
    expect(failed.map((f) => `${f.name}: ${f.reason}`)).toEqual([]);
    ec2 = stack.components.get('ec2') as StartedEc2Api;
    machine = await ServicesMachine.attach(stack, ec2, { nomadClients: 3 });
    client = new EC2Client({ endpoint: ec2.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    client?.destroy();
    await stack.down();
    await machine?.dispose();
  });

  let before = '';
  let midBuild = '';
  let snapshotId = '';

  it("the seeds' backup script, with the AWS CLI, finds the Services box, its volume and address, and snapshots its real state", async () => {
    before = await push(200, 'built before the snapshot');
    await waitFor('the first build to succeed', async () => ((await status(before)) === 'succeeded' ? true : undefined));
    midBuild = await push(120_000, 'running at the snapshot');
    await waitFor('the long build to run', async () => ((await status(midBuild)) === 'running' ? true : undefined));
    const env = { ...process.env, AWS_ENDPOINT_URL: ec2.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1' };
    const { stdout } = await run('bash', [SCRIPT], { env, timeout: 60_000 });
    expect(stdout).toContain(`Found Services box: ${machine.instanceId}`);
    expect(stdout).not.toContain('Found Services box: None');
    expect(stdout).toContain(`Found volume id: ${machine.volumeId}`);
    expect(stdout).toContain(`Found private IP address: ${machine.privateIp}`);
    snapshotId = /"SnapshotId": "(snap-[0-9a-f]+)"/.exec(stdout)![1]!;
    const stored = machine.snapshots.get(snapshotId)!;
    // The copy holds the stores' real files and the configuration the runbook edits.
    expect(readdirSync(stored.dir).sort()).toEqual(['data', 'etc', 'mongo', 'nomad_server', 'postgres', 'rabbitmq', 'redis']);
    expect(existsSync(join(stored.dir, 'postgres', 'PG_VERSION'))).toBe(true);
    // /opt/nomad: the Nomad server's jobs at the instant, the long build's placed.
    const opt = JSON.parse(readFileSync(join(stored.dir, 'nomad_server', NOMAD_STATE_FILE), 'utf8')) as { jobs: { placed: boolean }[] };
    expect(opt.jobs.filter((j) => j.placed).length).toBeGreaterThan(0);
    expect(replicatedAddresses(join(stored.dir, 'etc'))).toEqual([machine.privateIp, machine.privateIp]);
    expect(stored.holdMs).toBeGreaterThan(0);
    // DescribeSnapshots shows it as AWS does: pending with its progress, then completed at 100%.
    const first = (await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots![0]!;
    expect(first).toMatchObject({ State: 'pending', VolumeId: machine.volumeId });
    expect(first.Progress).toMatch(/^\d{1,2}%$/);
    await waitFor('the snapshot to complete', async () => {
      const s = (await client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots![0]!;
      return s.State === 'completed' && s.Progress === '100%' ? true : undefined;
    }, 90_000);
  });

  let after = '';
  let oldIp = '';

  it('TerminateInstances is the disaster: every store process dies and the volume is emptied', async () => {
    after = await push(200, 'written after the snapshot');
    await waitFor('the build after the snapshot to succeed', async () => ((await status(after)) === 'succeeded' ? true : undefined));
    oldIp = machine.privateIp;
    const postgresPort = pg().port;
    const dataDir = pg().dataDir!;
    await client.send(new TerminateInstancesCommand({ InstanceIds: [machine.instanceId] }));
    await machine.whenDead();
    expect(await isPortOpen('127.0.0.1', postgresPort)).toBe(false);
    expect(readdirSync(dataDir)).toEqual([]);
    expect(machine.phase).toBe('terminated');
    const frontend = stack.rows.get('frontend')!;
    await expect(fetch(frontend.healthUrl!, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });

  it('RegisterImage + RunInstances at the old private IP boot a new Services machine on the snapshot: what was written before it is there, a build running at it is left running, what came after is gone', async () => {
    const image = await client.send(new RegisterImageCommand({ Name: 'circleci-services-restore', RootDeviceName: '/dev/sda1', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: snapshotId } }] }));
    const launched = await waitFor('the old address to be free', async () =>
      client.send(new RunInstancesCommand({ ImageId: image.ImageId, MinCount: 1, MaxCount: 1, PrivateIpAddress: oldIp, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: SERVICES_TAG }] }] })),
    );
    const id = launched.Instances![0]!.InstanceId!;
    await waitFor('the new instance to run', async () => ((await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.State!.Name === 'running' ? true : undefined));
    await machine.whenBooted();
    expect(machine).toMatchObject({ instanceId: id, privateIp: oldIp, phase: 'running' });
    // PostgreSQL recovered from the copied files as after a power loss.
    expect(await status(before)).toBe('succeeded');
    expect(await status(midBuild)).toBe('running');
    // The restored Nomad server read /opt/nomad: the long build's allocation is back, and no builder runs it.
    expect(machine.nomad!.lastStart).toMatchObject({ kind: 'restored' });
    expect(machine.nomad!.state.staleAllocations().length).toBeGreaterThan(0);
    expect(await status(after)).toBeUndefined();
    expect(readFileSync(join(machine.etcDir, 'default', 'replicated'), 'utf8')).toContain(`PRIVATE_ADDRESS=${oldIp}`);
    // The restored installation builds again.
    const fresh = await push(200, 'after the restore');
    await waitFor('a build on the restored machine to succeed', async () => ((await status(fresh)) === 'succeeded' ? true : undefined));
  });
});
