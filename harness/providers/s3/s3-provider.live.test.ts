import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { privateDataRoot } from '../temp-dir.ts';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectContainerRuntime } from '../runtime.ts';
import { isPortOpen } from '../wait.ts';
import { describeObjectStoreContract } from './contract.ts';
import { FileservedProvider } from './fileserved-provider.ts';
import { S3Provider } from './s3-provider.ts';
import type { StartedFileserved } from './started-fileserved.ts';
import type { StartedS3 } from './started-s3.ts';
import { OBJECT_KINDS, storageLayout, type KeyArgs, type ObjectKind } from './storage-layout.ts';

const runtime = await detectContainerRuntime();
const layout = storageLayout();

/** One object of each kind, for build 41. */
const SAMPLE_ARGS: { [K in ObjectKind]: KeyArgs[K] } = {
  artifact: [41, 'coverage/index.html'],
  'test-results': [41, 'junit.xml'],
  'step-output': [41, 2, 0],
  cache: ['gh/GERey/pipeline', 'v1-deps-abc123'],
  workspace: [7, 'layer-0.tar.gz'],
  'task-config': [41],
  'audit-log': [new Date('2024-05-06T13:00:00Z'), 'a1b2'],
};
const sampleKey = (kind: ObjectKind): string => layout.keyFor(kind, ...(SAMPLE_ARGS[kind] as KeyArgs[typeof kind]));

async function text(client: S3Client, bucket: string, key: string): Promise<string> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return r.Body!.transformToString();
}

describe('S3Provider, auto', () => {
  it.skipIf(runtime.available)('falls back to the embedded s3rver without a container runtime, and says why', async () => {
    await using s3 = await new S3Provider().start();
    expect(s3.backend).toBe('embedded');
    expect(s3.backendDetail).toMatch(/^embedded S3 \(s3rver 3\.7\.1, in a thread of this process, no pid\) on 127\.0\.0\.1:\d+, objects in .*, bucket circleci \(auto: no local S3 server binary is used.*; no container runtime.*; the embedded s3rver .* is the fallback\)$/);
    expect(s3.backendDetail).not.toMatch(/\n/);
    // s3rver runs in its own thread: this one (the stack's, in `twin up`) never loads it.
    expect(Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/node_modules/s3rver/'))).toEqual([]);
  });
});

describe('S3Provider, embedded backend (s3rver in this process)', () => {
  let s3: StartedS3;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await new S3Provider().withBackend('embedded').withBucket('twin-live').start();
    client = s3.client();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('listens on a free port of 127.0.0.1 with its objects in a temp dir, and the bucket exists', async () => {
    expect(s3.url).toBe(`http://127.0.0.1:${s3.port}`);
    expect(s3.port).not.toBe(4568); // s3rver's default port: a free one was taken instead
    expect(s3.pid).toBeUndefined();
    expect(s3.dataDir?.startsWith(join(privateDataRoot(), 'twin-s3-'))).toBe(true);
    expect([s3.bucket, s3.region, s3.credentials.accessKeyId]).toEqual(['twin-live', 'us-east-1', 'S3RVER']);
    expect(s3.clientConfig()).toMatchObject({ endpoint: s3.url, forcePathStyle: true });
    expect((await client.send(new ListObjectsV2Command({ Bucket: 'twin-live' }))).KeyCount).toBe(0);
  });

  it('puts, gets, heads, lists by prefix and deletes through the real @aws-sdk/client-s3', async () => {
    const Bucket = s3.bucket;
    await client.send(new PutObjectCommand({ Bucket, Key: 'artifacts/1/a.txt', Body: 'alpha', ContentType: 'text/plain' }));
    await client.send(new PutObjectCommand({ Bucket, Key: 'artifacts/1/b/c.txt', Body: Buffer.from('gamma!') }));
    await client.send(new PutObjectCommand({ Bucket, Key: 'action-logs/1/0/0.log', Body: 'log' }));
    expect(await text(client, Bucket, 'artifacts/1/a.txt')).toBe('alpha');
    const head = await client.send(new HeadObjectCommand({ Bucket, Key: 'artifacts/1/a.txt' }));
    expect([head.ContentLength, head.ContentType, head.ETag]).toEqual([5, 'text/plain', '"2c1743a391305fbf367df8e4f069f9f9"']);
    const listed = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'artifacts/1/' }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([
      ['artifacts/1/a.txt', 5],
      ['artifacts/1/b/c.txt', 6],
    ]);
    await client.send(new DeleteObjectCommand({ Bucket, Key: 'artifacts/1/a.txt' }));
    await expect(client.send(new HeadObjectCommand({ Bucket, Key: 'artifacts/1/a.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(client.send(new GetObjectCommand({ Bucket, Key: 'artifacts/1/a.txt' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect((await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'artifacts/1/' }))).KeyCount).toBe(1);
  });

  it('pages ListObjectsV2 past MaxKeys (s3rver 3.7.1 needs DES for its tokens; the repair gives working ones)', async () => {
    const Bucket = s3.bucket;
    const keys = Array.from({ length: 7 }, (_, i) => `test-results/paging/${i}.xml`);
    for (const Key of keys) await client.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    const first = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'test-results/paging/', MaxKeys: 3 }));
    expect([first.IsTruncated, first.KeyCount, typeof first.NextContinuationToken]).toEqual([true, 3, 'string']);
    const seen: string[] = [];
    for await (const page of paginateListObjectsV2({ client, pageSize: 3 }, { Bucket, Prefix: 'test-results/paging/' })) seen.push(...(page.Contents ?? []).map((o) => o.Key!));
    expect(seen).toEqual(keys);
    const after = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'test-results/paging/', StartAfter: 'test-results/paging/4.xml' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(keys.slice(5));
    await expect(client.send(new ListObjectsV2Command({ Bucket, ContinuationToken: 'bm90LW91cnM' }))).rejects.toMatchObject({ name: 'InvalidArgument' });
  });

  it('completes a multipart upload', async () => {
    const Bucket = s3.bucket;
    const Key = layout.keyFor('workspace', 7, 'big.tar');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const part1 = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, 1) }));
    const part2 = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: Buffer.alloc(10, 2) }));
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part1.ETag }, { PartNumber: 2, ETag: part2.ETag }] } }));
    expect((await client.send(new HeadObjectCommand({ Bucket, Key }))).ContentLength).toBe(5 * 1024 * 1024 + 10);
  });

  it("lands an object of every kind under the seeds' prefixes, caches and workspaces tagged as the lifecycle rules match them", async () => {
    const store = s3.store();
    for (const kind of OBJECT_KINDS) await store.put(sampleKey(kind), `${kind}\n`, 'text/plain', layout.tagsFor(kind));
    const byPrefix = async (prefix: string) => (await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents?.map((o) => o.Key) ?? [];
    expect(await byPrefix('action-logs/41/')).toEqual(['action-logs/41/0/2.log']);
    expect(await byPrefix('audit-logs/audit_log/v1/')).toEqual(['audit-logs/audit_log/v1/2024/05/06/20240506T130000Z-a1b2.json']);
    expect(await byPrefix('test-results/41/')).toEqual(['test-results/41/junit.xml']);
    expect(await byPrefix('artifacts/picard-task-configs/')).toEqual(['artifacts/picard-task-configs/41.json']);
    expect(await byPrefix('artifacts/41/')).toEqual(['artifacts/41/coverage/index.html']);
    expect(await byPrefix('artifacts/caches/')).toEqual(['artifacts/caches/gh/GERey/pipeline/v1-deps-abc123']);
    expect((await byPrefix('artifacts/workspaces/7/')).sort()).toEqual(['artifacts/workspaces/7/big.tar', 'artifacts/workspaces/7/layer-0.tar.gz']);
    const tagsOf = async (kind: ObjectKind) => (await client.send(new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: sampleKey(kind) }))).TagSet;
    expect(await tagsOf('cache')).toEqual([{ Key: 'circleci.object_type', Value: 'project.cache' }]);
    expect(await tagsOf('workspace')).toEqual([{ Key: 'circleci.object_type', Value: 'workflow.workspace' }]);
    expect(await tagsOf('artifact')).toEqual([]);
  });

  it('refuses requests signed with other credentials than its own', async () => {
    const stranger = new S3Client({ ...s3.clientConfig(), credentials: { accessKeyId: 'someone', secretAccessKey: 'else' } });
    await expect(stranger.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    stranger.destroy();
  });

  it('restart() comes back on the same port with the objects kept (they are on disk)', async () => {
    const port = s3.port;
    await s3.restart();
    expect(s3.port).toBe(port);
    expect(await text(s3.client(), s3.bucket, sampleKey('step-output'))).toBe('step-output\n');
  });

  it('stop() closes the port and removes the temp dir, and is idempotent; await using disposes', async () => {
    const dir = s3.dataDir!;
    expect(existsSync(dir)).toBe(true);
    await s3.stop();
    await s3.stop();
    expect(existsSync(dir)).toBe(false);
    expect(await isPortOpen('127.0.0.1', s3.port)).toBe(false);
    await expect(s3.restart()).rejects.toMatchObject({ code: 'UNAVAILABLE' });

    let scopedDir: string | undefined;
    {
      await using scoped = await new S3Provider().withBackend('embedded').start();
      scopedDir = scoped.dataDir;
      expect(existsSync(scopedDir!)).toBe(true);
    }
    expect(existsSync(scopedDir!)).toBe(false);
  });
});

describe('S3Provider, external backend (an s3rver started by another provider)', () => {
  let host: StartedS3;
  afterAll(async () => {
    await host?.stop();
  });

  it('creates a missing bucket on an existing endpoint, named in the URL with its credentials', async () => {
    host = await new S3Provider().withBackend('embedded').start();
    await using ext = await new S3Provider().withUrl(`http://S3RVER:S3RVER@127.0.0.1:${host.port}/from-url`).start();
    expect([ext.backend, ext.bucket, ext.url, ext.dataDir]).toEqual(['external', 'from-url', host.url, undefined]);
    expect(ext.backendDetail).toBe(`external S3 endpoint http://S3RVER:***@127.0.0.1:${host.port}/from-url, bucket from-url (auto: a URL was given)`);
    await ext.store().put('artifacts/1/x.txt', 'x');
    expect(await text(host.client(), 'from-url', 'artifacts/1/x.txt')).toBe('x');
  });

  it('fails at once, naming the reason, when the endpoint refuses the credentials', async () => {
    const t0 = Date.now();
    const err = await new S3Provider().withUrl(`http://127.0.0.1:${host.port}`).start().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'START_FAILED', message: expect.stringMatching(/HeadBucket: .*\(HTTP 403\)/) });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('S3Provider, embedded backend: the ObjectStore', () => {
  let s3: StartedS3 | undefined;
  afterAll(async () => {
    await s3?.stop();
  });
  describeObjectStoreContract('S3 (embedded s3rver)', async () => {
    s3 = await new S3Provider().withBackend('embedded').start();
    return s3.store();
  });
});

describe('FileservedProvider, embedded backend: the ObjectStore', () => {
  let fs: StartedFileserved | undefined;
  afterAll(async () => {
    await fs?.stop();
  });
  describeObjectStoreContract('fileserved (embedded)', async () => {
    fs = await new FileservedProvider().start();
    return fs.store();
  });
});

describe('FileservedProvider, embedded backend', () => {
  let fs: StartedFileserved;
  beforeAll(async () => {
    fs = await new FileservedProvider().withMaxObjectBytes(1024).start();
  });
  afterAll(async () => {
    await fs?.stop();
  });

  it('serves a temp dir over HTTP on a free port, and says why auto chose it', () => {
    expect([fs.name, fs.backend, fs.pid, fs.url]).toEqual(['fileserved', 'embedded', undefined, `http://127.0.0.1:${fs.port}`]);
    expect(fs.dataDir?.startsWith(join(privateDataRoot(), 'twin-fileserved-'))).toBe(true);
    expect(fs.backendDetail).toMatch(/^embedded fileserved .* on 127\.0\.0\.1:\d+, objects as files in .*\/objects \(auto: no URL given; .*\)$/);
  });

  it('keeps each object as a file at its key, and answers plain HTTP', async () => {
    const key = sampleKey('step-output');
    await fs.store().put(key, 'step output\n', 'text/plain');
    expect(readFileSync(join(fs.objectsDir!, key), 'utf8')).toBe('step output\n');
    const r = await fetch(`${fs.url}/${key}`);
    expect([r.status, r.headers.get('content-type'), await r.text()]).toEqual([200, 'text/plain', 'step output\n']);
    const put = await fetch(`${fs.url}/artifacts/9/raw.bin`, { method: 'PUT', body: new Uint8Array([1, 2, 3]) });
    expect([put.status, await put.json()]).toEqual([200, { key: 'artifacts/9/raw.bin', size: 3 }]);
    expect(await (await fetch(`${fs.url}/?prefix=artifacts/9/`)).json()).toEqual({ objects: [{ key: 'artifacts/9/raw.bin', size: 3 }] });
    // Every body is read: an unread one keeps its connection busy, and stop() would wait for it.
    const raw = await fetch(`${fs.url}/artifacts/9/raw.bin`);
    expect([raw.headers.get('content-type'), [...new Uint8Array(await raw.arrayBuffer())]]).toEqual(['binary/octet-stream', [1, 2, 3]]);
    const missing = await fetch(`${fs.url}/artifacts/9/missing`);
    expect([missing.status, await missing.json()]).toEqual([404, { code: 'NOT_FOUND', message: 'no object artifacts/9/missing' }]);
    const deleted = await fetch(`${fs.url}/artifacts/9/raw.bin`, { method: 'DELETE' });
    expect([deleted.status, await deleted.text()]).toEqual([204, '']);
    expect(existsSync(join(fs.objectsDir!, 'artifacts', '9'))).toBe(false);
  });

  it('refuses an object over the size limit (413 TOO_LARGE) and a key that clashes with a folder (409 KEY_CONFLICT)', async () => {
    await expect(fs.store().put('artifacts/9/big.bin', Buffer.alloc(1025))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await fs.store().put('artifacts/9/dir/file.txt', 'x');
    await expect(fs.store().put('artifacts/9/dir', 'y')).rejects.toMatchObject({ code: 'KEY_CONFLICT', hint: expect.stringMatching(/folder|prefix/) });
    await expect(fs.store().put('artifacts/9/dir/file.txt/under', 'z')).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
    expect((await fs.store().get('artifacts/9/dir/file.txt'))?.body.toString()).toBe('x');
  });

  it('is reachable as an external fileserved through withUrl', async () => {
    await using ext = await new FileservedProvider().withUrl(fs.url).start();
    expect([ext.backend, ext.dataDir, ext.objectsDir]).toEqual(['external', undefined, undefined]);
    expect((await ext.store().get(sampleKey('step-output')))?.body.toString()).toBe('step output\n');
  });

  it('restart() keeps the port and the files; stop() removes the temp dir and is idempotent', async () => {
    const port = fs.port;
    await fs.restart();
    expect(fs.port).toBe(port);
    expect((await fs.store().get(sampleKey('step-output')))?.body.toString()).toBe('step output\n');
    const dir = fs.dataDir!;
    await fs.stop();
    await fs.stop();
    expect(existsSync(dir)).toBe(false);
    expect(await isPortOpen('127.0.0.1', port)).toBe(false);
    await expect(fs.store().list('')).rejects.toMatchObject({ code: 'REQUEST_FAILED', hint: expect.stringMatching(/fileserved up/) });
  });
});

// Skipped with the probe's one line as the reason when there is no Docker or Podman (as on the development machines).
describe.skipIf(!runtime.available)(`S3Provider, testcontainers backend (LocalStack)${runtime.available ? '' : `: ${runtime.detail}`}`, () => {
  let s3: StartedS3 | undefined;
  afterAll(async () => {
    await s3?.stop();
  });
  describeObjectStoreContract('S3 (LocalStack container)', async () => {
    s3 = await new S3Provider().withBackend('testcontainers').start();
    expect(s3.backendDetail).toMatch(/^LocalStack container localstack\/localstack:4\.5 \(S3 only\)/);
    return s3.store();
  });
});
