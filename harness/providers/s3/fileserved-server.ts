import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { HttpError, HttpRoutes, LAYER_ERROR_CODES, listenHttp, sendJson, type ErrorAnswer, type HttpRequest } from '../../http/index.ts';
import { serialQueue, type InProcessServer } from './in-process-runner.ts';
import { checkKey, checkPrefix, compareKeys, ObjectStoreError, type ObjectSummary } from './object-store.ts';

/**
 * The twin's fileserved: CircleCI's on-host file storage ("used as a replacement for S3 when CircleCI Server is run
 * outside of AWS ... Stores step output logs, artifacts, test results, caches and workspaces"). The seeds give its
 * role and nothing of its protocol, so the protocol here is the twin's own, as small as the `ObjectStore` interface:
 *
 *   PUT    /<key>           store the body (Content-Type kept)            → 200
 *   GET    /<key>, HEAD     the object, with its Content-Type              → 200, or 404
 *   DELETE /<key>           remove it (missing is fine, as in S3)          → 204
 *   GET    /?prefix=<p>     { "objects": [{ "key", "size" }] }, sorted     → 200
 *
 * Errors are JSON `{ code, message, hint }` with the `ObjectStoreError` codes (400 BAD_KEY, 409 KEY_CONFLICT,
 * 413 TOO_LARGE). Key segments are percent-encoded in the path.
 *
 * On disk (under `root`): `objects/<key>` is the object itself, so the files are where an operator would look;
 * `meta/<key>.json` holds its content type; `incoming/` holds uploads until they are complete, then a rename puts them
 * in place, so a reader never sees half an object and a crash leaves none behind.
 */

/** The folders under fileserved's root. */
export const FILESERVED_DIRS = { objects: 'objects', meta: 'meta', incoming: 'incoming' } as const;

/** S3's answer for an object stored without a content type; fileserved gives the same. */
const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';
/** A bound on one listing (a walk of the objects folder). */
const MAX_LIST_ENTRIES = 1_000_000;

export interface FileservedServerOptions {
  readonly root: string;
  /** The largest object accepted (413 beyond). */
  readonly maxObjectBytes: number;
}

/** Starts fileserved on 127.0.0.1:`port` (0: a free one) over `root`, creating its folders if missing. */
export async function listenFileserved(opts: FileservedServerOptions, port: number): Promise<InProcessServer> {
  for (const d of Object.values(FILESERVED_DIRS)) await mkdir(join(opts.root, d), { recursive: true });
  const files = new FileTree(opts.root);
  const object = (request: HttpRequest) => serveObject(files, opts, request);
  const routes = new HttpRoutes()
    .get('/', async (r) => sendJson(r.res, 200, { objects: await files.list(checkPrefix(r.query.get('prefix') ?? '')) }))
    .on(['GET', 'HEAD', 'PUT', 'DELETE'], '/*', object);
  const server = await listenHttp({ name: 'fileserved', port, routes, errors: fileservedErrors, translate: objectStoreHttpError });
  return { port: server.port, close: () => server.close() };
}

async function serveObject(files: FileTree, opts: FileservedServerOptions, request: HttpRequest): Promise<void> {
  const { req, res } = request;
  const key = checkKey(decodeKey(request.path));
  switch (request.method) {
    case 'PUT': {
      const body = await request.buffer(opts.maxObjectBytes).catch((err: unknown) => {
        throw err instanceof HttpError && err.code === LAYER_ERROR_CODES.tooLarge ? tooLarge(key, opts.maxObjectBytes) : err;
      });
      await files.put(key, body, req.headers['content-type'] ?? DEFAULT_CONTENT_TYPE);
      return sendJson(res, 200, { key, size: body.length });
    }
    case 'DELETE':
      await files.delete(key);
      res.writeHead(204).end();
      return;
    default: {
      const found = await files.find(key);
      if (found === undefined) return sendJson(res, 404, { code: 'NOT_FOUND', message: `no object ${key}` });
      res.writeHead(200, { 'content-type': found.contentType, 'content-length': found.size });
      if (request.method === 'HEAD') return void res.end();
      const stream = createReadStream(found.path);
      stream.on('error', (err) => res.destroy(err));
      stream.pipe(res);
    }
  }
}

/**
 * The objects as files. Writes and deletes are serialised: a delete prunes empty folders, and a put racing it could
 * otherwise find its folder gone between mkdir and rename. Bodies are read before taking the turn.
 */
class FileTree {
  readonly #serial = serialQueue();
  readonly #objects: string;
  readonly #meta: string;
  readonly #incoming: string;

  constructor(root: string) {
    this.#objects = join(root, FILESERVED_DIRS.objects);
    this.#meta = join(root, FILESERVED_DIRS.meta);
    this.#incoming = join(root, FILESERVED_DIRS.incoming);
  }

  async find(key: string): Promise<{ path: string; size: number; contentType: string } | undefined> {
    const path = join(this.#objects, key);
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile()) return undefined;
    const meta = await readFile(join(this.#meta, `${key}.json`), 'utf8').then((t) => JSON.parse(t) as { contentType?: string }, () => ({}) as { contentType?: string });
    return { path, size: s.size, contentType: meta.contentType ?? DEFAULT_CONTENT_TYPE };
  }

  put(key: string, body: Buffer, contentType: string): Promise<void> {
    return this.#serial(async () => {
      const staged = join(this.#incoming, randomBytes(8).toString('hex'));
      const stagedMeta = `${staged}.json`;
      await writeFile(staged, body);
      await writeFile(stagedMeta, JSON.stringify({ contentType }));
      try {
        await this.#place(staged, join(this.#objects, key), key);
        await this.#place(stagedMeta, join(this.#meta, `${key}.json`), key);
      } finally {
        await rm(staged, { force: true });
        await rm(stagedMeta, { force: true });
      }
    });
  }

  delete(key: string): Promise<void> {
    return this.#serial(async () => {
      const path = join(this.#objects, key);
      if (!(await stat(path).catch(() => undefined))?.isFile()) return;
      await rm(path, { force: true });
      await rm(join(this.#meta, `${key}.json`), { force: true });
      await pruneEmpty(dirname(path), this.#objects);
      await pruneEmpty(dirname(join(this.#meta, key)), this.#meta);
    });
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    // Walk only the deepest folder the prefix names in full: `action-logs/12/` walks objects/action-logs/12.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const start = join(this.#objects, folder);
    const entries = await readdir(start, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
      throw err;
    });
    if (entries.length > MAX_LIST_ENTRIES) throw new ObjectStoreError('TOO_LARGE', `fileserved: listing '${prefix}' found more than ${MAX_LIST_ENTRIES} entries`, 'list a narrower prefix');
    const out: ObjectSummary[] = [];
    for (const e of entries) {
      if (!e.isFile()) continue;
      const key = relative(this.#objects, join(e.parentPath, e.name)).split(sep).join('/');
      if (key.startsWith(prefix)) out.push({ key, size: (await stat(join(e.parentPath, e.name))).size });
    }
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  /** Moves a staged file to its key's place; a key that is, or lies under, another object's file is a conflict. */
  async #place(staged: string, target: string, key: string): Promise<void> {
    try {
      await mkdir(dirname(target), { recursive: true });
      await rename(staged, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
        throw new ObjectStoreError('KEY_CONFLICT', `fileserved: key ${key} clashes with another object on disk (one key is a folder of the other)`, 'on disk a key cannot be both an object and a prefix of others (a and a/b); choose keys that end in a file name');
      }
      throw err;
    }
  }
}

/** Removes empty folders from `dir` up to (not including) `stop`, so a deleted key leaves no folder behind. */
async function pruneEmpty(dir: string, stop: string): Promise<void> {
  for (let d = dir, depth = 0; d !== stop && d.startsWith(stop + sep) && depth < 1_000; d = dirname(d), depth++) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (or already gone): the folders above are not empty either
    }
  }
}

const BAD_KEY_HINT = 'encode each key segment with encodeURIComponent';

/** `/a%20b/c` → `a b/c`, each segment decoded on its own so an encoded '/' can never split a segment. */
function decodeKey(pathname: string): string {
  try {
    return pathname
      .slice(1)
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    throw new ObjectStoreError('BAD_KEY', `fileserved: path ${pathname} is not valid percent-encoding`, BAD_KEY_HINT);
  }
}

/** The connection is closed after the answer: the rest of the body is never read. */
function tooLarge(key: string, limit: number): HttpError {
  return new HttpError(413, 'TOO_LARGE', `fileserved: object ${key} is larger than ${limit} bytes`, {
    headers: { connection: 'close' },
    details: { hint: 'raise withMaxObjectBytes() on the FileservedProvider' },
  });
}

const HTTP_STATUS: Record<ObjectStoreError['code'], number> = { BAD_KEY: 400, KEY_CONFLICT: 409, TOO_LARGE: 413, REQUEST_FAILED: 500 };

function objectStoreHttpError(err: unknown): HttpError | undefined {
  if (!(err instanceof ObjectStoreError)) return undefined;
  return new HttpError(HTTP_STATUS[err.code], err.code, err.message, err.hint === undefined ? {} : { details: { hint: err.hint } });
}

/** fileserved's errors: `{ code, message, hint }` with the `ObjectStoreError` codes its client turns back into errors. */
function fileservedErrors(error: HttpError): ErrorAnswer {
  const body =
    error.code === LAYER_ERROR_CODES.internal
      ? { code: 'REQUEST_FAILED', message: `fileserved: ${error.message}` }
      : error.code === LAYER_ERROR_CODES.badUrl
        ? { code: 'BAD_KEY', message: `fileserved: ${error.message}`, hint: BAD_KEY_HINT }
        : error.code === LAYER_ERROR_CODES.methodNotAllowed || error.code === LAYER_ERROR_CODES.notFound
        ? { code: error.code, message: error.message, hint: 'GET /?prefix=<prefix> lists objects; use GET, HEAD, PUT or DELETE on /<key>' }
        : { code: error.code, message: error.message, ...error.details };
  return { contentType: 'application/json', body: JSON.stringify(body) };
}
