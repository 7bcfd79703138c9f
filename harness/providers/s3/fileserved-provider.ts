import type { BackendDecision } from '../choose-backend.ts';
import { ProviderBuilder } from '../provider-builder.ts';
import type { BackendRunner } from '../runner.ts';
import { makeTempDir } from '../temp-dir.ts';
import { ProviderError, type BackendChoice } from '../types.ts';
import { Wait } from '../wait.ts';
import { InProcessRunner } from './in-process-runner.ts';
import { listenFileserved } from './fileserved-server.ts';
import { parseHttpUrl, type HttpUrl } from './s3-url.ts';
import { StartedFileserved } from './started-fileserved.ts';

/** What a caller may set; defaults are applied once, in `settleFileservedOptions`. */
export interface FileservedProviderOptions {
  backend?: BackendChoice;
  /** An existing fileserved speaking the twin's protocol. */
  url?: string;
  /** The largest object the embedded server accepts. */
  maxObjectBytes?: number;
  startTimeoutMs?: number;
}

export interface SettledFileservedOptions {
  readonly backend: BackendChoice;
  readonly url: string | undefined;
  readonly external: HttpUrl | undefined;
  readonly maxObjectBytes: number;
  readonly startTimeoutMs: number;
}

export const FILESERVED_URL_EXAMPLE = 'http://services.internal:3000';

export function settleFileservedOptions(o: FileservedProviderOptions): SettledFileservedOptions {
  const external = o.url !== undefined ? parseFileservedUrl(o.url) : undefined;
  const maxObjectBytes = o.maxObjectBytes ?? 1024 ** 3;
  if (!Number.isSafeInteger(maxObjectBytes) || maxObjectBytes < 1) throw new TypeError(`fileserved: maxObjectBytes ${maxObjectBytes} is not a positive integer`);
  return { backend: o.backend ?? 'auto', url: o.url, external, maxObjectBytes, startTimeoutMs: o.startTimeoutMs ?? 10_000 };
}

/** Parses `http(s)://host[:port][/path]` (no credentials, no parameters), naming what is wrong in a BAD_URL error. */
export function parseFileservedUrl(raw: string): HttpUrl {
  const u = parseHttpUrl(raw, 'fileserved', FILESERVED_URL_EXAMPLE);
  const bad = (what: string): never => {
    throw new ProviderError('BAD_URL', `fileserved: URL '${u.redacted}' ${what}`, `expected a URL like ${FILESERVED_URL_EXAMPLE}`);
  };
  if (u.username !== '' || u.password !== '') bad('carries credentials, which fileserved does not take');
  if ([...u.params.keys()].length > 0) bad('has query parameters, which fileserved does not take');
  return u;
}

/**
 * fileserved for the live stack with `storage: fileserved`: the twin's file server in this process over a temp dir
 * (its objects are files under `objectsDir`), or an external one. `store()` gives the same `ObjectStore` as S3's.
 *
 * ```ts
 * await using fs = await new FileservedProvider().start();
 * await fs.store().put(keyFor('artifact', 12, 'report.html'), html, 'text/html');
 * ```
 */
export class FileservedProvider extends ProviderBuilder<FileservedProviderOptions, StartedFileserved> {
  /** The largest object the embedded server accepts (default 1 GiB); larger PUTs get 413 TOO_LARGE. */
  withMaxObjectBytes(maxObjectBytes: number): this {
    return this.with({ maxObjectBytes });
  }

  async start(): Promise<StartedFileserved> {
    const o = settleFileservedOptions(this.opts);
    const decision = chooseFileservedBackend(o);
    const s = await startBackend(decision, o);
    const started = new StartedFileserved({ name: 'fileserved', backend: decision.kind, backendDetail: `${s.detail} (${decision.reason})`, url: s.url, host: s.host, port: s.port }, s.runner);
    try {
      await Wait.forProbe('GET /?prefix= answers a listing', async () => {
        await started.store().list('');
      }).waitUntilReady({ label: 'fileserved', host: s.host, port: s.port, deadline: Date.now() + o.startTimeoutMs });
    } catch (err) {
      await started.stop();
      throw err;
    }
    return started;
  }
}

/**
 * fileserved's backends: `embedded` (the twin's server) or `external`. CircleCI's fileserved image is not public and
 * has no binary, so `local` and `testcontainers` cannot run it, and `auto` never asks for a container runtime.
 */
function chooseFileservedBackend(o: SettledFileservedOptions): BackendDecision {
  switch (o.backend) {
    case 'auto':
      return o.url !== undefined ? { kind: 'external', reason: 'auto: a URL was given' } : { kind: 'embedded', reason: "auto: no URL given; CircleCI's fileserved has no public image or binary, so the twin serves it" };
    case 'external':
      if (o.url === undefined) throw new ProviderError('BAD_URL', "fileserved: backend 'external' needs a URL and none was given", `call withUrl('${FILESERVED_URL_EXAMPLE}')`);
      return { kind: 'external', reason: 'external backend requested' };
    case 'embedded':
      return { kind: 'embedded', reason: 'embedded backend requested' };
    case 'local':
    case 'testcontainers':
      throw new ProviderError('UNAVAILABLE', `fileserved: backend '${o.backend}' requested, but CircleCI's fileserved has no public image or binary`, `choose withBackend('embedded') (the twin's file server in this process) or withUrl('${FILESERVED_URL_EXAMPLE}')`);
  }
}

interface BackendStart {
  readonly runner: BackendRunner;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly detail: string;
}

async function startBackend(decision: BackendDecision, o: SettledFileservedOptions): Promise<BackendStart> {
  if (decision.kind === 'external') {
    const e = o.external!;
    const url = `${e.origin}${e.rawPath === '' ? '' : `/${e.rawPath.replace(/\/+$/, '')}`}`;
    return { runner: { pid: undefined, dataDir: undefined, stop: async () => undefined }, url, host: e.host, port: e.port, detail: `external fileserved at ${url}` };
  }
  const root = await makeTempDir('fileserved');
  const runner = await InProcessRunner.start({ tempDir: root, dataDir: root, listen: (port) => listenFileserved({ root, maxObjectBytes: o.maxObjectBytes }, port) });
  return {
    runner,
    url: `http://127.0.0.1:${runner.port}`,
    host: '127.0.0.1',
    port: runner.port,
    detail: `embedded fileserved (the twin's HTTP file server, in this process, no pid) on 127.0.0.1:${runner.port}, objects as files in ${root}/objects`,
  };
}
