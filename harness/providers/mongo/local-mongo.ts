import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendAvailability } from '../choose-backend.ts';
import { freePort } from '../ports.ts';
import { which } from '../process.ts';
import type { BackendRunner } from '../runner.ts';
import { makeTempDir, removeDir } from '../temp-dir.ts';
import { ProviderError } from '../types.ts';
import { owned } from '../reaper/owned-records.ts';

/** A system `mongod` and its version. */
export interface MongodBinary {
  readonly path: string;
  readonly version: string;
  /** Where it was found: `MONGOMS_SYSTEM_BINARY`, `withBinary()` or PATH. */
  readonly source: string;
}

/** `mongodb-memory-server-core` never downloads here: only a system mongod is used. */
export function findMongod(explicit: string | undefined): MongodBinary | undefined {
  const candidates: [string | undefined, string][] = [
    [explicit, 'withBinary()'],
    [process.env.MONGOMS_SYSTEM_BINARY, 'MONGOMS_SYSTEM_BINARY'],
    [which('mongod'), 'PATH'],
  ];
  for (const [path, source] of candidates) {
    if (path === undefined || path === '' || !existsSync(path)) continue;
    try {
      const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
      return { path, source, version: /db version v?(\S+)/.exec(out)?.[1] ?? 'unknown' };
    } catch {
      // not runnable: try the next one
    }
  }
  return undefined;
}

export function localMongoAvailability(bin: MongodBinary | undefined): BackendAvailability {
  return bin ? { available: true, detail: `system mongod ${bin.version} at ${bin.path} (from ${bin.source})` } : { available: false, detail: 'no mongod (MONGOMS_SYSTEM_BINARY unset and none on PATH)' };
}

export interface LocalMongo {
  readonly runner: BackendRunner;
  readonly url: string;
  readonly port: number;
  readonly detail: string;
}

/** A private mongod through mongodb-memory-server-core, on a free port, its dbPath in a fresh temp dir. */
export async function startLocalMongo(opts: { bin: MongodBinary; startTimeoutMs: number }): Promise<LocalMongo> {
  const { MongoMemoryServer } = await import('mongodb-memory-server-core');
  const tempDir = await makeTempDir('mongo');
  const dataDir = join(tempDir, 'data');
  await mkdir(dataDir);
  const port = await freePort();
  let server: InstanceType<typeof MongoMemoryServer>;
  try {
    server = await withTimeout(
      MongoMemoryServer.create({ binary: { systemBinary: opts.bin.path }, instance: { ip: '127.0.0.1', port, dbPath: dataDir, storageEngine: 'wiredTiger' } }),
      opts.startTimeoutMs,
      `mongo: mongod at ${opts.bin.path} did not start on 127.0.0.1:${port}`,
    );
  } catch (err) {
    await removeDir(tempDir);
    throw err;
  }
  // mongodb-memory-server spawns mongod itself: recorded here, as startProcess records the others.
  const mongod = server.instanceInfo?.instance.mongodProcess?.pid;
  if (mongod !== undefined) owned.process(mongod, `mongod on 127.0.0.1:${port}`);
  let stopping: Promise<void> | undefined;
  const runner: BackendRunner = {
    get pid() {
      return server.instanceInfo?.instance.mongodProcess?.pid;
    },
    dataDir,
    stop() {
      stopping ??= (async () => {
        try {
          await server.stop({ doCleanup: false, force: true });
          if (mongod !== undefined) owned.forget(mongod);
        } finally {
          await removeDir(tempDir);
        }
      })();
      return stopping;
    },
  };
  return { runner, url: server.getUri(), port, detail: `private mongod ${opts.bin.version} (${opts.bin.path}) via mongodb-memory-server-core on 127.0.0.1:${port}, dbPath ${dataDir}` };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ProviderError('START_TIMEOUT', `${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
