import { bodyBytes, checkKey, checkPrefix, ObjectStoreError, type ObjectBody, type ObjectStore, type ObjectStoreErrorCode, type ObjectSummary, type StoredObject } from './object-store.ts';

/** A bound on one request: fileserved is on the same host, so anything slower is a hang. */
const REQUEST_TIMEOUT_MS = 30_000;

const KNOWN_CODES = new Set<ObjectStoreErrorCode>(['BAD_KEY', 'KEY_CONFLICT', 'TOO_LARGE', 'REQUEST_FAILED']);

/** The `ObjectStore` over fileserved's HTTP protocol (see fileserved-server.ts), with the global `fetch`. */
export class FileservedObjectStore implements ObjectStore {
  readonly kind = 'fileserved' as const;
  readonly #base: string;

  /** `baseUrl`: where fileserved answers (`http://127.0.0.1:41234`, or with a path prefix). */
  constructor(baseUrl: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
  }

  /** Tags are not sent: they exist for S3's lifecycle rules, which fileserved does not have. */
  async put(key: string, body: ObjectBody, contentType?: string): Promise<void> {
    checkKey(key);
    // Bytes, never a string: fetch would label a string text/plain and fileserved would keep that type.
    await drain(await this.#request('PUT', key, this.#url(key), { body: bodyBytes(body), headers: contentType !== undefined ? { 'content-type': contentType } : {} }));
  }

  async get(key: string): Promise<StoredObject | undefined> {
    checkKey(key);
    const r = await this.#request('GET', key, this.#url(key), {}, [404]);
    if (r.status === 404) return undefined;
    return { key, body: Buffer.from(await r.arrayBuffer()), contentType: r.headers.get('content-type') ?? undefined };
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    checkPrefix(prefix);
    const r = await this.#request('LIST', prefix, `${this.#base}/?prefix=${encodeURIComponent(prefix)}`, {});
    return ((await r.json()) as { objects: ObjectSummary[] }).objects;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await drain(await this.#request('DELETE', key, this.#url(key), {}));
  }

  #url(key: string): string {
    return `${this.#base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** One request; an error answer becomes an ObjectStoreError with fileserved's own code and hint. */
  async #request(operation: string, key: string, url: string, init: { body?: Uint8Array; headers?: Record<string, string> }, expected: readonly number[] = []): Promise<Response> {
    const method = operation === 'LIST' ? 'GET' : operation;
    let r: Response;
    try {
      r = await fetch(url, { method, ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (err) {
      throw new ObjectStoreError('REQUEST_FAILED', `fileserved: ${operation} ${key} at ${this.#base} failed: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`, 'is fileserved up? (StartedFileserved.backendDetail says where it is)');
    }
    if (r.ok || expected.includes(r.status)) return r;
    const answer = (await r.json().catch(() => ({}))) as { code?: string; message?: string; hint?: string };
    const code = KNOWN_CODES.has(answer.code as ObjectStoreErrorCode) ? (answer.code as ObjectStoreErrorCode) : 'REQUEST_FAILED';
    throw new ObjectStoreError(code, answer.message ?? `fileserved: ${operation} ${key} answered HTTP ${r.status}`, answer.hint);
  }
}

/** Reads an answer nobody needs, so its connection goes back to the pool at once rather than at garbage collection. */
async function drain(r: Response): Promise<void> {
  await r.arrayBuffer();
}
