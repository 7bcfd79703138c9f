import type { S3Client } from '@aws-sdk/client-s3';
import { drivers } from '../drivers.ts';
import { bodyBytes, checkKey, checkPrefix, compareKeys, ObjectStoreError, type ObjectBody, type ObjectStore, type ObjectSummary, type ObjectTags, type StoredObject } from './object-store.ts';

/** A bound on listing pages (1000 keys each): ten million keys is far beyond any run of the twin. */
const MAX_LIST_PAGES = 10_000;

/** The `ObjectStore` over one bucket of any S3 endpoint (s3rver, LocalStack, AWS), through `@aws-sdk/client-s3`. */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;

  /** The client is the caller's: closing it is theirs too (`StartedS3.stop()` does it for the store it hands out). */
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: ObjectBody, contentType?: string, tags?: ObjectTags): Promise<void> {
    checkKey(key);
    await this.guard('PutObject', key, () => this.client.send(new (drivers.s3().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: bodyBytes(body), ...(contentType !== undefined ? { ContentType: contentType } : {}) })));
    const tagSet = Object.entries(tags ?? {})
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([Key, Value]) => ({ Key, Value }));
    // A separate PutObjectTagging rather than PutObject's `Tagging` header: s3rver 3.7.1 ignores that header, and
    // one path for every backend keeps the embedded store's tags the same as LocalStack's and AWS's.
    if (tagSet.length > 0) await this.guard('PutObjectTagging', key, () => this.client.send(new (drivers.s3().PutObjectTaggingCommand)({ Bucket: this.bucket, Key: key, Tagging: { TagSet: tagSet } })));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    checkKey(key);
    try {
      const r = await this.client.send(new (drivers.s3().GetObjectCommand)({ Bucket: this.bucket, Key: key }));
      const bytes = (await r.Body?.transformToByteArray()) ?? new Uint8Array();
      return { key, body: Buffer.from(bytes), contentType: r.ContentType };
    } catch (err) {
      if (err instanceof Error && err.name === 'NoSuchKey') return undefined;
      throw this.failure('GetObject', key, err);
    }
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    checkPrefix(prefix);
    const out: ObjectSummary[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const r = await this.guard('ListObjectsV2', prefix, () => this.client.send(new (drivers.s3().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) })));
      for (const o of r.Contents ?? []) if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size ?? 0 });
      if (!r.IsTruncated) return out.sort((a, b) => compareKeys(a.key, b.key));
      token = r.NextContinuationToken;
      if (token === undefined) throw new ObjectStoreError('REQUEST_FAILED', `s3: ListObjectsV2 of ${this.bucket}/${prefix} was truncated without a continuation token`, 'the endpoint does not page ListObjectsV2 correctly');
    }
    throw new ObjectStoreError('REQUEST_FAILED', `s3: listing ${this.bucket}/${prefix} took more than ${MAX_LIST_PAGES} pages`, 'list a narrower prefix');
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.guard('DeleteObject', key, () => this.client.send(new (drivers.s3().DeleteObjectCommand)({ Bucket: this.bucket, Key: key })));
  }

  /** Runs one request, turning an SDK error into an ObjectStoreError that names the operation and the key. */
  private async guard<R>(operation: string, key: string, request: () => Promise<R>): Promise<R> {
    try {
      return await request();
    } catch (err) {
      throw this.failure(operation, key, err);
    }
  }

  private failure(operation: string, key: string, err: unknown): ObjectStoreError {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return new ObjectStoreError('REQUEST_FAILED', `s3: ${operation} ${this.bucket}/${key} failed: ${what}`, 'is the S3 endpoint up, and does the bucket exist? (StartedS3.backendDetail says where it is)');
  }
}
