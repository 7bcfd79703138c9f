/**
 * Contract tests of the EC2 and Auto Scaling endpoints, spoken to by the real `@aws-sdk/client-ec2`,
 * `@aws-sdk/client-auto-scaling` and the AWS CLI.
 *
 * By default they start the twin's own endpoint (a manual clock: every wait is a clock move, so the suite is
 * fast and deterministic). With `TWIN_EC2_CONTRACT_URL=http://127.0.0.1:4566` the same contract runs against
 * that endpoint instead (LocalStack from docker-compose.localstack.yml, say); waits are then real polls, and
 * the few checks of twin-only behaviour (its clock, its request log, its auth check) are skipped.
 *
 *   npx vitest run --project live harness/ec2
 *   TWIN_EC2_CONTRACT_URL=http://127.0.0.1:4566 npx vitest run --project live harness/ec2
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AssignPrivateIpAddressesCommand,
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeVolumesCommand,
  EC2Client,
  RegisterImageCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
  type Tag,
} from '@aws-sdk/client-ec2';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeLifecycleHooksCommand,
  DescribePoliciesCommand,
  DescribeScalingActivitiesCommand,
  DescribeScheduledActionsCommand,
  ExecutePolicyCommand,
  PutLifecycleHookCommand,
  PutScalingPolicyCommand,
  PutScheduledUpdateGroupActionCommand,
  SetDesiredCapacityCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  UpdateAutoScalingGroupCommand,
  type AutoScalingGroup,
} from '@aws-sdk/client-auto-scaling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCliEnv } from './aws-cli-env.ts';
import { ManualClock } from './clock.ts';
import { intToIp, ipToInt, parseCidr } from './ec2-model.ts';
import { Ec2Api, type StartedEc2Api } from './server.ts';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const EXTERNAL = process.env.TWIN_EC2_CONTRACT_URL?.trim() || undefined;
const HERE = dirname(fileURLToPath(import.meta.url));
const BACKUP_SCRIPT = join(HERE, 'fixtures', 'ebs-backup.sh');
/** Bound on every wait for an asynchronous transition. */
const MAX_WAIT_STEPS = 120;

const twinOnly = it.skipIf(EXTERNAL !== undefined);

/** One endpoint under test: the twin (with its clock) or an external one. */
interface Target {
  readonly ec2Url: string;
  readonly autoscalingUrl: string;
  readonly ec2: EC2Client;
  readonly autoscaling: AutoScalingClient;
  readonly twin: StartedEc2Api | undefined;
  readonly clock: ManualClock | undefined;
  /** Lets time pass: a clock move on the twin, a real pause elsewhere. */
  tick(ms?: number): Promise<void>;
  close(): Promise<void>;
}

async function openTarget(seed: number): Promise<Target> {
  let twin: StartedEc2Api | undefined;
  let clock: ManualClock | undefined;
  if (EXTERNAL === undefined) {
    clock = new ManualClock();
    twin = await new Ec2Api().withPort(0).withRegion(REGION).withClock(clock).withSeed(seed).start();
  }
  const ec2Url = EXTERNAL ?? twin!.url;
  const autoscalingUrl = EXTERNAL ?? twin!.autoscalingUrl;
  const ec2 = new EC2Client({ endpoint: ec2Url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  const autoscaling = new AutoScalingClient({ endpoint: autoscalingUrl, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  return {
    ec2Url,
    autoscalingUrl,
    ec2,
    autoscaling,
    twin,
    clock,
    async tick(ms = 5_000) {
      if (clock !== undefined) clock.advance(ms);
      else await new Promise((r) => setTimeout(r, 500));
    },
    async close() {
      ec2.destroy();
      autoscaling.destroy();
      await twin?.stop();
    },
  };
}

/** Polls `probe` (letting time pass between tries) until it returns a value; bounded. */
async function eventually<T>(t: Target, what: string, probe: () => Promise<T | undefined>, stepMs = 5_000): Promise<T> {
  for (let step = 0; step < MAX_WAIT_STEPS; step++) {
    const v = await probe();
    if (v !== undefined) return v;
    await t.tick(stepMs);
  }
  throw new Error(`${what}: still not true after ${MAX_WAIT_STEPS} waits of ${stepMs} ms`);
}

async function instanceById(t: Target, id: string): Promise<Instance> {
  const out = await t.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const inst = out.Reservations?.[0]?.Instances?.[0];
  if (inst === undefined) throw new Error(`no instance ${id}`);
  return inst;
}

async function waitForState(t: Target, id: string, state: string): Promise<Instance> {
  return eventually(t, `${id} ${state}`, async () => {
    const i = await instanceById(t, id);
    return i.State?.Name === state ? i : undefined;
  });
}

function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((x) => x.Key === key)?.Value;
}

/** The image to launch from: the twin's Ubuntu 16.04, or whatever the external endpoint lists first. */
async function baseImageId(t: Target): Promise<string> {
  const ubuntu = await t.ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: ['ubuntu/images/hvm-ssd/ubuntu-xenial-16.04*'] }] }));
  const id = ubuntu.Images?.[0]?.ImageId ?? (await t.ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
  if (id === undefined) throw new Error('no image to launch from');
  return id;
}

/** A subnet and an address inside it that the tests pin the Services box to. */
async function servicesAddress(t: Target): Promise<{ subnetId: string; ip: string; cidr: string }> {
  const subnet = (await t.ec2.send(new DescribeSubnetsCommand({}))).Subnets?.[0];
  if (subnet?.SubnetId === undefined || subnet.CidrBlock === undefined) throw new Error('no subnet');
  const { base, size } = parseCidr(subnet.CidrBlock);
  return { subnetId: subnet.SubnetId, ip: intToIp(base + (3106 % (size - 8)) + 4), cidr: subnet.CidrBlock };
}

async function expectAwsError(promise: Promise<unknown>, name: string): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (e) {
    expect((e as Error).name).toBe(name);
    return e as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}

// ---------------------------------------------------------------------------------------------------------
// The AWS CLI running the seeds' backup and restore commands, unmodified.

/** `aws --version`, or why the CLI cannot run here. */
function awsCliVersion(): { version: string } | { reason: string } {
  const r = spawnSync('aws', ['--version'], { encoding: 'utf8', timeout: 30_000, env: cliBaseEnv() });
  if (r.error !== undefined) return { reason: `the AWS CLI is not runnable here (${r.error.message}); install the Debian package awscli (apt-get install awscli), as .ci/run does` };
  if (r.status !== 0) return { reason: `\`aws --version\` exited ${r.status}: ${(r.stderr || r.stdout).trim()}` };
  return { version: `${r.stdout}${r.stderr}`.trim() };
}

let cliScratch: string | undefined;

/** The machine's environment without any AWS setting, plus test credentials and an empty CLI config. */
function cliBaseEnv(): NodeJS.ProcessEnv {
  cliScratch ??= mkdtempSync(join(tmpdir(), 'twin-ec2-cli-'));
  return awsCliEnv(cliScratch, REGION);
}

/**
 * The environment the seed scripts run in. `AWS_ENDPOINT_URL` points the CLI at the endpoint (CLI v2, and v1
 * since botocore 1.31). A CLI that ignores it gets an `aws` shell function adding `--endpoint-url`, loaded
 * through `BASH_ENV`, so the script file itself stays as the docs print it.
 */
function cliEnv(url: string, wrap: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...cliBaseEnv(), AWS_ENDPOINT_URL: url, AWS_ENDPOINT_URL_EC2: url, AWS_ENDPOINT_URL_AUTO_SCALING: url };
  if (wrap) {
    const rc = join(cliScratch!, 'aws-endpoint.bash');
    spawnSync('bash', ['-c', `printf '%s\\n' 'aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }' > '${rc}'`]);
    env.BASH_ENV = rc;
  }
  return env;
}

interface BashResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBash(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<BashResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { env, cwd: cliScratch, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const cli = awsCliVersion();

afterAll(() => {
  if (cliScratch !== undefined) rmSync(cliScratch, { recursive: true, force: true });
});
const cliSkipReason = 'reason' in cli ? cli.reason : undefined;
if (cliSkipReason !== undefined) console.log(`skipping the AWS CLI tests: ${cliSkipReason}`);

describe.skipIf(cliSkipReason !== undefined)(`the AWS CLI runs the seeds' backup and restore commands (${'version' in cli ? cli.version : cliSkipReason})`, () => {
  let t: Target;
  let services: Instance;
  let wrap = false;
  let env: NodeJS.ProcessEnv;
  let snapshotId = '';
  let imageId = '';

  beforeAll(async () => {
    t = await openTarget(3);
    const { subnetId, ip } = await servicesAddress(t);
    const run = await t.ec2.send(
      new RunInstancesCommand({
        ImageId: await baseImageId(t),
        InstanceType: 'm4.2xlarge',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        PrivateIpAddress: ip,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'circleci_services' }] }],
      }),
    );
    services = await waitForState(t, run.Instances![0]!.InstanceId!, 'running');
    // Does this CLI honour AWS_ENDPOINT_URL? Ask it something and see whether the twin heard it.
    if (t.twin !== undefined) {
      const before = t.twin.requestCounts.get('ec2:DescribeInstances') ?? 0;
      await runBash(['-c', 'aws ec2 describe-instances --max-items 1 >/dev/null 2>&1'], cliEnv(t.ec2Url, false), 60_000);
      wrap = (t.twin.requestCounts.get('ec2:DescribeInstances') ?? 0) === before;
    }
    env = cliEnv(t.ec2Url, wrap);
  });

  afterAll(async () => {
    if (EXTERNAL !== undefined && services?.InstanceId !== undefined) {
      await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [services.InstanceId] })).catch(() => undefined);
    }
    await t?.close();
  });

  it('runs fixtures/ebs-backup.sh unmodified and prints the box, its volume, the snapshot and its address', async () => {
    const r = await runBash([BACKUP_SCRIPT], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const volumeId = services.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
    expect(r.stdout).toMatch(/^Found Services box: i-[0-9a-f]{8,17}$/m);
    expect(r.stdout).toContain(`Found Services box: ${services.InstanceId}\n`);
    expect(r.stdout).toMatch(/^Found volume id: vol-[0-9a-f]{8,17}$/m);
    expect(r.stdout).toContain(`Found volume id: ${volumeId}\n`);
    expect(r.stdout).toContain(`Found private IP address: ${services.PrivateIpAddress}\n`);
    if (EXTERNAL === undefined) expect(r.stdout).toMatch(/^Found private IP address: 10\.0\.\d{1,3}\.\d{1,3}$/m);
    // Between the volume line and the address line: the create-snapshot JSON, as in the seed's sample output.
    const json = r.stdout.slice(r.stdout.indexOf('{'), r.stdout.lastIndexOf('}') + 1);
    const snapshot = JSON.parse(json) as Record<string, unknown>;
    expect(snapshot).toMatchObject({ VolumeId: volumeId, State: 'pending', Encrypted: false });
    expect(snapshot.Description).toMatch(/^CircleCI Services box Backup taken at \S+ \S+ +\d+ \d\d:\d\d:\d\d \S+ \d{4}$/);
    expect(snapshot.SnapshotId).toMatch(/^snap-[0-9a-f]{8,17}$/);
    expect(snapshot.VolumeSize).toBe(8);
    snapshotId = snapshot.SnapshotId as string;

    const found = await t.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    expect(found.Snapshots?.[0]?.Description).toBe(snapshot.Description);
  });

  it('finds the snapshot with `aws ec2 describe-snapshots --filters "Name=description,Values=CircleCI*"`', async () => {
    const r = await runBash(['-c', `aws ec2 describe-snapshots  --filters "Name=description,Values=CircleCI*"`], env);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { Snapshots: { SnapshotId: string; Description: string }[] };
    expect(out.Snapshots.map((s) => s.SnapshotId)).toContain(snapshotId);
    for (const s of out.Snapshots) expect(s.Description.startsWith('CircleCI')).toBe(true);
  });

  it('registers an AMI with `aws ec2 register-image … --block-device-mappings` from the snapshot', async () => {
    await eventually(t, 'snapshot completed', async () => {
      const s = (await t.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
      return s?.State === 'completed' ? s : undefined;
    });
    const command = `aws ec2 register-image --name "CircleCI-restore-$(date '+%s')"  --description "CircleCI Services Box restored from snapshot-id $SNAPSHOT_ID" --architecture x86_64 --root-device-name '/dev/sda1' --block-device-mappings "[{\\"DeviceName\\": \\"/dev/sda1\\", \\"Ebs\\": {\\"SnapshotId\\": \\"$SNAPSHOT_ID\\"}}]"`;
    const r = await runBash(['-c', command], { ...env, SNAPSHOT_ID: snapshotId });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    imageId = (JSON.parse(r.stdout) as { ImageId: string }).ImageId;
    expect(imageId).toMatch(/^ami-[0-9a-f]{8,17}$/);
    const image = (await t.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
    expect(image?.RootDeviceName).toBe('/dev/sda1');
    expect(image?.Architecture).toBe('x86_64');
    expect(image?.Description).toBe(`CircleCI Services Box restored from snapshot-id ${snapshotId}`);
    expect(image?.BlockDeviceMappings?.[0]).toMatchObject({ DeviceName: '/dev/sda1', Ebs: { SnapshotId: snapshotId } });
  });

  it('restores: terminate, then `aws ec2 run-instances --private-ip-address` with the saved address', async () => {
    const ip = services.PrivateIpAddress!;
    const term = await runBash(['-c', `aws ec2 terminate-instances --instance-ids ${services.InstanceId}`], env);
    expect(term.code).toBe(0);
    await waitForState(t, services.InstanceId!, 'terminated');
    await eventually(t, 'image available', async () => {
      const i = (await t.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
      return i?.State === 'available' ? i : undefined;
    });
    const r = await runBash(['-c', `aws ec2 run-instances --image-id ${imageId} --count 1 --instance-type m4.2xlarge --subnet-id ${services.SubnetId} --private-ip-address ${ip}`], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const restored = (JSON.parse(r.stdout) as { Instances: { InstanceId: string; PrivateIpAddress: string; ImageId: string }[] }).Instances[0]!;
    expect(restored.PrivateIpAddress).toBe(ip);
    expect(restored.ImageId).toBe(imageId);
    const volumes = await t.ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [restored.InstanceId] }] }));
    expect(volumes.Volumes?.[0]?.SnapshotId).toBe(snapshotId);
    await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [restored.InstanceId] }));
  });

  twinOnly('reports a CLI error in the AWS shape (exit 255, the error code in the message)', async () => {
    const r = await runBash(['-c', 'aws ec2 describe-instances --instance-ids i-0123456789abcdef0'], env);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('An error occurred (InvalidInstanceID.NotFound) when calling the DescribeInstances operation');
  });
});

// ---------------------------------------------------------------------------------------------------------
// EC2 with the real SDK: the backup / restore / failover path of the seeds.

describe('EC2 contract (@aws-sdk/client-ec2)', () => {
  let t: Target;
  let ami: string;
  let subnetId: string;
  let servicesIp: string;
  let services: Instance;
  let snapshotId: string;
  let restoreImageId: string;
  const launched: string[] = [];

  beforeAll(async () => {
    t = await openTarget(1);
    ami = await baseImageId(t);
    ({ subnetId, ip: servicesIp } = await servicesAddress(t));
  });

  afterAll(async () => {
    if (EXTERNAL !== undefined && launched.length > 0) {
      await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: launched })).catch(() => undefined);
    }
    await t?.close();
  });

  async function run(name: string, extra: Partial<ConstructorParameters<typeof RunInstancesCommand>[0]> = {}): Promise<Instance> {
    const out = await t.ec2.send(
      new RunInstancesCommand({
        ImageId: ami,
        InstanceType: 'm4.xlarge',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }],
        ...extra,
      }),
    );
    const inst = out.Instances![0]!;
    launched.push(inst.InstanceId!);
    return inst;
  }

  it('runs the Services box with tags and a fixed private IP', async () => {
    const inst = await run('circleci_services', {
      InstanceType: 'm4.2xlarge',
      PrivateIpAddress: servicesIp,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'circleci_services' }, { Key: 'Role', Value: 'services' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'Backup', Value: 'daily' }] },
      ],
    });
    expect(inst.InstanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(inst.PrivateIpAddress).toBe(servicesIp);
    expect(inst.State).toEqual({ Code: 0, Name: 'pending' });
    expect(inst.InstanceType).toBe('m4.2xlarge');
    expect(tagValue(inst.Tags, 'Role')).toBe('services');
    services = await waitForState(t, inst.InstanceId!, 'running');
    expect(services.State?.Code).toBe(16);
    expect(services.BlockDeviceMappings?.[0]?.DeviceName).toBe(services.RootDeviceName);
    expect(services.BlockDeviceMappings?.[0]?.Ebs?.VolumeId).toMatch(/^vol-[0-9a-f]{17}$/);
    expect(services.NetworkInterfaces?.[0]?.PrivateIpAddress).toBe(servicesIp);
    const vol = await t.ec2.send(new DescribeVolumesCommand({ VolumeIds: [services.BlockDeviceMappings![0]!.Ebs!.VolumeId!] }));
    expect(vol.Volumes?.[0]).toMatchObject({ State: 'in-use', Attachments: [{ InstanceId: services.InstanceId, State: 'attached' }] });
    expect(tagValue(vol.Volumes?.[0]?.Tags, 'Backup')).toBe('daily');
  });

  it('describes instances by tag filters with * and ? wildcards, ORing values and ANDing filters', async () => {
    const a = await run('nomad-client-1');
    const b = await run('nomad-client-2');
    await run('nomad-client-10');
    const ids = async (filters: { Name: string; Values: string[] }[]) => {
      const out = await t.ec2.send(new DescribeInstancesCommand({ Filters: filters }));
      return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!).sort();
    };
    expect(await ids([{ Name: 'tag:Name', Values: ['circleci_services'] }])).toEqual([services.InstanceId]);
    expect(await ids([{ Name: 'tag:Name', Values: ['circleci_*'] }])).toEqual([services.InstanceId]);
    expect(await ids([{ Name: 'tag:Name', Values: ['*services'] }])).toEqual([services.InstanceId]);
    expect(await ids([{ Name: 'tag:Name', Values: ['nomad-client-?'] }])).toEqual([a.InstanceId, b.InstanceId].sort());
    expect(await ids([{ Name: 'tag:Name', Values: ['nomad-client-1', 'circleci_services'] }])).toEqual([services.InstanceId, a.InstanceId].sort());
    if (EXTERNAL === undefined) {
      // Just launched: still pending on the twin's clock, so a running-only filter leaves them out.
      expect(await ids([{ Name: 'tag:Name', Values: ['nomad-client-*'] }, { Name: 'instance-state-name', Values: ['running'] }])).toEqual([]);
    }
    expect(await ids([{ Name: 'tag:Name', Values: ['circleci_*'] }, { Name: 'instance-state-name', Values: ['running', 'stopped'] }])).toEqual([services.InstanceId]);
    expect(await ids([{ Name: 'private-ip-address', Values: [servicesIp] }])).toEqual([services.InstanceId]);
    expect(await ids([{ Name: 'tag:Name', Values: ['CIRCLECI_SERVICES'] }])).toEqual([]);
    const byId = await t.ec2.send(new DescribeInstancesCommand({ InstanceIds: [services.InstanceId!] }));
    expect(byId.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(services.InstanceId);
  });

  it('answers unknown and malformed ids with the AWS error codes', async () => {
    const notFound = await expectAwsError(t.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 'InvalidInstanceID.NotFound');
    expect(notFound.$metadata?.httpStatusCode).toBe(400);
    expect(notFound.message).toContain('i-0123456789abcdef0');
    await expectAwsError(t.ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 'InvalidInstanceID.NotFound');
    await expectAwsError(t.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['not-an-id'] })), 'InvalidInstanceID.Malformed');
    await expectAwsError(t.ec2.send(new CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef0' })), 'InvalidVolume.NotFound');
    await expectAwsError(t.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-0123456789abcdef0'] })), 'InvalidSnapshot.NotFound');
    await expectAwsError(t.ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] })), 'InvalidAMIID.NotFound');
    await expectAwsError(
      t.ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, InstanceType: 't2.micro' })),
      'InvalidAMIID.NotFound',
    );
    await expectAwsError(
      t.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: 'eni-0123456789abcdef0', SecondaryPrivateIpAddressCount: 1 })),
      'InvalidNetworkInterfaceID.NotFound',
    );
    await expectAwsError(t.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })), 'InvalidParameterValue');
  });

  it('refuses a private IP that is in use', async () => {
    await expectAwsError(run('duplicate', { PrivateIpAddress: servicesIp }), 'InvalidIPAddress.InUse');
  });

  it('creates a snapshot of the root volume and finds it by a description wildcard', async () => {
    const volumeId = services.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const description = `CircleCI Services box Backup taken at ${new Date().toString()}`;
    const snap = await t.ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: description }));
    expect(snap.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    expect(snap).toMatchObject({ VolumeId: volumeId, State: 'pending', Description: description, Encrypted: false });
    expect(snap.StartTime).toBeInstanceOf(Date);
    snapshotId = snap.SnapshotId!;
    const found = await t.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'description', Values: ['CircleCI*'] }] }));
    expect(found.Snapshots?.map((s) => s.SnapshotId)).toContain(snapshotId);
    const none = await t.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'description', Values: ['circleci*'] }] }));
    expect(none.Snapshots?.map((s) => s.SnapshotId)).not.toContain(snapshotId);
    const done = await eventually(t, 'snapshot completed', async () => {
      const s = (await t.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots?.[0];
      return s?.State === 'completed' ? s : undefined;
    });
    expect(done.Progress).toBe('100%');
    expect(done.VolumeSize).toBe(8);
  });

  it('registers an image from the snapshot with a block device mapping', async () => {
    const out = await t.ec2.send(
      new RegisterImageCommand({
        Name: `CircleCI-restore-${Math.floor(Date.now() / 1000)}`,
        Description: `CircleCI Services Box restored from snapshot-id ${snapshotId}`,
        Architecture: 'x86_64',
        RootDeviceName: '/dev/sda1',
        VirtualizationType: 'hvm',
        BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: snapshotId } }],
      }),
    );
    expect(out.ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
    restoreImageId = out.ImageId!;
    const image = await eventually(t, 'image available', async () => {
      const i = (await t.ec2.send(new DescribeImagesCommand({ ImageIds: [restoreImageId] }))).Images?.[0];
      return i?.State === 'available' ? i : undefined;
    });
    expect(image).toMatchObject({ RootDeviceName: '/dev/sda1', RootDeviceType: 'ebs', Architecture: 'x86_64' });
    expect(image.BlockDeviceMappings?.[0]).toMatchObject({ DeviceName: '/dev/sda1', Ebs: { SnapshotId: snapshotId, VolumeSize: 8 } });
    const mine = await t.ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: ['CircleCI-restore-*'] }] }));
    expect(mine.Images?.map((i) => i.ImageId)).toContain(restoreImageId);
  });

  it('terminates the Services box and restores it from the image with the same private IP', async () => {
    const term = await t.ec2.send(new TerminateInstancesCommand({ InstanceIds: [services.InstanceId!] }));
    expect(term.TerminatingInstances?.[0]).toMatchObject({
      InstanceId: services.InstanceId,
      PreviousState: { Code: 16, Name: 'running' },
      CurrentState: { Code: 32, Name: 'shutting-down' },
    });
    if (EXTERNAL === undefined) {
      // While it shuts down the address is still held, as on AWS.
      await expectAwsError(run('circleci_services', { ImageId: restoreImageId, PrivateIpAddress: servicesIp }), 'InvalidIPAddress.InUse');
    }
    await waitForState(t, services.InstanceId!, 'terminated');
    const restored = await run('circleci_services', { ImageId: restoreImageId, PrivateIpAddress: servicesIp, InstanceType: 'm4.2xlarge' });
    expect(restored.PrivateIpAddress).toBe(servicesIp);
    expect(restored.ImageId).toBe(restoreImageId);
    services = await waitForState(t, restored.InstanceId!, 'running');
    const vol = await t.ec2.send(new DescribeVolumesCommand({ VolumeIds: [services.BlockDeviceMappings![0]!.Ebs!.VolumeId!] }));
    expect(vol.Volumes?.[0]?.SnapshotId).toBe(snapshotId);
    const live = await t.ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['circleci_services'] }, { Name: 'instance-state-name', Values: ['running'] }] }),
    );
    expect((live.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([services.InstanceId]);
  });

  it('creates an image of the running box with NoReboot', async () => {
    const rebootsBefore = t.twin?.state.events.filter((e) => e.kind === 'instance-rebooted').length ?? 0;
    const out = await t.ec2.send(new CreateImageCommand({ InstanceId: services.InstanceId!, Name: 'circleci-services-backup-noreboot', NoReboot: true }));
    expect(out.ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
    const image = await eventually(t, 'image available', async () => {
      const i = (await t.ec2.send(new DescribeImagesCommand({ ImageIds: [out.ImageId!] }))).Images?.[0];
      return i?.State === 'available' ? i : undefined;
    });
    const snap = image.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    expect(snap).toMatch(/^snap-[0-9a-f]{17}$/);
    const described = (await t.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap!] }))).Snapshots?.[0];
    expect(described?.VolumeId).toBe(services.BlockDeviceMappings![0]!.Ebs!.VolumeId);
    expect((await instanceById(t, services.InstanceId!)).State?.Name).toBe('running');
    if (t.twin !== undefined) {
      expect(described?.Description).toBe(`Created by CreateImage(${services.InstanceId}) for ${out.ImageId} from ${described?.VolumeId}`);
      expect(t.twin.state.events.filter((e) => e.kind === 'instance-rebooted').length).toBe(rebootsBefore);
      await t.ec2.send(new CreateImageCommand({ InstanceId: services.InstanceId!, Name: 'circleci-services-backup-reboot' }));
      expect(t.twin.state.events.filter((e) => e.kind === 'instance-rebooted').map((e) => e.resourceId)).toContain(services.InstanceId);
    }
  });

  it('moves a secondary private IP between instances with AllowReassignment', async () => {
    const replica = await waitForState(t, (await run('circleci_services_replica')).InstanceId!, 'running');
    const primaryEni = services.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const replicaEni = replica.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const assigned = await t.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: primaryEni, SecondaryPrivateIpAddressCount: 1 }));
    const floating = assigned.AssignedPrivateIpAddresses?.[0]?.PrivateIpAddress;
    expect(floating).toBeDefined();
    expect(assigned.NetworkInterfaceId).toBe(primaryEni);
    if (EXTERNAL === undefined) {
      await expectAwsError(
        t.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: replicaEni, PrivateIpAddresses: [floating!] })),
        'PrivateIpAddressInUse',
      );
    }
    const moved = await t.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: replicaEni, PrivateIpAddresses: [floating!], AllowReassignment: true }));
    expect(moved.AssignedPrivateIpAddresses?.map((a) => a.PrivateIpAddress)).toEqual([floating]);
    const addresses = async (id: string) => (await instanceById(t, id)).NetworkInterfaces?.[0]?.PrivateIpAddresses?.map((a) => a.PrivateIpAddress) ?? [];
    expect(await addresses(replica.InstanceId!)).toContain(floating);
    expect(await addresses(services.InstanceId!)).not.toContain(floating);
    const holder = await t.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'network-interface.addresses.private-ip-address', Values: [floating!] }] }));
    expect(holder.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(replica.InstanceId);
    if (EXTERNAL === undefined) {
      // A primary address never moves.
      await expectAwsError(
        t.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: replicaEni, PrivateIpAddresses: [servicesIp], AllowReassignment: true })),
        'InvalidParameterValue',
      );
    }
  });

  it('creates, deletes and describes tags', async () => {
    const id = services.InstanceId!;
    await t.ec2.send(new CreateTagsCommand({ Resources: [id, snapshotId], Tags: [{ Key: 'drill', Value: '2020-01' }, { Key: 'owner', Value: 'ops' }] }));
    const tags = await t.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['drill'] }] }));
    expect(tags.Tags?.map((x) => [x.ResourceId, x.ResourceType, x.Value]).sort()).toEqual(
      [
        [id, 'instance', '2020-01'],
        [snapshotId, 'snapshot', '2020-01'],
      ].sort(),
    );
    await t.ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'drill' }, { Key: 'owner', Value: 'not-ops' }] }));
    const left = (await instanceById(t, id)).Tags ?? [];
    expect(tagValue(left, 'drill')).toBeUndefined();
    expect(tagValue(left, 'owner')).toBe('ops');
    await expectAwsError(t.ec2.send(new CreateTagsCommand({ Resources: ['i-0123456789abcdef0'], Tags: [{ Key: 'a', Value: 'b' }] })), 'InvalidInstanceID.NotFound');
  });

  it('stops and starts an instance, keeping its private IP', async () => {
    const inst = await waitForState(t, (await run('builder-stop-start')).InstanceId!, 'running');
    const stop = await t.ec2.send(new StopInstancesCommand({ InstanceIds: [inst.InstanceId!] }));
    expect(stop.StoppingInstances?.[0]?.CurrentState?.Name).toBe('stopping');
    await waitForState(t, inst.InstanceId!, 'stopped');
    const start = await t.ec2.send(new StartInstancesCommand({ InstanceIds: [inst.InstanceId!] }));
    expect(start.StartingInstances?.[0]).toMatchObject({ PreviousState: { Name: 'stopped' }, CurrentState: { Name: 'pending' } });
    const again = await waitForState(t, inst.InstanceId!, 'running');
    expect(again.PrivateIpAddress).toBe(inst.PrivateIpAddress);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Auto Scaling with the real SDK: the builder fleet's group.

describe('Auto Scaling contract (@aws-sdk/client-auto-scaling)', () => {
  let t: Target;
  const group = 'circleci-nomad-clients';

  beforeAll(async () => {
    t = await openTarget(2);
    await t.autoscaling.send(
      new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'nomad-client-lc-v1', ImageId: await baseImageId(t), InstanceType: 'm4.xlarge' }),
    );
  });

  afterAll(async () => {
    await t?.autoscaling.send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: group, ForceDelete: true })).catch(() => undefined);
    await t?.close();
  });

  const describeGroup = async (): Promise<AutoScalingGroup> => {
    const out = await t.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }));
    const g = out.AutoScalingGroups?.[0];
    if (g === undefined) throw new Error(`no group ${group}`);
    return g;
  };
  const inService = async (n: number) =>
    eventually(t, `${n} instances InService`, async () => {
      const g = await describeGroup();
      const instances = g.Instances ?? [];
      return instances.length === n && instances.every((i) => i.LifecycleState === 'InService') ? g : undefined;
    });

  it('creates a group that launches its desired capacity from the launch configuration', async () => {
    await t.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: group,
        LaunchConfigurationName: 'nomad-client-lc-v1',
        MinSize: 1,
        MaxSize: 4,
        DesiredCapacity: 2,
        AvailabilityZones: [`${REGION}a`, `${REGION}b`],
        Tags: [{ Key: 'Name', Value: 'nomad-client', PropagateAtLaunch: true }],
      }),
    );
    const g = await inService(2);
    expect(g).toMatchObject({ MinSize: 1, MaxSize: 4, DesiredCapacity: 2, LaunchConfigurationName: 'nomad-client-lc-v1' });
    expect(new Set(g.Instances?.map((i) => i.AvailabilityZone))).toEqual(new Set([`${REGION}a`, `${REGION}b`]));
    const ec2 = await t.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: [group] }] }));
    const members = (ec2.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    expect(members.map((i) => i.InstanceId).sort()).toEqual(g.Instances?.map((i) => i.InstanceId).sort());
    for (const m of members) expect(tagValue(m.Tags, 'Name')).toBe('nomad-client');
    await expectAwsError(
      t.autoscaling.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: group, LaunchConfigurationName: 'nomad-client-lc-v1', MinSize: 0, MaxSize: 1, AvailabilityZones: [`${REGION}a`] })),
      'AlreadyExistsFault',
    );
  });

  it('updates the group and rejects bounds that cross', async () => {
    await t.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, MinSize: 0, MaxSize: 6 }));
    expect(await describeGroup()).toMatchObject({ MinSize: 0, MaxSize: 6, DesiredCapacity: 2 });
    const e = await expectAwsError(t.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: group, MinSize: 5, MaxSize: 3 })), 'ValidationError');
    expect(e.$metadata?.httpStatusCode).toBe(400);
    await expectAwsError(t.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'no-such-group', MaxSize: 3 })), 'ValidationError');
  });

  it('SetDesiredCapacity launches and terminates instances', async () => {
    await t.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 4 }));
    const up = await inService(4);
    expect(up.DesiredCapacity).toBe(4);
    await t.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 1 }));
    const down = await inService(1);
    const gone = up.Instances!.map((i) => i.InstanceId!).filter((id) => id !== down.Instances![0]!.InstanceId);
    for (const id of gone) await waitForState(t, id, 'terminated');
    await expectAwsError(t.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 9 })), 'ValidationError');
    const activities = await t.autoscaling.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: group }));
    expect(activities.Activities?.some((a) => a.Description?.startsWith('Terminating EC2 instance'))).toBe(true);
    expect(activities.Activities?.some((a) => a.Description?.startsWith('Launching a new EC2 instance'))).toBe(true);
  });

  it('stores a scheduled action', async () => {
    const start = new Date(Math.ceil(((t.clock?.nowMs() ?? Date.now()) + 3_600_000) / 60_000) * 60_000);
    await t.autoscaling.send(
      new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: group, ScheduledActionName: 'workday-scale-up', StartTime: start, DesiredCapacity: 3, MinSize: 1 }),
    );
    await t.autoscaling.send(
      new PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: group, ScheduledActionName: 'nightly-scale-down', Recurrence: '0 4 * * SUN', DesiredCapacity: 1 }),
    );
    const out = await t.autoscaling.send(new DescribeScheduledActionsCommand({ AutoScalingGroupName: group }));
    const byName = new Map(out.ScheduledUpdateGroupActions?.map((a) => [a.ScheduledActionName, a]));
    expect(byName.get('workday-scale-up')).toMatchObject({ DesiredCapacity: 3, MinSize: 1, StartTime: start });
    expect(byName.get('nightly-scale-down')?.Recurrence).toBe('0 4 * * SUN');
    expect(byName.get('workday-scale-up')?.ScheduledActionARN).toMatch(/^arn:aws:autoscaling:/);
  });

  twinOnly('runs the one-off scheduled action when its time comes', async () => {
    t.clock!.advance(3_600_000 + 60_000);
    const g = await inService(3);
    expect(g).toMatchObject({ DesiredCapacity: 3, MinSize: 1 });
    const left = await t.autoscaling.send(new DescribeScheduledActionsCommand({ AutoScalingGroupName: group }));
    expect(left.ScheduledUpdateGroupActions?.map((a) => a.ScheduledActionName)).toEqual(['nightly-scale-down']);
  });

  it('stores a step scaling policy and a simple one', async () => {
    const step = await t.autoscaling.send(
      new PutScalingPolicyCommand({
        AutoScalingGroupName: group,
        PolicyName: 'queue-depth-step',
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        MetricAggregationType: 'Average',
        StepAdjustments: [
          { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 1 },
          { MetricIntervalLowerBound: 10, ScalingAdjustment: 2 },
        ],
      }),
    );
    expect(step.PolicyARN).toMatch(/^arn:aws:autoscaling:.*:scalingPolicy:.*policyName\/queue-depth-step$/);
    await t.autoscaling.send(
      new PutScalingPolicyCommand({ AutoScalingGroupName: group, PolicyName: 'scale-in-one', PolicyType: 'SimpleScaling', AdjustmentType: 'ChangeInCapacity', ScalingAdjustment: -1, Cooldown: 60 }),
    );
    const out = await t.autoscaling.send(new DescribePoliciesCommand({ AutoScalingGroupName: group }));
    const byName = new Map(out.ScalingPolicies?.map((p) => [p.PolicyName, p]));
    expect(byName.get('queue-depth-step')).toMatchObject({
      PolicyType: 'StepScaling',
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 1 },
        { MetricIntervalLowerBound: 10, ScalingAdjustment: 2 },
      ],
    });
    expect(byName.get('scale-in-one')).toMatchObject({ PolicyType: 'SimpleScaling', ScalingAdjustment: -1, Cooldown: 60 });
  });

  twinOnly('executes the step policy with the step the metric falls in', async () => {
    const before = (await describeGroup()).DesiredCapacity!;
    await t.autoscaling.send(new ExecutePolicyCommand({ AutoScalingGroupName: group, PolicyName: 'queue-depth-step', MetricValue: 75, BreachThreshold: 60 }));
    expect((await describeGroup()).DesiredCapacity).toBe(Math.min(6, before + 2));
    await t.autoscaling.send(new ExecutePolicyCommand({ AutoScalingGroupName: group, PolicyName: 'queue-depth-step', MetricValue: 61, BreachThreshold: 60 }));
    expect((await describeGroup()).DesiredCapacity).toBe(Math.min(6, before + 3));
    await t.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 2 }));
    await inService(2);
  });

  it('holds a terminating instance in Terminating:Wait until CompleteLifecycleAction', async () => {
    await t.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 2 }));
    await inService(2);
    await t.autoscaling.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: group,
        LifecycleHookName: 'drain-nomad-client',
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
        HeartbeatTimeout: 600,
        DefaultResult: 'CONTINUE',
      }),
    );
    const hooks = await t.autoscaling.send(new DescribeLifecycleHooksCommand({ AutoScalingGroupName: group }));
    expect(hooks.LifecycleHooks?.[0]).toMatchObject({ LifecycleHookName: 'drain-nomad-client', HeartbeatTimeout: 600, DefaultResult: 'CONTINUE' });

    const victim = (await describeGroup()).Instances![0]!.InstanceId!;
    const activity = await t.autoscaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: victim, ShouldDecrementDesiredCapacity: true }));
    expect(activity.Activity?.Description).toBe(`Terminating EC2 instance: ${victim}`);
    const state = async () => (await t.autoscaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [victim] }))).AutoScalingInstances?.[0]?.LifecycleState;
    expect(await state()).toBe('Terminating:Wait');
    // Time passes (less than the heartbeat timeout): it stays held, and its EC2 instance keeps running.
    await t.tick(60_000);
    expect(await state()).toBe('Terminating:Wait');
    expect((await instanceById(t, victim)).State?.Name).toBe('running');
    expect((await describeGroup()).DesiredCapacity).toBe(1);

    await t.autoscaling.send(
      new CompleteLifecycleActionCommand({ AutoScalingGroupName: group, LifecycleHookName: 'drain-nomad-client', InstanceId: victim, LifecycleActionResult: 'CONTINUE' }),
    );
    await waitForState(t, victim, 'terminated');
    await eventually(t, 'victim gone from the group', async () => ((await describeGroup()).Instances?.some((i) => i.InstanceId === victim) ? undefined : true));
    await expectAwsError(
      t.autoscaling.send(
        new CompleteLifecycleActionCommand({ AutoScalingGroupName: group, LifecycleHookName: 'drain-nomad-client', InstanceId: victim, LifecycleActionResult: 'CONTINUE' }),
      ),
      'ValidationError',
    );
  });

  twinOnly('lets a held instance go with the default result when the heartbeat times out', async () => {
    await t.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 2 }));
    const g = await inService(2);
    await t.autoscaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 1 }));
    const held = await t.autoscaling.send(new DescribeAutoScalingInstancesCommand({}));
    const waiting = held.AutoScalingInstances?.filter((i) => i.LifecycleState === 'Terminating:Wait') ?? [];
    expect(waiting).toHaveLength(1);
    expect(held.AutoScalingInstances?.every((i) => i.HealthStatus === 'HEALTHY')).toBe(true);
    t.clock!.advance(599_000);
    expect((await instanceById(t, waiting[0]!.InstanceId!)).State?.Name).toBe('running');
    t.clock!.advance(1_000);
    await waitForState(t, waiting[0]!.InstanceId!, 'terminated');
    expect(g.Instances?.map((i) => i.InstanceId)).toContain(waiting[0]!.InstanceId);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The wire itself, below the SDK: what only the twin promises (AWS checks signatures, the twin only wants one).

describe.skipIf(EXTERNAL !== undefined)('Query protocol edges (twin only)', () => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(4);
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (path: string, body: string, headers: Record<string, string> = { authorization: 'AWS4-HMAC-SHA256 Credential=test/20200121/us-east-1/ec2/aws4_request' }) =>
    fetch(`${t.ec2Url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

  it('answers AuthFailure (401) without any signature', async () => {
    const res = await post('/', 'Action=DescribeInstances&Version=2016-11-15', {});
    expect(res.status).toBe(401);
    const xml = await res.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response><Errors><Error><Code>AuthFailure<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
  });

  it('accepts presigned query authentication', async () => {
    const res = await fetch(`${t.ec2Url}/?Action=DescribeInstances&Version=2016-11-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20200121%2Fus-east-1%2Fec2%2Faws4_request&X-Amz-Signature=00`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>');
  });

  it('answers InvalidAction and MissingParameter in both services', async () => {
    const ec2 = await post('/', 'Action=LaunchRockets&Version=2016-11-15');
    expect(ec2.status).toBe(400);
    expect(await ec2.text()).toContain('<Code>InvalidAction</Code>');
    const asg = await post('/autoscaling/', 'Action=LaunchRockets&Version=2011-01-01');
    expect(asg.status).toBe(400);
    expect(await asg.text()).toMatch(/<ErrorResponse xmlns="https:\/\/autoscaling.amazonaws.com\/doc\/2011-01-01\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/);
    const missing = await post('/', 'Action=CreateSnapshot&Version=2016-11-15');
    expect(await missing.text()).toContain('<Code>MissingParameter</Code><Message>The request must contain the parameter VolumeId</Message>');
    const noVersion = await post('/', 'Action=DescribeInstances');
    expect(await noVersion.text()).toContain('<Code>MissingParameter</Code>');
  });

  it('routes Auto Scaling by Version on the EC2 path too (one AWS_ENDPOINT_URL for both)', async () => {
    const res = await post('/', 'Action=DescribeAutoScalingGroups&Version=2011-01-01');
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<DescribeAutoScalingGroupsResponse xmlns="https:\/\/autoscaling.amazonaws.com\/doc\/2011-01-01\/"><DescribeAutoScalingGroupsResult><AutoScalingGroups><\/AutoScalingGroups><\/DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>/);
  });

  it('answers DryRun with DryRunOperation (412) and changes nothing', async () => {
    const before = t.twin!.state.ec2.instances.size;
    const res = await post('/', `Action=RunInstances&Version=2016-11-15&DryRun=true&ImageId=${t.twin!.state.ec2.baseImageId}&MinCount=1&MaxCount=1`);
    expect(res.status).toBe(412);
    expect(await res.text()).toContain('<Code>DryRunOperation</Code>');
    expect(t.twin!.state.ec2.instances.size).toBe(before);
  });

  it('serves a health probe', async () => {
    const res = await fetch(`${t.ec2Url}/_twin/health`);
    expect(await res.json()).toEqual({ status: 'ok', service: 'ec2+autoscaling' });
  });

  it('draws the same ids for the same seed', async () => {
    const other = await openTarget(4);
    try {
      const launch = (target: Target) =>
        target.ec2.send(new RunInstancesCommand({ ImageId: target.twin!.state.ec2.baseImageId, MinCount: 2, MaxCount: 2, InstanceType: 't2.micro', ClientToken: 'same' }));
      const a = await launch(t);
      const b = await launch(other);
      expect(b.Instances?.map((i) => [i.InstanceId, i.PrivateIpAddress])).toEqual(a.Instances?.map((i) => [i.InstanceId, i.PrivateIpAddress]));
      // A retry with the same ClientToken is the same launch, not a second one.
      const again = await launch(t);
      expect(again.Instances?.map((i) => i.InstanceId)).toEqual(a.Instances?.map((i) => i.InstanceId));
      expect(ipToInt(a.Instances![0]!.PrivateIpAddress!)).toBeDefined();
    } finally {
      await other.close();
    }
  });
});
