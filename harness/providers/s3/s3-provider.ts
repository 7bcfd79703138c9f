import { request as httpRequest } from 'node:http';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { drivers } from '../drivers.ts';
import { chooseBackend, type BackendAvailability, type BackendDecision } from '../choose-backend.ts';
import { IMAGES } from '../images.ts';
import { ProviderBuilder } from '../provider-builder.ts';
import type { BackendRunner } from '../runner.ts';
import { detectContainerRuntime } from '../runtime.ts';
import type { BackendChoice } from '../types.ts';
import { Wait } from '../wait.ts';
import { LOCALSTACK_CREDENTIALS, startContainerS3 } from './container-s3.ts';
import { S3RVER_CREDENTIALS, startEmbeddedS3 } from './embedded-s3.ts';
import { bucketNameProblem, parseS3Url, S3_URL_EXAMPLE, type S3Url } from './s3-url.ts';
import { StartedS3, type S3Credentials } from './started-s3.ts';

/** What a caller may set; defaults are applied once, in `settleS3Options`. */
export interface S3ProviderOptions {
  backend?: BackendChoice;
  /** An S3 endpoint (`http://127.0.0.1:4566`, optionally with credentials, a bucket and `?region=`). */
  url?: string;
  bucket?: string;
  region?: string;
  image?: string;
  startTimeoutMs?: number;
}

export interface SettledS3Options {
  readonly backend: BackendChoice;
  readonly url: string | undefined;
  /** The validated URL (a bad one fails here, before anything starts). */
  readonly external: S3Url | undefined;
  readonly bucket: string;
  readonly region: string;
  readonly image: string;
  readonly startTimeoutMs: number;
}

/** The twin's bucket when none is named (the seeds never name CircleCI's; Replicated creates it at install). */
export const DEFAULT_BUCKET = 'circleci';
export const DEFAULT_REGION = 'us-east-1';

export function settleS3Options(o: S3ProviderOptions): SettledS3Options {
  const external = o.url !== undefined ? parseS3Url(o.url) : undefined;
  const bucket = o.bucket ?? external?.bucket ?? DEFAULT_BUCKET;
  const problem = bucketNameProblem(bucket);
  if (problem !== undefined) throw new TypeError(`s3: bucket name '${bucket}' ${problem}`);
  return {
    backend: o.backend ?? 'auto',
    url: o.url,
    external,
    // withBucket / withRegion win over the URL's, as withDatabase does over a MongoDB URL's database.
    bucket,
    region: o.region ?? external?.region ?? DEFAULT_REGION,
    image: o.image ?? IMAGES.localstack,
    // LocalStack's first boot (image already pulled) takes 10–20 s; s3rver listens within milliseconds.
    startTimeoutMs: o.startTimeoutMs ?? 60_000,
  };
}

/** There is no S3 server binary to run as a private process: s3rver runs embedded instead. */
const NO_LOCAL: BackendAvailability = { available: false, detail: 'no local S3 server binary is used (s3rver runs embedded instead)' };
/** The embedded fallback is always possible: it needs nothing but this process and a temp dir. */
const EMBEDDED: BackendAvailability = { available: true, detail: 'the embedded s3rver (in this process) is the fallback' };

/**
 * S3 for the live stack: LocalStack in a container when a runtime exists, else s3rver embedded in this process, or
 * an external endpoint. The bucket is created if missing. `store()` gives the pipeline's `ObjectStore`.
 *
 * ```ts
 * await using s3 = await new S3Provider().start();                  // embedded here: no Docker
 * await s3.store().put(keyFor('step-output', 12, 3), 'hello\n', 'text/plain');
 * ```
 */
export class S3Provider extends ProviderBuilder<S3ProviderOptions, StartedS3> {
  /** The bucket to use (created if missing); default `circleci`, or the one the URL names. */
  withBucket(bucket: string): this {
    return this.with({ bucket });
  }
  withRegion(region: string): this {
    return this.with({ region });
  }

  async start(): Promise<StartedS3> {
    const o = settleS3Options(this.opts);
    const decision = await chooseBackend({
      component: 's3',
      choice: o.backend,
      url: o.url,
      urlExample: S3_URL_EXAMPLE,
      local: () => NO_LOCAL,
      localHint: "choose withBackend('embedded') for s3rver in this process",
      embedded: EMBEDDED,
      runtime: detectContainerRuntime,
    });
    const s = await startBackend(decision, o);
    const connection = { bucket: o.bucket, region: o.region, credentials: s.credentials };
    const started = new StartedS3({ name: 's3', backend: decision.kind, backendDetail: `${s.detail}, bucket ${o.bucket} (${decision.reason})`, url: s.endpoint, host: s.host, port: s.port }, s.runner, connection);
    try {
      if (decision.kind === 'embedded') await ensureEmbeddedBucket(o.bucket, s.host, s.port, o.startTimeoutMs);
      else await ensureBucket(started.clientConfig(), o.bucket, s.host, s.port, o.startTimeoutMs);
    } catch (err) {
      await started.stop();
      throw err;
    }
    return started;
  }
}

interface BackendStart {
  readonly runner: BackendRunner;
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly credentials: S3Credentials;
  readonly detail: string;
}

async function startBackend(decision: BackendDecision, o: SettledS3Options): Promise<BackendStart> {
  switch (decision.kind) {
    case 'embedded': {
      const e = await startEmbeddedS3();
      return { runner: e.runner, endpoint: `http://127.0.0.1:${e.port}`, host: '127.0.0.1', port: e.port, credentials: S3RVER_CREDENTIALS, detail: e.detail };
    }
    case 'testcontainers': {
      const c = await startContainerS3({ image: o.image, region: o.region, startTimeoutMs: o.startTimeoutMs });
      return { runner: c.runner, endpoint: `http://${c.host}:${c.port}`, host: c.host, port: c.port, credentials: LOCALSTACK_CREDENTIALS, detail: `LocalStack container ${o.image} (S3 only) on ${c.host}:${c.port}` };
    }
    case 'external': {
      const e = o.external!;
      return {
        runner: { pid: undefined, dataDir: undefined, stop: async () => undefined },
        endpoint: e.endpoint,
        host: e.host,
        port: e.port,
        // LocalStack takes any credentials; a URL without them is most likely LocalStack.
        credentials: e.credentials ?? LOCALSTACK_CREDENTIALS,
        detail: `external S3 endpoint ${e.redacted}${e.credentials ? '' : ' (credentials test/test)'}`,
      };
    }
    case 'local':
      throw new TypeError('s3 has no local backend: chooseBackend never picks it');
  }
}

/**
 * Waits until the endpoint answers for the bucket, creating it if missing: the readiness probe of every backend.
 * Wrong credentials or a bucket owned by someone else end the wait at once; retrying will not cure them.
 */
async function ensureBucket(config: S3ClientConfig, bucket: string, host: string, port: number, timeoutMs: number): Promise<void> {
  const { CreateBucketCommand, HeadBucketCommand, S3Client } = drivers.s3();
  const client = new S3Client({ ...config, maxAttempts: 1, requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } });
  try {
    await Wait.forProbe(
      `bucket ${bucket} exists (HeadBucket, else CreateBucket)`,
      async () => {
        try {
          await client.send(new HeadBucketCommand({ Bucket: bucket }));
        } catch (err) {
          if (statusOf(err) !== 404) throw described('HeadBucket', err);
          try {
            await client.send(new CreateBucketCommand({ Bucket: bucket }));
          } catch (createErr) {
            // Another starter won the race: the bucket is there, which is all that was asked.
            if (!(createErr instanceof Error && createErr.name === 'BucketAlreadyOwnedByYou')) throw described('CreateBucket', createErr);
          }
        }
      },
      isHopeless,
    ).waitUntilReady({ label: 's3', host, port, deadline: Date.now() + timeoutMs });
  } finally {
    client.destroy();
  }
}

/**
 * The same for the embedded s3rver, in plain HTTP (HEAD, else PUT, of the bucket; s3rver takes unsigned requests):
 * the AWS SDK costs a third of a CPU-second to load and send once, and the supervisor that starts s3rver would load
 * it only for this (the stages that use S3 load it in their own threads).
 */
async function ensureEmbeddedBucket(bucket: string, host: string, port: number, timeoutMs: number): Promise<void> {
  const call = (method: 'HEAD' | 'PUT') =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host, port, path: `/${encodeURIComponent(bucket)}`, method, timeout: 5_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} /${bucket}: no answer within 5 s`)));
      req.on('error', reject);
      req.end();
    });
  await Wait.forProbe(`bucket ${bucket} exists (HEAD, else PUT)`, async () => {
    const head = await call('HEAD');
    if (head === 200) return;
    if (head !== 404) throw new Error(`HEAD /${bucket} answered ${head}`);
    const put = await call('PUT');
    // 409: another starter made it meanwhile, which is all that was asked.
    if (put !== 200 && put !== 409) throw new Error(`PUT /${bucket} answered ${put}`);
  }).waitUntilReady({ label: 's3', host, port, deadline: Date.now() + timeoutMs });
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** An SDK error in words: a HEAD answer has no body, so the SDK's own message is often just "UnknownError". */
function described(operation: string, err: unknown): Error {
  if (!(err instanceof Error)) return new Error(`${operation}: ${String(err)}`);
  const status = statusOf(err);
  return new Error(`${operation}: ${err.name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${err.message}`, { cause: err });
}

function isHopeless(err: unknown): boolean {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  return statusOf(cause) === 403 || (cause instanceof Error && /^(InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|BucketAlreadyExists)$/.test(cause.name));
}
