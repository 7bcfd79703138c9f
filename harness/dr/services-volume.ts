import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One directory of the Services machine's root volume, and the processes writing to it (held during a snapshot). */
export interface VolumePart {
  /** The container it belongs to (`postgres`, `rabbitmq`, …) or `etc` for the configuration files. */
  name: string;
  dir: string;
  /** The writer's process (its whole tree is held); undefined for files nothing writes to on its own. */
  pid: number | undefined;
}

/** What a snapshot copied, and for how long the writers were held. */
export interface VolumeCopy {
  holdMs: number;
  bytes: number;
  parts: string[];
}

/** Bound on the processes of one writer's tree (PostgreSQL's backends, Erlang's children): more is a runaway scan. */
const MAX_TREE = 512;

/**
 * The Services machine's root volume as the live stack lays it out: the private data dirs of its stores (PostgreSQL,
 * RabbitMQ's mnesia, MongoDB's dbPath, Redis's dir, fileserved's store) and `etc/` with the files the runbooks
 * touch (`etc/default/replicated`, `etc/default/replicated-operator`, the console's `settings.json`).
 *
 * A copy is crash-consistent, as an EBS snapshot is: every writer's process tree is stopped (SIGSTOP) at once, the
 * dirs are copied with `cp -a` (owners and modes kept, reflinks where the file system has them), and the writers
 * continue (SIGCONT). A write acknowledged before the stop is in the copy, nothing after it; a store that restarts
 * on the copy recovers from it as after a power loss. The copy runs synchronously, so nothing in this process (the
 * twin's Nomad API, the EC2 endpoint) moves while it runs either.
 */
export class ServicesVolume {
  constructor(private readonly parts: () => readonly VolumePart[]) {}

  /** Copies every part into `dest/<name>/`; returns how long the writers were held. */
  copyTo(dest: string): VolumeCopy {
    const parts = this.parts().filter((p) => existsSync(p.dir));
    const pids = [...new Set(parts.flatMap((p) => (p.pid === undefined ? [] : processTree(p.pid))))];
    mkdirSync(dest, { recursive: true });
    const t0 = performance.now();
    signalAll(pids, 'SIGSTOP');
    try {
      for (const p of parts) copyDir(p.dir, join(dest, p.name));
    } finally {
      signalAll(pids, 'SIGCONT');
    }
    const holdMs = performance.now() - t0;
    return { holdMs, bytes: duBytes(dest), parts: parts.map((p) => p.name) };
  }

  /** Deletes what each part holds (the directories stay, empty: the providers own them). */
  wipe(): void {
    for (const p of this.parts()) {
      if (!existsSync(p.dir)) continue;
      for (const entry of readdirSync(p.dir)) rmSync(join(p.dir, entry), { recursive: true, force: true });
    }
  }

  /** Replaces each part's content with its copy in `src/<name>/` (a part the copy lacks is left empty). */
  restoreFrom(src: string): void {
    this.wipe();
    for (const p of this.parts()) {
      const from = join(src, p.name);
      if (existsSync(from)) copyDir(from, p.dir);
    }
  }
}

/** `cp -a src/. dest`: owners, modes and times kept (PostgreSQL refuses a data dir it does not own). */
function copyDir(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  const r = spawnSync('cp', ['-a', '--reflink=auto', `${src}/.`, dest], { encoding: 'utf8' });
  // A store may delete a file between cp's listing and its read (a WAL segment recycled): cp says so and goes on;
  // those files were not part of the state at the instant of the stop, which is what the copy is.
  if (r.status !== 0 && !/No such file or directory/.test(r.stderr)) throw new Error(`cp -a ${src} ${dest} failed (exit ${r.status}): ${r.stderr.trim()}`);
}

function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return Number(r.stdout.split('\t')[0]) || 0;
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already: nothing to hold or release
    }
  }
}

/** A process and its descendants, from /proc (PostgreSQL's postmaster and backends, RabbitMQ's script and beam). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name is in parentheses and may hold spaces: the fields after its closing one are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < MAX_TREE) {
    const pid = queue.shift()!;
    if (!existsSync(`/proc/${pid}`)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  if (queue.length > 0) throw new Error(`process tree of ${root} has more than ${MAX_TREE} processes (MAX_TREE)`);
  return out;
}

/** The configuration files a runbook edits, under the volume's `etc/` part. */
export const REPLICATED_FILES = ['default/replicated', 'default/replicated-operator'] as const;

/** Writes `etc/default/replicated`, `replicated-operator` and the console's settings for a machine at `ip`. */
export function writeMachineConfig(etcDir: string, ip: string): void {
  mkdirSync(join(etcDir, 'default'), { recursive: true });
  // The shape of Replicated's defaults files on Ubuntu (the twin's assumption; the seeds name the files, not their lines).
  writeFileSync(join(etcDir, 'default', 'replicated'), `RELEASE_CHANNEL=stable\nPRIVATE_ADDRESS=${ip}\nREPLICATED_OPTS="-e LOG_LEVEL=info -e NODENAME=circleci-services"\n`);
  writeFileSync(join(etcDir, 'default', 'replicated-operator'), `PRIVATE_ADDRESS=${ip}\nDAEMON_ENDPOINT=${ip}:9879\nREPLICATED_OPERATOR_OPTS=""\n`);
  writeFileSync(join(etcDir, 'settings.json'), `${JSON.stringify({ hostname: ip }, null, 2)}\n`);
}

/** The console's hostname set to `ip` (runbook step 3); the replicated defaults are left as they are. */
export function setConsoleHostname(etcDir: string, ip: string): void {
  writeFileSync(join(etcDir, 'settings.json'), `${JSON.stringify({ hostname: ip }, null, 2)}\n`);
}

/** The private addresses the replicated defaults files name (one per file). */
export function replicatedAddresses(etcDir: string): string[] {
  return REPLICATED_FILES.map((f) => {
    const path = join(etcDir, f);
    if (!existsSync(path)) return '';
    return /^PRIVATE_ADDRESS=(.*)$/m.exec(readFileSync(path, 'utf8'))?.[1] ?? '';
  });
}

/** Rewrites every reference to `from` in the replicated defaults files to `to` (runbook step 4); returns the files changed. */
export function updateReplicatedAddresses(etcDir: string, from: string, to: string): string[] {
  const changed: string[] = [];
  for (const f of REPLICATED_FILES) {
    const path = join(etcDir, f);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    const next = text.split(from).join(to);
    if (next !== text) {
      writeFileSync(path, next);
      changed.push(`/etc/${f}`);
    }
  }
  return changed;
}

/** The hostname in the console's settings (`settings.json`), or undefined when the file is gone. */
export function consoleHostname(etcDir: string): string | undefined {
  const path = join(etcDir, 'settings.json');
  if (!existsSync(path)) return undefined;
  return (JSON.parse(readFileSync(path, 'utf8')) as { hostname?: string }).hostname;
}

/**
 * Where the installation's secret token lives on the volume (`etc/replicated/secret-token`, the twin's assumption:
 * the seeds name the command, `sudo replicated admin get-secret-token`, not Replicated's file): what builders
 * launched for a new address need as `CIRCLE_SECRET_PASSPHRASE`.
 */
const SECRET_TOKEN_FILE = join('replicated', 'secret-token');

/** Writes the installation's secret token on the volume's `etc/` (at install; a snapshot carries it). */
export function writeSecretToken(etcDir: string, token: string): void {
  mkdirSync(join(etcDir, 'replicated'), { recursive: true });
  writeFileSync(join(etcDir, SECRET_TOKEN_FILE), `${token}\n`);
}

/** The secret token as `sudo replicated admin get-secret-token` reads it from the machine's `etc/`; undefined when absent. */
export function readSecretToken(etcDir: string): string | undefined {
  const path = join(etcDir, SECRET_TOKEN_FILE);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined;
}
