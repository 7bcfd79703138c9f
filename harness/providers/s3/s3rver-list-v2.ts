/**
 * A repair of s3rver 3.7.1's ListObjectsV2 paging on Node ≥ 17.
 *
 * s3rver builds V2 continuation tokens with `crypto.createCipheriv('des', …)`. OpenSSL 3 (Node 17 and later, so
 * Node 20 here) keeps DES in its legacy provider, which Node does not load, so the call throws
 * `ERR_OSSL_EVP_UNSUPPORTED` and every *truncated* ListObjectsV2 page (more keys than MaxKeys, 1000 by default)
 * answers 500 InternalError. Untruncated listings, and every other call the twin makes, work unchanged.
 *
 * s3rver's router calls `bucketCtrl.getBucket` through the module's exports at request time, so replacing that one
 * export is enough: a V2 request is answered by s3rver's own V1 listing (which pages by marker, without DES), and the
 * result is rewritten in V2's shape with an opaque token that carries the last key. s3rver is unmaintained (its last
 * release is from 2020), so the version it patches is pinned and checked.
 */

type Require = NodeJS.Require;

const PATCHED: unique symbol = Symbol.for('circleci-twin.s3rver-list-v2');
const TOKEN_PREFIX = 'twin1:';

/** The version whose internals this patch knows. */
export const S3RVER_VERSION = '3.7.1';

interface ListEntry {
  readonly Key: string;
  readonly Owner?: unknown;
}
interface ListBucketResult {
  readonly Contents: readonly ListEntry[];
  readonly CommonPrefixes: readonly unknown[];
  readonly IsTruncated: boolean;
  readonly Marker?: unknown;
  readonly NextMarker?: unknown;
  readonly [field: string]: unknown;
}
interface KoaContext {
  query: Record<string, string | undefined>;
  querystring: string;
  body: unknown;
}
interface BucketController {
  getBucket(ctx: KoaContext): Promise<void>;
  [PATCHED]?: true;
}
type S3ErrorClass = new (code: string, message: string, detail: Record<string, string>) => Error;

/** Installs the repair once per process (s3rver's modules are shared through the require cache). */
export function repairListObjectsV2(require: Require): void {
  const version = (require('s3rver/package.json') as { version: string }).version;
  if (version !== S3RVER_VERSION) {
    throw new Error(`s3rver ${version} is installed, but the ListObjectsV2 repair in harness/providers/s3/s3rver-list-v2.ts was written for ${S3RVER_VERSION}: check whether the new version still needs it`);
  }
  const bucketCtrl = require('s3rver/lib/controllers/bucket.js') as BucketController;
  if (bucketCtrl[PATCHED]) return;
  const S3Error = require('s3rver/lib/models/error.js') as S3ErrorClass;
  const listV1 = bucketCtrl.getBucket.bind(bucketCtrl);

  bucketCtrl.getBucket = async function listV2ThroughV1(ctx: KoaContext): Promise<void> {
    const q = ctx.query;
    // V1 requests, and V2 with a (forbidden) marker that s3rver itself rejects, go through unchanged.
    if (q['list-type'] !== '2' || 'marker' in q) return listV1(ctx);
    const { 'list-type': _listType, 'continuation-token': token, 'start-after': startAfter, 'fetch-owner': fetchOwner, ...rest } = q;
    const after = token ? decodeToken(token, S3Error) : startAfter;
    const original = ctx.querystring;
    ctx.query = { ...rest, ...(after ? { marker: after } : {}) };
    try {
      await listV1(ctx);
    } finally {
      ctx.querystring = original;
    }
    const { Marker: _marker, NextMarker: _nextMarker, ...result } = (ctx.body as { ListBucketResult: ListBucketResult }).ListBucketResult;
    const last = result.Contents.at(-1)?.Key;
    ctx.body = {
      ListBucketResult: {
        ...result,
        ...(token ? { ContinuationToken: token } : after ? { StartAfter: after } : {}),
        ...(result.IsTruncated && last !== undefined ? { NextContinuationToken: encodeToken(last) } : {}),
        KeyCount: result.Contents.length + result.CommonPrefixes.length,
        // V1 always names the owner; V2 only when asked.
        Contents: fetchOwner === 'true' ? result.Contents : result.Contents.map(({ Owner: _owner, ...entry }) => entry),
      },
    };
  };
  bucketCtrl[PATCHED] = true;
}

function encodeToken(lastKey: string): string {
  return Buffer.from(TOKEN_PREFIX + lastKey, 'utf8').toString('base64url');
}

function decodeToken(token: string, S3Error: S3ErrorClass): string {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith(TOKEN_PREFIX)) throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
  return text.slice(TOKEN_PREFIX.length);
}
