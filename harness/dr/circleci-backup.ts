import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { LiveStack } from '../live/stack.ts';
import type { StartedComponent } from '../providers/types.ts';
import { drivers } from '../providers/drivers.ts';
import { StartedPostgres } from '../providers/postgres/started-postgres.ts';
import { makeTempDir, removeDir } from '../providers/temp-dir.ts';

const run = promisify(execFile);

/** The tarball's name, as the seeds' `circleci-backup` writes it. */
export const TARBALL_NAME = 'circleci-data-export.tar.bz2';
/** Bound on one export command (wall ms): a dump of the twin's stores takes seconds. */
const EXPORT_LIMIT_MS = 120_000;
/** Bound on documents exported from one MongoDB collection: more is not a twin's installation. */
const MAX_DOCS = 1_000_000;
/** RabbitMQ's own CLI (Debian's /usr/sbin/rabbitmqctl wraps it in `su rabbitmq`). */
const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';

/** One store's part of the tarball: how it was exported and how many bytes it took. */
export interface BackupPart {
  name: string;
  how: string;
  files: string[];
  bytes: number;
}

/** What `circleci-backup` wrote. */
export interface TarballBackup {
  path: string;
  bytes: number;
  /** Wall ms from the first export to the tarball written. */
  durationMs: number;
  /** Epoch ms at which the exports started (the age of the data is measured from here). */
  startedAtMs: number;
  parts: BackupPart[];
  /** Stores with data the tarball does not hold, and why (never silent). */
  notInTarball: { name: string; why: string }[];
}

/** An operating error of `circleci-backup` (an export command failed): what, and what to try. */
export class BackupError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

/**
 * The seeds' zero-downtime `circleci-backup <dir>`: each store of the running Services machine exported by its own
 * consistent means while the stack keeps running (nothing is stopped or held), then `circleci-data-export.tar.bz2`
 * written in `dir`:
 * - PostgreSQL: `pg_dump --format=custom` of every database (one repeatable-read snapshot per database);
 * - Redis: `redis-cli --rdb` (the server's own RDB image, as a replica receives it);
 * - RabbitMQ: `rabbitmqctl export_definitions` (users, vhosts, queues, exchanges, bindings; not the messages);
 * - MongoDB: every collection of every database as Extended JSON lines (mongoexport's format), read through the
 *   driver;
 * - the configuration files of `etc/` (the replicated defaults, the console's settings).
 * The Nomad server's `/opt/nomad` is not in it (the tarball holds the databases; a restored install's Nomad starts
 * empty). The export runs in child processes and async reads: the stack serves meanwhile.
 */
export async function circleciBackup(stack: LiveStack, etcDir: string, dir: string): Promise<TarballBackup> {
  const startedAtMs = Date.now();
  const scratch = await makeTempDir('circleci-backup');
  const parts: BackupPart[] = [];
  const notInTarball: TarballBackup['notInTarball'] = [];
  try {
    for (const [name, c] of stack.components) {
      if (stack.rows.get(name)?.kind !== 'backend') continue;
      const exported = await exportStore(name, c, join(scratch, name));
      if (typeof exported === 'string') {
        if (c.dataDir !== undefined) notInTarball.push({ name, why: exported });
        continue;
      }
      parts.push(exported);
    }
    cpSync(etcDir, join(scratch, 'etc'), { recursive: true });
    parts.push({ name: 'etc', how: 'the configuration files copied', files: ['etc/'], bytes: duBytes(join(scratch, 'etc')) });
    writeFileSync(join(scratch, 'manifest.json'), `${JSON.stringify({ format: 'circleci-data-export', version: 1, started_at: new Date(startedAtMs).toISOString(), parts, not_in_tarball: notInTarball }, null, 2)}\n`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, TARBALL_NAME);
    const partial = `${path}.partial`;
    try {
      await command('tar', ['-cjf', partial, '-C', scratch, '.'], 'tar');
    } catch (e) {
      rmSync(partial, { force: true });
      throw e;
    }
    renameSync(partial, path);
    return { path, bytes: statSync(path).size, durationMs: Date.now() - startedAtMs, startedAtMs, parts, notInTarball };
  } finally {
    await removeDir(scratch);
  }
}

/** Exports one store into `out/`; a string says why it is not in the tarball. */
async function exportStore(name: string, c: StartedComponent, out: string): Promise<BackupPart | string> {
  mkdirSync(out, { recursive: true });
  if (c instanceof StartedPostgres) {
    const files: string[] = [];
    for (const db of c.databases) {
      const url = new URL(c.url);
      url.pathname = `/${db}`;
      await command('pg_dump', ['--format=custom', `--dbname=${url.toString()}`, `--file=${join(out, `${db}.dump`)}`], `pg_dump of ${db}`);
      files.push(`${name}/${db}.dump`);
    }
    return { name, how: `pg_dump --format=custom of ${c.databases.length} databases`, files, bytes: duBytes(out) };
  }
  if (name === 'redis' && c.backend !== 'embedded') {
    await command('redis-cli', ['-u', c.url, '--rdb', join(out, 'dump.rdb')], 'redis-cli --rdb');
    return { name, how: 'redis-cli --rdb (the server\'s RDB image)', files: [`${name}/dump.rdb`], bytes: duBytes(out) };
  }
  if (name === 'rabbitmq' && c.dataDir !== undefined) {
    const ctl = rabbitmqCtl(c);
    if (typeof ctl === 'string') return ctl;
    await command(ctl.bin, [...ctl.args, 'export_definitions', join(out, 'definitions.json')], 'rabbitmqctl export_definitions', ctl.env);
    return { name, how: 'rabbitmqctl export_definitions (queues, exchanges, bindings, users; messages in flight are not exported)', files: [`${name}/definitions.json`], bytes: duBytes(out) };
  }
  if (name === 'mongo') {
    const { MongoClient, BSON } = drivers.mongodb();
    const client = new MongoClient(c.url, { serverSelectionTimeoutMS: 10_000 });
    const files: string[] = [];
    try {
      await client.connect();
      const { databases } = await client.db('admin').admin().listDatabases();
      for (const { name: db } of databases.filter((d) => !['admin', 'local', 'config'].includes(d.name))) {
        mkdirSync(join(out, db), { recursive: true });
        for (const { name: coll } of await client.db(db).listCollections({}, { nameOnly: true }).toArray()) {
          const lines: string[] = [];
          for await (const doc of client.db(db).collection(coll).find({}).limit(MAX_DOCS + 1)) lines.push(BSON.EJSON.stringify(doc, { relaxed: false }));
          if (lines.length > MAX_DOCS) throw new BackupError(`mongo ${db}.${coll} holds more than ${MAX_DOCS} documents`, 'the twin exports a twin-sized installation: check what wrote to it');
          writeFileSync(join(out, db, `${coll}.json`), lines.length === 0 ? '' : `${lines.join('\n')}\n`);
          files.push(`${name}/${db}/${coll}.json`);
        }
      }
    } finally {
      await client.close();
    }
    return { name, how: `every collection as Extended JSON lines (mongoexport's format), ${files.length} collections`, files, bytes: duBytes(out) };
  }
  return `no consistent export for the ${c.backend} ${name} (its data dir is not copied raw while it runs)`;
}

/**
 * `rabbitmqctl` for the twin's private RabbitMQ node: the CLI itself, not the distribution's wrapper (which switches
 * to the rabbitmq user and its home), with the private node's home (its Erlang cookie); a string says why not.
 */
export function rabbitmqCtl(c: StartedComponent): { bin: string; args: string[]; env: NodeJS.ProcessEnv } | string {
  const nodeName = (c as { nodeName?: string }).nodeName;
  const cookieFile = c.dataDir === undefined ? '' : join(dirname(c.dataDir), 'home', '.erlang.cookie');
  if (nodeName === undefined || !existsSync(cookieFile)) return 'not a private node of the twin (no node name or Erlang cookie to reach it with rabbitmqctl)';
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dirname(cookieFile), LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  return { bin: existsSync(RABBITMQCTL) ? RABBITMQCTL : 'rabbitmqctl', args: ['-n', nodeName], env };
}

/** Runs one command of `tool` (circleci-backup, circleci-restore), bounded; its failure as `E` with the stderr's last lines and a hint. */
export async function command(bin: string, args: string[], what: string, env?: NodeJS.ProcessEnv, tool = 'circleci-backup', E: new (m: string, h: string) => Error = BackupError): Promise<string> {
  try {
    return (await run(bin, args, { timeout: EXPORT_LIMIT_MS, maxBuffer: 16 * 1024 * 1024, ...(env ? { env } : {}) })).stdout;
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    if (err.code === 'ENOENT') throw new E(`${tool}: ${bin} is not installed (needed for ${what})`, `install it (e.g. apt-get install ${/^pg_/.test(bin) ? 'postgresql-client' : bin === 'redis-cli' ? 'redis-tools' : /rabbitmqctl$/.test(bin) ? 'rabbitmq-server' : bin})`);
    throw new E(`${tool}: ${what} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}`, 'the store may be down or loaded: check `twin ps`, then run it again');
  }
}

function duBytes(path: string): number {
  let total = 0;
  const walk = (p: string) => {
    const s = statSync(p);
    if (s.isDirectory()) {
      for (const e of readdirSync(p)) walk(join(p, e));
    } else total += s.size;
  };
  walk(path);
  return total;
}
