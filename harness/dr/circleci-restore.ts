import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LiveStack } from '../live/stack.ts';
import type { StartedComponent } from '../providers/types.ts';
import { drivers } from '../providers/drivers.ts';
import { StartedPostgres } from '../providers/postgres/started-postgres.ts';
import { makeTempDir, removeDir } from '../providers/temp-dir.ts';
import { command, rabbitmqCtl, type BackupPart } from './circleci-backup.ts';
import { ServicesVolume, type VolumePart } from './services-volume.ts';

/** An operating error of `circleci-restore` (a missing or corrupt tarball, a load that failed): what, and what to try. */
export class RestoreError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}

/** The Services machine `circleci-restore` runs on: its files, its `/data`, and Replicated's app control. */
export interface RestoreHost {
  readonly etcDir: string;
  /** `/data` on the Services volume: `circleci-restore-<timestamp>/` goes there. */
  readonly dataDir: string;
  readonly appRunning: boolean;
  stopApp(): Promise<void>;
  stopServices(): Promise<void>;
  startStores(): Promise<void>;
  startServices(): Promise<void>;
}

/** What `circleci-restore` did. */
export interface TarballRestore {
  tarball: string;
  /** When the tarball's exports started (its `manifest.json`), epoch ms. */
  backupStartedAtMs: number;
  /** Where the running installation's data was moved (`<data>/circleci-restore-<timestamp>`); null on a clean install. */
  movedAsideTo: string | null;
  movedAsideBytes: number;
  /** How long the stores were held (SIGSTOP) for the copy aside (wall ms). */
  holdMs: number;
  /** Each store loaded, and how. */
  loaded: { name: string; how: string }[];
  durationMs: number;
}

interface Manifest {
  format: string;
  version: number;
  started_at: string;
  parts: BackupPart[];
}

/** Bound on a tarball's members (the twin's export is a few dozen files). */
const MAX_MEMBERS = 10_000;

/**
 * The seeds' `circleci-restore <tarball>` ("Restore from a tarball", 003): loads `circleci-backup`'s
 * `circleci-data-export.tar.bz2` into the Services machine's real stores. The tarball is checked in full first (bzip2
 * and tar intact, the manifest, every file it lists readable by the tool that loads it, every store it names run by
 * this installation): a missing or corrupt tarball is refused before anything is touched. Then:
 * - on a running installation, the services stop (nothing writes) and the existing data (every store's data dir and
 *   `etc/`) is moved to `<data>/circleci-restore-<timestamp>/`, as the seeds say: copied crash-consistently (the
 *   stores held for the copy, as a snapshot holds them), then replaced in the running stores by the tarball's; on an
 *   installation whose app is stopped, the stores start and nothing is moved;
 * - PostgreSQL: `pg_restore --clean --if-exists --single-transaction` of each database's dump;
 * - Redis: stopped, its RDB image put in its dir, started again (Redis loads it when it starts);
 * - RabbitMQ: `rabbitmqctl import_definitions`;
 * - MongoDB: each database of the tarball dropped and its collections inserted from the Extended JSON lines;
 * - `etc/`: the configuration files replaced by the tarball's;
 * then the services start. A load that fails puts the moved-aside data back (nothing half-restored) and throws.
 */
export async function circleciRestore(stack: LiveStack, host: RestoreHost, tarball: string, now: () => number = Date.now): Promise<TarballRestore> {
  const t0 = now();
  const scratch = await makeTempDir('circleci-restore');
  try {
    const manifest = await unpack(tarball, scratch);
    const plan = manifest.parts.map((p) => checkPart(stack, host, p, scratch));
    let movedAsideTo: string | null = null;
    let movedAsideBytes = 0;
    let holdMs = 0;
    const stores = storeDirs(stack, host);
    if (host.appRunning) {
      // The services stop (nothing writes); the stores' files are copied aside crash-consistently, as a snapshot is.
      await host.stopServices();
      movedAsideTo = join(host.dataDir, `circleci-restore-${stamp(t0)}`);
      const copy = new ServicesVolume(() => stores).copyTo(movedAsideTo);
      movedAsideBytes = copy.bytes;
      holdMs = copy.holdMs;
    } else {
      await host.startStores();
    }
    const loaded: TarballRestore['loaded'] = [];
    try {
      for (const p of plan) loaded.push(await p.load());
    } catch (e) {
      if (movedAsideTo !== null) await putBack(host, stores, movedAsideTo);
      const err = e instanceof RestoreError ? e : new RestoreError(`circleci-restore: ${(e as Error).message}`, 'check the stores (`twin ps`), then run it again');
      throw new RestoreError(`${err.message}${movedAsideTo !== null ? `; the installation's data was put back from ${movedAsideTo}` : ''}`, err.hint);
    }
    await host.startServices();
    return { tarball, backupStartedAtMs: Date.parse(manifest.started_at), movedAsideTo, movedAsideBytes, holdMs, loaded, durationMs: now() - t0 };
  } finally {
    await removeDir(scratch);
  }
}

/** `circleci-restore-20261207T083012Z`: the instant, to the second, in UTC. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Checks the tarball and unpacks it into `dir`; a RestoreError (nothing touched) when it is missing or corrupt. */
async function unpack(tarball: string, dir: string): Promise<Manifest> {
  if (!existsSync(tarball)) throw new RestoreError(`circleci-restore: ${tarball}: no such file`, 'give the path of the circleci-data-export.tar.bz2 that circleci-backup wrote (aws s3 cp it first)');
  if (!statSync(tarball).isFile() || statSync(tarball).size === 0) throw new RestoreError(`circleci-restore: ${tarball} is not a tarball (empty or not a file)`, 'give the path of circleci-backup\'s circleci-data-export.tar.bz2');
  const corrupt = (why: string) => new RestoreError(`circleci-restore: ${tarball} is corrupt: ${why}; nothing was restored`, 'download it again (aws s3 cp), or restore the backup before it');
  const list = spawnSync('tar', ['-tjf', tarball], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (list.status !== 0) throw corrupt(list.stderr.trim().split('\n').slice(-2).join(' ') || `tar exit ${list.status}`);
  const members = list.stdout.split('\n').filter((m) => m !== '');
  if (members.length > MAX_MEMBERS) throw corrupt(`more than ${MAX_MEMBERS} members`);
  const unsafe = members.find((m) => m.startsWith('/') || m.split('/').includes('..'));
  if (unsafe !== undefined) throw corrupt(`member ${unsafe} points outside the tarball`);
  if (!members.includes('./manifest.json')) throw corrupt('no manifest.json (not circleci-backup\'s export)');
  const x = spawnSync('tar', ['-xjf', tarball, '-C', dir], { encoding: 'utf8' });
  if (x.status !== 0) throw corrupt(x.stderr.trim().split('\n').slice(-2).join(' '));
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    throw corrupt(`manifest.json: ${(e as Error).message}`);
  }
  if (manifest.format !== 'circleci-data-export' || manifest.version !== 1 || !Array.isArray(manifest.parts) || Number.isNaN(Date.parse(manifest.started_at))) {
    throw corrupt(`manifest.json is not a circleci-data-export of version 1 (format ${String(manifest.format)}, version ${String(manifest.version)})`);
  }
  for (const p of manifest.parts) {
    const missing = p.files.find((f) => !existsSync(join(dir, f)));
    if (missing !== undefined) throw corrupt(`${missing}, listed in manifest.json, is not in it`);
  }
  return manifest;
}

interface PlannedLoad {
  kind: 'postgres' | 'redis' | 'rabbitmq' | 'mongo' | 'etc';
  load: () => Promise<{ name: string; how: string }>;
}

/** Checks one part against the installation and what loads it; the load itself runs later. */
function checkPart(stack: LiveStack, host: RestoreHost, p: BackupPart, dir: string): PlannedLoad {
  const bad = (why: string) => new RestoreError(`circleci-restore: the tarball's ${p.name}: ${why}; nothing was restored`, 'restore it onto an installation of the same version and backends as the one that wrote it');
  if (p.name === 'etc') {
    return { kind: 'etc', load: async () => { replaceDir(join(dir, 'etc'), host.etcDir); return { name: 'etc', how: 'the configuration files replaced' }; } };
  }
  const c = stack.components.get(p.name);
  if (c === undefined) throw bad('this installation runs no such store');
  if (c instanceof StartedPostgres) {
    const dumps = p.files.map((f) => ({ file: join(dir, f), db: f.split('/').at(-1)!.replace(/\.dump$/, '') }));
    for (const d of dumps) {
      if (!c.databases.includes(d.db)) throw bad(`database ${d.db} is not one of this installation's (${c.databases.join(', ')})`);
      const r = spawnSync('pg_restore', ['--list', d.file], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      if (r.status !== 0) throw bad(`${d.db}.dump is unreadable: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`);
    }
    return {
      kind: 'postgres',
      load: async () => {
        for (const d of dumps) {
          const url = new URL(c.url);
          url.pathname = `/${d.db}`;
          await command('pg_restore', ['--clean', '--if-exists', '--no-owner', '--single-transaction', '--exit-on-error', `--dbname=${url.toString()}`, d.file], `pg_restore of ${d.db}`, undefined, 'circleci-restore', RestoreError);
        }
        return { name: p.name, how: `pg_restore --clean --single-transaction of ${dumps.length} databases` };
      },
    };
  }
  if (p.name === 'redis') {
    const rdb = join(dir, p.files[0]!);
    if (c.dataDir === undefined) throw bad(`the ${c.backend} Redis has no dir to put its RDB image in`);
    if (readFileSync(rdb).subarray(0, 5).toString() !== 'REDIS') throw bad('dump.rdb is not an RDB image');
    return {
      kind: 'redis',
      load: async () => {
        // Redis reads an RDB image when it starts: stopped, the image put in its dir, started again.
        await stack.stop(p.name);
        replaceDir(join(dir, 'redis'), c.dataDir!);
        await stack.start(p.name);
        return { name: p.name, how: 'its RDB image put in its dir and the server restarted on it' };
      },
    };
  }
  if (p.name === 'rabbitmq') {
    const defs = join(dir, p.files[0]!);
    try {
      JSON.parse(readFileSync(defs, 'utf8'));
    } catch (e) {
      throw bad(`definitions.json: ${(e as Error).message}`);
    }
    const ctl = rabbitmqCtl(c);
    if (typeof ctl === 'string') throw bad(ctl);
    return {
      kind: 'rabbitmq',
      load: async () => {
        await command(ctl.bin, [...ctl.args, 'import_definitions', defs], 'rabbitmqctl import_definitions', ctl.env, 'circleci-restore', RestoreError);
        return { name: p.name, how: 'rabbitmqctl import_definitions (queues, exchanges, bindings, users)' };
      },
    };
  }
  if (p.name === 'mongo') {
    const { BSON } = drivers.mongodb();
    const colls = p.files.map((f) => {
      const [, db, file] = f.split('/');
      const text = readFileSync(join(dir, f), 'utf8');
      let docs: unknown[];
      try {
        docs = text.split('\n').filter((l) => l !== '').map((l) => BSON.EJSON.parse(l, { relaxed: false }));
      } catch (e) {
        throw bad(`${f}: ${(e as Error).message}`);
      }
      return { db: db!, coll: file!.replace(/\.json$/, ''), docs };
    });
    return {
      kind: 'mongo',
      load: async () => {
        const { MongoClient } = drivers.mongodb();
        const client = new MongoClient(c.url, { serverSelectionTimeoutMS: 10_000 });
        try {
          await client.connect();
          for (const db of new Set(colls.map((x) => x.db))) await client.db(db).dropDatabase();
          for (const x of colls) {
            await client.db(x.db).createCollection(x.coll);
            if (x.docs.length > 0) await client.db(x.db).collection(x.coll).insertMany(x.docs as Record<string, unknown>[]);
          }
        } finally {
          await client.close();
        }
        return { name: p.name, how: `${colls.length} collections dropped and inserted from Extended JSON lines` };
      },
    };
  }
  throw bad(`no way to load it into the ${c.backend} ${p.name}`);
}

/** Every store's data dir and `etc/`: what is moved aside, and put back if a load fails. */
function storeDirs(stack: LiveStack, host: RestoreHost): VolumePart[] {
  const out: VolumePart[] = [];
  for (const [name, c] of stack.components as Map<string, StartedComponent>) {
    if (stack.rows.get(name)?.kind === 'backend' && c.dataDir !== undefined && existsSync(c.dataDir)) out.push({ name, dir: c.dataDir, pid: c.pid });
  }
  out.push({ name: 'etc', dir: host.etcDir, pid: undefined });
  return out;
}

/** A failed load: the app stopped, every dir put back from the moved-aside copy, the app started on it. */
async function putBack(host: RestoreHost, stores: VolumePart[], aside: string): Promise<void> {
  await host.stopApp();
  for (const s of stores) replaceDir(join(aside, s.name), s.dir);
  await host.startStores();
  await host.startServices();
}

/** `dest`'s content replaced by `src`'s (owners and modes kept). */
function replaceDir(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const e of readdirSync(dest)) rmSync(join(dest, e), { recursive: true, force: true });
  copyDir(src, dest);
}

function copyDir(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  const r = spawnSync('cp', ['-a', '--reflink=auto', `${src}/.`, dest], { encoding: 'utf8' });
  if (r.status !== 0) throw new RestoreError(`circleci-restore: cp -a ${src} ${dest} failed (exit ${r.status}): ${r.stderr.trim()}`, 'check the free space of the Services volume (df), then run it again');
}
