/**
 * The object-storage interface the twin's pipeline uses for artifacts, step-output logs, caches, workspaces, test
 * results and audit logs: small on purpose, so S3 (through `@aws-sdk/client-s3`) and fileserved (over HTTP) both
 * satisfy it and the same pipeline code runs on either. `contract.ts` holds the assertions both must pass.
 */

/** What can be stored: text (written as UTF-8) or bytes. */
export type ObjectBody = string | Uint8Array;

/** Object tags (S3 object tagging): how the seeds' lifecycle rules tell caches and workspaces from artifacts. */
export type ObjectTags = Readonly<Record<string, string>>;

/** An object read back. */
export interface StoredObject {
  readonly key: string;
  readonly body: Buffer;
  /** The content type given at `put`, when one was. */
  readonly contentType: string | undefined;
}

/** One entry of a listing. */
export interface ObjectSummary {
  readonly key: string;
  readonly size: number;
}

export interface ObjectStore {
  /** `s3` (any S3 endpoint: s3rver, LocalStack, AWS) or `fileserved` (the on-host file server). */
  readonly kind: 's3' | 'fileserved';
  /**
   * Writes an object, replacing one with the same key. `tags` reach S3 object tagging (the lifecycle rules of
   * caches and workspaces match on them); fileserved has no lifecycle rules and ignores them.
   */
  put(key: string, body: ObjectBody, contentType?: string, tags?: ObjectTags): Promise<void>;
  /** The object, or undefined when there is none (S3 NoSuchKey, HTTP 404). */
  get(key: string): Promise<StoredObject | undefined>;
  /** Every object whose key starts with `prefix` (all of them for ''), sorted by key. */
  list(prefix: string): Promise<ObjectSummary[]>;
  /** Removes an object; removing one that is not there is fine, as in S3. */
  delete(key: string): Promise<void>;
}

/** Why an object operation failed: a key the stores cannot share, a key clash on disk, or a failed request. */
export type ObjectStoreErrorCode = 'BAD_KEY' | 'KEY_CONFLICT' | 'TOO_LARGE' | 'REQUEST_FAILED';

/** An operating error of an object store, with what was asked and a hint. */
export class ObjectStoreError extends Error {
  constructor(
    readonly code: ObjectStoreErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'ObjectStoreError';
  }
}

/** S3's limit on a key's length in UTF-8 bytes; fileserved keeps the same so a key valid on one is valid on both. */
export const MAX_KEY_BYTES = 1024;

/**
 * Checks a key both stores can hold identically: S3 takes almost anything, but fileserved maps keys to paths on
 * disk, so empty, `.` and `..` segments, a leading `/` and control characters are refused on both, never on one only.
 */
export function checkKey(key: string): string {
  const bad = (why: string): never => {
    throw new ObjectStoreError('BAD_KEY', `object key ${JSON.stringify(key)} ${why}`, 'keys are relative paths of non-empty segments, e.g. artifacts/12/report.html; see keyFor()');
  };
  if (key === '') bad('is empty');
  if (key.endsWith('/')) bad("ends with '/' (that names a folder, not an object)");
  checkPath(key, bad);
  return key;
}

/** Checks a listing prefix: '' (everything) or the start of a valid key, usually ending in '/'. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkPath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, (why) => {
    throw new ObjectStoreError('BAD_KEY', `list prefix ${JSON.stringify(prefix)} ${why}`, "prefixes are '' or the start of a key, e.g. action-logs/12/");
  });
  return prefix;
}

function checkPath(path: string, bad: (why: string) => never): void {
  if (Buffer.byteLength(path, 'utf8') > MAX_KEY_BYTES) bad(`is longer than ${MAX_KEY_BYTES} bytes`);
  if (path.startsWith('/')) bad("starts with '/'");
  if (/[\u0000-\u001f\u007f]/.test(path)) bad('contains a control character');
  for (const segment of path.split('/')) {
    if (segment === '') bad('has an empty segment (//)');
    if (segment === '.' || segment === '..') bad(`has a '${segment}' segment`);
  }
}

/** The bytes of a body (text as UTF-8). */
export function bodyBytes(body: ObjectBody): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** S3's listing order: keys compared as UTF-8 bytes (which differs from JavaScript's UTF-16 order beyond U+FFFF). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
