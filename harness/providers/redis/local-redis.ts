import { execFileSync } from 'node:child_process';
import { drivers } from '../drivers.ts';
import type { BackendAvailability } from '../choose-backend.ts';
import { LocalProcessRunner, launchOnFreePorts, spawnAndWait, type Launched } from '../local-process-runner.ts';
import { describeAccount } from '../os-user.ts';
import { freePort } from '../ports.ts';
import { startProcess, which } from '../process.ts';
import { makeTempDir } from '../temp-dir.ts';
import { Wait, type WaitStrategy } from '../wait.ts';

/** The redis-server binary and its version. */
export interface RedisBinary {
  readonly path: string;
  readonly version: string;
}

export function findRedisServer(binDir: string | undefined): RedisBinary | undefined {
  const path = which('redis-server', binDir !== undefined ? [binDir] : []);
  if (path === undefined) return undefined;
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5_000 });
    return { path, version: /v=(\S+)/.exec(out)?.[1] ?? 'unknown' };
  } catch {
    return undefined;
  }
}

export function localRedisAvailability(bin: RedisBinary | undefined): BackendAvailability {
  return bin ? { available: true, detail: `local redis-server ${bin.version} at ${bin.path}` } : { available: false, detail: 'no redis-server on PATH' };
}

export interface LocalRedis {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  readonly detail: string;
}

/**
 * A private `redis-server` on a free port of 127.0.0.1, in memory only (`--save "" --appendonly no`, as
 * CircleCI's Redis holds running step output: a kill loses it), with its working dir in a fresh temp dir.
 * It runs as the current user: redis-server does not refuse root, and it writes nothing outside its temp dir.
 */
export async function startLocalRedis(opts: { bin: RedisBinary; startTimeoutMs: number }): Promise<LocalRedis> {
  const tempDir = await makeTempDir('redis');
  const launchOn = async (port: number): Promise<Launched> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tempDir, '--daemonize', 'no', '--logfile', ''];
    const label = `redis-server on 127.0.0.1:${port}`;
    const proc = await spawnAndWait(
      () => startProcess(opts.bin.path, args, { label, cwd: tempDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }),
      (p) => redisReady.waitUntilReady({ label, host: '127.0.0.1', port, deadline: Date.now() + opts.startTimeoutMs, process: p }),
    );
    return { process: proc, pid: proc.pid };
  };
  let port = 0;
  const runner = await LocalProcessRunner.start({ label: 'redis', tempDir, dataDir: tempDir, launch: () => launchOn(port), stopSignal: 'SIGTERM', graceMs: 5_000 }, async () => {
    const r = await launchOnFreePorts(freePort, launchOn);
    port = r.ports;
    return r.launched;
  });
  return { runner, port, detail: `private redis-server ${opts.bin.version} on 127.0.0.1:${port}, in memory only, dir ${tempDir}, ${describeAccount(undefined)}` };
}

/** Port open, then PING answers PONG (redis refuses commands while it loads). */
export const redisReady: WaitStrategy = Wait.forAll(Wait.forListeningPort(), Wait.forProbe('PING', (ctx) => ping({ host: ctx.host, port: ctx.port })));

/** One PING on a fresh connection that neither retries nor queues. */
export async function ping(connection: { host: string; port: number; username?: string; password?: string; tls?: object }): Promise<void> {
  const client = new (drivers.ioredis().Redis)({ ...connection, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`PING answered ${pong}`);
  } finally {
    client.disconnect();
  }
}
