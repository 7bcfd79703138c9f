/**
 * What the CloudWatch contract tests share (`cloudwatch.live.test.ts`, `cloudwatch-alarms.live.test.ts`): a twin
 * on a manual clock with SDK clients for CloudWatch and Auto Scaling, and a runner of the AWS CLI against it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { afterAll, expect } from 'vitest';
import { awsCliEnv } from './aws-cli-env.ts';
import { ManualClock } from './clock.ts';
import { Ec2Api, type StartedEc2Api } from './server.ts';

export const GROUP = 'circleci-nomad-clients';
export const REGION = 'us-east-1';
export const MINUTE = 60_000;
/** Minute-aligned, so that each put lands in the minute the next evaluation reads. */
export const START = Date.UTC(2026, 11, 7, 9, 0, 0);
export const NAMESPACE = 'CircleCI/Nomad';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface Twin {
  api: StartedEc2Api;
  clock: ManualClock;
  cw: CloudWatchClient;
  asg: AutoScalingClient;
}

export async function openTwin(): Promise<Twin> {
  const clock = new ManualClock(START);
  const api = await new Ec2Api().withPort(0).withRegion(REGION).withClock(clock).withSeed(7).withTimings({ bootMs: 20_000 }).start();
  return {
    api,
    clock,
    cw: new CloudWatchClient({ endpoint: api.url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 }),
    asg: new AutoScalingClient({ endpoint: api.autoscalingUrl, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 }),
  };
}

export async function closeTwin(t: Twin): Promise<void> {
  t.cw.destroy();
  t.asg.destroy();
  await t.api.stop();
}

/**
 * The AWS CLI against the twin's endpoint, asynchronously (the endpoint answers from this process): `run` gives
 * the exit code and output; `aws` expects success and parses the JSON answer.
 */
export function awsCli(scratch: string, url: string) {
  const env = { ...awsCliEnv(scratch, REGION), AWS_ENDPOINT_URL: url };
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('aws', args, { env, encoding: 'utf8', timeout: 90_000, cwd: scratch }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
  const aws = async (...args: string[]) => {
    const r = await run(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>);
  };
  return { run, aws };
}

/** Whether the AWS CLI runs here, and its version line (the CLI tests are skipped, with a hint, without it). */
export function probeAwsCli(): { missing: boolean; version: string } {
  const r = spawnSync('aws', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const missing = r.error !== undefined || r.status !== 0;
  if (missing) console.log('skipping the AWS CLI tests: the AWS CLI is not runnable here; install the Debian package awscli (apt-get install awscli), as .ci/run does');
  return { missing, version: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** A scratch directory for the AWS CLI's config, removed after the file's tests. */
export function cliScratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
