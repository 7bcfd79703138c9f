import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findOwned, isRunning, reclaim, startTimeOf } from '../providers/reaper/reclaim.mjs';
import type { StackState } from './state-file.ts';
import { which } from '../providers/process.ts';
import { findPostgresBinaries } from '../providers/postgres/local-postgres.ts';
import { findRabbitMQServer } from '../providers/rabbitmq/local-rabbitmq.ts';

// `twin up -d`, then its supervisor SIGKILLed: nothing of the stack may be left, neither a process (by pid and start
// time), nor a listening socket, nor a directory; with the watchdog SIGKILLed too, `twin down` reclaims it all.
// The machine's own PostgreSQL, Redis and RabbitMQ keep running throughout.
const BIN = fileURLToPath(new URL('../../bin/twin.js', import.meta.url));
/** How long the watchdog may take to reclaim after the supervisor died (it notices within a second). */
const RECLAIM_BOUND_MS = 15_000;

interface Proc {
  pid: number;
  start: string;
}

function twin(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, timeout: 150_000, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Socket inodes of `pid` (its open fds), empty once it is gone. */
function socketInodes(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((i): i is string => i !== undefined);
  } catch {
    return [];
  }
}

interface Sock {
  proto: string;
  local: string;
  port: number;
  listening: boolean;
  inode: string;
}

/** Every IPv4/IPv6 TCP and UDP socket of the machine, from /proc/net. */
function sockets(): Sock[] {
  const out: Sock[] = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    const lines = readFileSync(`/proc/net/${proto}`, 'utf8').trim().split('\n').slice(1);
    for (const l of lines) {
      const f = l.trim().split(/\s+/);
      const [addr, port] = f[1]!.split(':') as [string, string];
      // TCP 0A is LISTEN; an unconnected UDP socket (07) is bound and receiving: both count as listening.
      out.push({ proto, local: addr, port: parseInt(port, 16), listening: f[3] === '0A' || (proto.startsWith('udp') && f[3] === '07'), inode: f[9]! });
    }
  }
  return out;
}

const LOOPBACK = new Set(['0100007F', '00000000000000000000000001000000', '0000000000000000FFFF00000100007F']);

/** The pids of the processes listening on the machine's own service ports (PostgreSQL, Redis, RabbitMQ and its epmd). */
function machineServices(): Proc[] {
  const ports = new Set([5432, 6379, 5672, 4369]);
  const inodes = new Set(sockets().filter((s) => s.listening && ports.has(s.port)).map((s) => s.inode));
  const found: Proc[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    if (socketInodes(Number(e)).some((i) => inodes.has(i))) found.push({ pid: Number(e), start: startTimeOf(Number(e))! });
  }
  return found;
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!check() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 100));
  return Date.now() - t0;
}

/** What a running stack holds: its processes (supervisor, watchdog excluded), its sockets and its dirs. */
function holdings(s: StackState): { procs: Proc[]; inodes: Set<string>; dirs: string[] } {
  const owner = s.owner!;
  const procs = findOwned({ ...owner, session: undefined }, [process.pid, owner.watchdog!.pid]).map(({ pid, start }) => ({ pid, start }));
  // Every process of the supervisor's session too (it is alive, so findOwned leaves its session out).
  for (const e of readdirSync('/proc')) {
    const pid = Number(e);
    if (!/^\d+$/.test(e) || pid === owner.supervisor.pid || procs.some((p) => p.pid === pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]) === owner.session) procs.push({ pid, start: startTimeOf(pid)! });
    } catch {
      // gone
    }
  }
  const inodes = new Set([owner.supervisor.pid, ...procs.map((p) => p.pid)].flatMap(socketInodes));
  return { procs, inodes, dirs: owner.dirs };
}

describe('a SIGKILLed supervisor leaks nothing', () => {
  const cwds: string[] = [];
  const machine = machineServices();
  afterAll(() => {
    // Whatever a failed assertion left behind goes, with the same reaper.
    for (const cwd of cwds) {
      const file = join(cwd, '.twin', 'stack.json');
      if (existsSync(file)) {
        const s = JSON.parse(readFileSync(file, 'utf8')) as StackState;
        if (s.owner) reclaim({ ...s.owner, processes: [...s.owner.processes, s.owner.supervisor, ...(s.owner.watchdog ? [s.owner.watchdog] : [])] });
      }
      rmSync(cwd, { recursive: true, force: true });
    }
    for (const p of machine) expect(isRunning(p), `the machine's own service pid ${p.pid}`).toBe(true);
  });

  async function upDetached(backend = 'embedded'): Promise<{ cwd: string; state: StackState }> {
    const cwd = mkdtempSync(join(tmpdir(), 'twin-sigkill-test-'));
    cwds.push(cwd);
    const up = await twin(cwd, ['up', '-d', '--backend', backend]);
    expect(up.code, up.stderr).toBe(0);
    for (const line of up.stdout.trimEnd().split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    const state = JSON.parse(readFileSync(join(cwd, '.twin', 'stack.json'), 'utf8')) as StackState;
    expect(state.owner?.watchdog).toBeDefined();
    expect(isRunning(state.owner!.supervisor)).toBe(true);
    return { cwd, state };
  }

  it('the watchdog ends every process, socket and dir of the stack within the bound', async () => {
    await supervisorKilled(await upDetached());
  });

  // The local binaries add what the embedded servers do not have: a RabbitMQ VM run as the rabbitmq user with its
  // erl_child_setup and inet_gethost children, redis-server, a system PostgreSQL's postmaster and backends.
  const local = findPostgresBinaries({}) !== undefined && which('redis-server') !== undefined && findRabbitMQServer(undefined) !== undefined;
  it.skipIf(!local)('the same with the local PostgreSQL, redis-server and RabbitMQ binaries', async () => {
    const up = await upDetached('postgres=local,redis=local,rabbitmq=local');
    for (const name of ['postgres', 'redis', 'rabbitmq']) expect(up.state.rows.find((r) => r.name === name)?.via, name).toBe('local');
    await supervisorKilled(up);
  });

  async function supervisorKilled({ cwd, state }: { cwd: string; state: StackState }): Promise<void> {
    const { procs, inodes, dirs } = holdings(state);
    // What an embedded stack holds: the embedded servers and a private PostgreSQL with its backends, five dirs.
    expect(procs.length).toBeGreaterThanOrEqual(8);
    expect(dirs.length).toBeGreaterThanOrEqual(4);
    for (const d of dirs) expect(existsSync(d), d).toBe(true);
    const mine = sockets().filter((s) => inodes.has(s.inode));
    expect(mine.filter((s) => s.listening).length).toBeGreaterThan(30);
    // Every socket of the stack is on loopback (nomad-metrics' statsd sender included).
    expect(mine.filter((s) => !LOOPBACK.has(s.local)).map((s) => `${s.proto} ${s.local}:${s.port}`)).toEqual([]);

    process.kill(state.supervisorPid, 'SIGKILL');
    const gone = () => procs.every((p) => !isRunning(p)) && !sockets().some((s) => inodes.has(s.inode)) && dirs.every((d) => !existsSync(d));
    const ms = await until(gone, RECLAIM_BOUND_MS);
    expect(procs.filter((p) => isRunning(p))).toEqual([]);
    expect(sockets().filter((s) => inodes.has(s.inode))).toEqual([]);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
    console.log(`reclaimed ${procs.length} processes, ${inodes.size} sockets, ${dirs.length} dirs within ${ms} ms of the SIGKILL`);

    const status = await twin(cwd, ['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(new RegExp(`supervisor \\(pid ${state.supervisorPid}\\) .* is gone; its watchdog reclaimed \\d+ processes, ${dirs.length} dirs`));
    const json = await twin(cwd, ['status', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ running: false, supervisor: 'gone', left: { processes: 0, dirs: 0 } });
    const down = await twin(cwd, ['down']);
    expect(down.stderr).toMatch(new RegExp(`its watchdog had reclaimed \\d+ processes, ${dirs.length} dirs \\(\\d+ MiB\\) of a stack whose supervisor \\(pid ${state.supervisorPid}\\) died; nothing was left`));
    expect(existsSync(join(cwd, '.twin', 'stack.json'))).toBe(false);
  }

  it('with the watchdog SIGKILLed too, the remains stay until `twin down` reclaims them', async () => {
    const { cwd, state } = await upDetached();
    const { procs, inodes, dirs } = holdings(state);
    process.kill(state.owner!.watchdog!.pid, 'SIGKILL');
    process.kill(state.supervisorPid, 'SIGKILL');
    await until(() => !isRunning(state.owner!.supervisor), 5_000);
    // Without a reaper the private PostgreSQL and its dirs outlive the supervisor (what the issue found).
    await new Promise((r) => setTimeout(r, 1_000));
    expect(procs.filter((p) => isRunning(p)).length).toBeGreaterThan(0);
    const status = await twin(cwd, ['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/is gone; [1-9]\d* processes and \d+ dirs of it are left; `twin down` reclaims them/);

    const down = await twin(cwd, ['down']);
    expect(down.code).toBe(0);
    expect(down.stderr).toMatch(new RegExp(`^twin down: reclaimed [1-9]\\d* process(es)?, ${dirs.length} dirs \\([\\d.]+ MiB\\) of a stack whose supervisor \\(pid ${state.supervisorPid}\\) died\\n$`));
    console.log(down.stderr.trim());
    expect(procs.filter((p) => isRunning(p))).toEqual([]);
    expect(sockets().filter((s) => inodes.has(s.inode))).toEqual([]);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
    expect(existsSync(join(cwd, '.twin', 'stack.json'))).toBe(false);
  });
});
