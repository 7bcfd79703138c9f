import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BackendAvailability } from '../choose-backend.ts';
import { LocalProcessRunner, launchOnFreePorts, spawnAndWait, type Launched } from '../local-process-runner.ts';
import { describeAccount, isRoot, lookupOsUser, serviceAccount } from '../os-user.ts';
import { freePort } from '../ports.ts';
import { startProcess, which } from '../process.ts';
import { chownTree, makeTempDir, removeDir } from '../temp-dir.ts';
import { initCluster, templateCacheDir } from './cluster-template.ts';
import { ProviderError } from '../types.ts';
import { Wait, type WaitStrategy } from '../wait.ts';
import { connectClient } from './started-postgres.ts';

/** The binaries of one PostgreSQL installation. */
export interface PostgresBinaries {
  readonly binDir: string;
  readonly initdb: string;
  readonly postgres: string;
  /** `15.20`, from `postgres --version`. */
  readonly version: string;
}

/** Where Debian installs each major version. */
const DEBIAN_ROOT = '/usr/lib/postgresql';

/** The OS account initdb and postgres run as when the harness is root (both refuse to run as root). */
export const POSTGRES_ACCOUNT = 'postgres';

/**
 * Finds initdb and postgres: in `binDir` if given; else Debian's directory of `version`; else on PATH (following
 * symlinks, so both come from the same installation); else the newest Debian version.
 */
export function findPostgresBinaries(opts: { binDir?: string | undefined; version?: string | undefined }): PostgresBinaries | undefined {
  const dirs: string[] = [];
  if (opts.binDir !== undefined) dirs.push(opts.binDir);
  else if (opts.version !== undefined) dirs.push(join(DEBIAN_ROOT, opts.version, 'bin'));
  else {
    const onPath = whichReal('initdb');
    if (onPath) dirs.push(dirname(onPath));
    for (const v of debianVersions()) dirs.push(join(DEBIAN_ROOT, v, 'bin'));
  }
  for (const binDir of dirs) {
    const initdb = join(binDir, 'initdb');
    const postgres = join(binDir, 'postgres');
    if (!existsSync(initdb) || !existsSync(postgres)) continue;
    const version = postgresVersion(postgres);
    if (version) return { binDir, initdb, postgres, version };
  }
  return undefined;
}

/** Whether a private cluster can be started here, in words. */
export function localPostgresAvailability(bins: PostgresBinaries | undefined): BackendAvailability {
  if (!bins) return { available: false, detail: `no initdb and postgres binaries on PATH or in ${DEBIAN_ROOT}/*/bin` };
  if (isRoot() && !lookupOsUser(POSTGRES_ACCOUNT)) return { available: false, detail: `running as root and there is no '${POSTGRES_ACCOUNT}' OS user to run initdb and postgres as` };
  return { available: true, detail: `local PostgreSQL ${bins.version} binaries in ${bins.binDir}` };
}

export interface LocalPostgres {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  readonly detail: string;
}

/**
 * A private cluster: `initdb` into a fresh temp dir, then `postgres` spawned directly (we own its pid: a SIGKILL
 * of it is a real crash) on a free port of 127.0.0.1, with its Unix socket in the temp dir, never the system
 * one. As root both run as the `postgres` OS user, owning the temp dir.
 */
export async function startLocalPostgres(opts: { bins: PostgresBinaries; startTimeoutMs: number; settings: Readonly<Record<string, string>>; databases: readonly string[] }): Promise<LocalPostgres> {
  const { bins } = opts;
  const account = serviceAccount('postgres', POSTGRES_ACCOUNT);
  const tempDir = await makeTempDir('postgres');
  const dataDir = join(tempDir, 'data');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC', HOME: tempDir };
  const ids = account ? { uid: account.uid, gid: account.gid } : {};
  let made: 'template' | 'initdb';
  try {
    await chownTree(tempDir, account);
    const run = { env, ids, cwd: tempDir, timeoutMs: opts.startTimeoutMs };
    const key = { binDir: bins.binDir, version: bins.version, initdbArgs: INITDB_ARGS, databases: [...opts.databases].sort() };
    made = await initCluster(key, dataDir, { initdb: (dir) => initdb(bins, dir, run), createDatabases: (dir, dbs) => createDatabasesOffline(bins, dir, dbs, run) });
    // The server must own its data dir. A template is copied with its owners kept, so a copy of one the account made
    // is the account's already (thousands of files not walked); one made otherwise is handed over here.
    if (made === 'template' && account !== undefined && (await stat(dataDir)).uid !== account.uid) await chownTree(dataDir, account);
  } catch (err) {
    await removeDir(tempDir);
    throw err;
  }

  const launchOn = async (port: number): Promise<Launched> => {
    // fsync=off: a SIGKILL of the server loses nothing the OS has (commits still reach the kernel before they are
    // acknowledged); only a machine crash could, and the twin never simulates one on the real disk.
    // dynamic_shared_memory_type=mmap: its shared memory segments are files in the data dir, removed with it, where
    // the default (POSIX) leaves /dev/shm/PostgreSQL.* behind after a SIGKILL.
    const settings: Record<string, string> = { listen_addresses: '127.0.0.1', fsync: 'off', dynamic_shared_memory_type: 'mmap', ...opts.settings };
    const args = ['-D', dataDir, '-p', String(port), '-k', tempDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const proc = await spawnAndWait(
      () => startProcess(bins.postgres, args, { label: `postgres on 127.0.0.1:${port}`, env, cwd: tempDir, ...ids }),
      (p) => postgresReady.waitUntilReady({ label: `postgres on 127.0.0.1:${port}`, host: '127.0.0.1', port, deadline: Date.now() + opts.startTimeoutMs, process: p }),
    );
    return { process: proc, pid: proc.pid };
  };

  let port = 0;
  const runner = await LocalProcessRunner.start(
    // SIGINT is postgres' fast shutdown: SIGTERM (smart) would wait for every client to disconnect.
    { label: 'postgres', tempDir, dataDir, launch: () => launchOn(port), stopSignal: 'SIGINT', graceMs: 10_000, orphansWorkIn: dataDir },
    async () => {
      const r = await launchOnFreePorts(freePort, launchOn);
      port = r.ports;
      return r.launched;
    },
  );
  const origin = made === 'template' ? 'copied from the cached initdb template' : 'made by initdb (kept as the template for the next boots)';
  return { runner, port, detail: `private PostgreSQL ${bins.version} cluster from ${bins.binDir} on 127.0.0.1:${port}, data in ${dataDir} (${origin}), ${describeAccount(account)}` };
}

/** Port open, then `SELECT 1` answers (postgres listens before it accepts queries while it recovers). */
const postgresReady: WaitStrategy = Wait.forAll(
  Wait.forListeningPort(),
  Wait.forProbe('SELECT 1 as postgres', async (ctx) => {
    const client = await connectClient(`postgres://postgres@${ctx.host}:${ctx.port}/postgres`, 1_000);
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end().catch(() => undefined);
    }
  }),
);

/**
 * --no-sync: a fresh cluster in a temp dir needs no fsync; trust auth: it listens on 127.0.0.1 only. 1 MB WAL
 * segments (16 MB by default): every boot copies the template's WAL, and a cluster made with the default had 49 MB of
 * it in 128 MB.
 */
const INITDB_ARGS = ['-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C', '--wal-segsize=1'] as const;

/** How the cluster's tools run: as the postgres account when we are root, in the temp dir, within the start timeout. */
interface RunAs {
  readonly env: Record<string, string>;
  readonly ids: { uid?: number; gid?: number };
  readonly cwd: string;
  readonly timeoutMs: number;
}

async function initdb(bins: PostgresBinaries, dataDir: string, o: RunAs): Promise<void> {
  const args = ['-D', dataDir, ...INITDB_ARGS];
  const proc = startProcess(bins.initdb, args, { label: 'initdb', env: o.env, cwd: o.cwd, ...o.ids });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), o.timeoutMs);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) {
    throw new ProviderError('START_FAILED', `postgres: initdb -D ${dataDir} failed (${signal ?? `exit code ${code}`}):\n${proc.tail()}`, 'initdb refuses to run as root: the harness runs it as the postgres OS user; check that user can write the temp dir');
  }
}

/**
 * Creates databases in a cluster that is not running, through `postgres --single` (the stand-alone backend reading
 * commands from stdin): much faster than CREATE DATABASE on a running server, which checkpoints for each.
 */
async function createDatabasesOffline(bins: PostgresBinaries, dataDir: string, databases: readonly string[], o: RunAs): Promise<void> {
  const proc = startProcess(bins.postgres, ['--single', '-D', dataDir, '-F', '-c', 'fsync=off', 'postgres'], { label: 'postgres --single', env: o.env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'], ...o.ids });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), o.timeoutMs);
  // FILE_COPY (PostgreSQL 15+; the only way before): the default WAL_LOG strategy writes each new database's every
  // page to the WAL, which every copy of the template would then carry.
  const strategy = Number(bins.version.split('.')[0]) >= 15 ? ' STRATEGY = FILE_COPY' : '';
  proc.child.stdin?.end(databases.map((db) => `CREATE DATABASE "${db}"${strategy}\n`).join(''));
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  const failed = /\bERROR:.*/.exec(proc.tail(200));
  if (code !== 0 || failed) {
    throw new ProviderError('START_FAILED', `postgres: creating databases ${databases.join(', ')} in ${dataDir} failed (${failed?.[0] ?? signal ?? `exit code ${code}`}):\n${proc.tail()}`, 'the stand-alone backend runs as the postgres OS user; check that it can write the data dir');
  }
}

/**
 * `postgres --version` of a binary (`17.10`), or undefined if it does not run. Remembered per binary (path, size and
 * modification time) in the template cache's directory: asking blocks this thread for a process start, which every
 * boot would otherwise pay before its cluster is copied.
 */
export function postgresVersion(postgres: string): string | undefined {
  let id: string;
  try {
    const s = statSync(postgres);
    id = `${postgres}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
  const file = join(templateCacheDir(), '..', 'postgres-versions.json');
  const known = readVersions(file);
  if (known[id] !== undefined) return known[id];
  let version: string | undefined;
  try {
    version = /(\d+(?:\.\d+)?)/.exec(execFileSync(postgres, ['--version'], { encoding: 'utf8', timeout: 5_000 }))?.[1];
  } catch {
    return undefined;
  }
  if (version !== undefined) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, `${JSON.stringify({ ...known, [id]: version }, null, 1)}\n`);
      renameSync(tmp, file);
    } catch {
      // a cache that cannot be written only costs the next boot a process start
    }
  }
  return version;
}

function readVersions(file: string): Record<string, string> {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v !== null && typeof v === 'object' ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function debianVersions(): string[] {
  try {
    return readdirSync(DEBIAN_ROOT)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    return [];
  }
}

/** The real path of an executable on PATH (Debian-style symlinks resolved to their installation). */
function whichReal(name: string): string | undefined {
  const p = which(name);
  if (p === undefined) return undefined;
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
