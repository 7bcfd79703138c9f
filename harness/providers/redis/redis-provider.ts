import { ProviderBuilder } from '../provider-builder.ts';
import type { RedisOptions as IoRedisOptions } from 'ioredis';
import { chooseBackend, type BackendDecision } from '../choose-backend.ts';
import { IMAGES } from '../images.ts';
import { detectContainerRuntime } from '../runtime.ts';
import type { BackendRunner } from '../runner.ts';
import type { BackendChoice } from '../types.ts';
import { Wait } from '../wait.ts';
import { startContainerRedis } from './container-redis.ts';
import { embeddedRedisAvailability, startEmbeddedRedis } from './embedded/embedded-redis.ts';
import { findRedisServer, localRedisAvailability, ping, startLocalRedis, type RedisBinary } from './local-redis.ts';
import { REDIS_URL_EXAMPLE, parseRedisUrl, type RedisUrl } from './redis-url.ts';
import { StartedRedis } from './started-redis.ts';

/** What a caller may set; defaults are applied once, in `settleRedisOptions`. */
export interface RedisProviderOptions {
  backend?: BackendChoice;
  url?: string;
  binDir?: string;
  image?: string;
  startTimeoutMs?: number;
}

export interface SettledRedisOptions {
  readonly backend: BackendChoice;
  readonly url: string | undefined;
  readonly binDir: string | undefined;
  readonly image: string;
  readonly startTimeoutMs: number;
}

export function settleRedisOptions(o: RedisProviderOptions): SettledRedisOptions {
  return { backend: o.backend ?? 'auto', url: o.url, binDir: o.binDir, image: o.image ?? IMAGES.redis, startTimeoutMs: o.startTimeoutMs ?? 15_000 };
}

/**
 * Redis for the live stack: a private `redis-server`, a container, an external server, or the twin's embedded
 * Redis (a RESP2 server in a child Node process; `auto` takes it when there is neither a binary nor a container runtime).
 *
 * ```ts
 * await using redis = await new RedisProvider().start();
 * await redis.client().set('k', 'v');
 * ```
 */
export class RedisProvider extends ProviderBuilder<RedisProviderOptions, StartedRedis> {
  /** The directory holding the binaries, when they are not on PATH. */
  withBinDir(binDir: string): this {
    return this.with({ binDir });
  }

  async start(): Promise<StartedRedis> {
    const o = settleRedisOptions(this.opts);
    const external = o.url !== undefined ? parseRedisUrl(o.url) : undefined;
    let bin: RedisBinary | undefined | null = null;
    const findBin = () => (bin === null ? (bin = findRedisServer(o.binDir)) : bin);
    const decision = await chooseBackend({
      component: 'redis',
      choice: o.backend,
      url: o.url,
      urlExample: REDIS_URL_EXAMPLE,
      local: () => localRedisAvailability(findBin()),
      localHint: 'install Redis (Debian: apt-get install redis-server), or give its directory with withBinDir()',
      runtime: detectContainerRuntime,
      embedded: embeddedRedisAvailability(),
    });
    const s = await startBackend(decision, o, findBin, external);
    return new StartedRedis({ name: 'redis', backend: decision.kind, backendDetail: `${s.detail} (${decision.reason})`, url: s.url, host: s.connection.host ?? '127.0.0.1', port: s.connection.port ?? 6379 }, s.runner, s.connection);
  }
}

interface BackendStart {
  readonly runner: BackendRunner;
  readonly url: string;
  readonly connection: IoRedisOptions;
  readonly detail: string;
}

async function startBackend(decision: BackendDecision, o: SettledRedisOptions, findBin: () => RedisBinary | undefined, external: RedisUrl | undefined): Promise<BackendStart> {
  switch (decision.kind) {
    case 'local': {
      const local = await startLocalRedis({ bin: findBin()!, startTimeoutMs: o.startTimeoutMs });
      return { runner: local.runner, url: `redis://127.0.0.1:${local.port}`, connection: { host: '127.0.0.1', port: local.port }, detail: local.detail };
    }
    case 'testcontainers': {
      const c = await startContainerRedis({ image: o.image, startTimeoutMs: o.startTimeoutMs });
      return { runner: c.runner, url: `redis://${c.host}:${c.port}`, connection: { host: c.host, port: c.port }, detail: `container ${o.image} on ${c.host}:${c.port}` };
    }
    case 'external': {
      const e = external!;
      const connection: IoRedisOptions = { host: e.host, port: e.port, db: e.db, ...(e.username ? { username: e.username } : {}), ...(e.password ? { password: e.password } : {}), ...(e.tls ? { tls: {} } : {}) };
      await Wait.forProbe('PING', () => ping({ host: e.host, port: e.port, ...(e.username ? { username: e.username } : {}), ...(e.password ? { password: e.password } : {}), ...(e.tls ? { tls: {} } : {}) }), isHopeless).waitUntilReady({ label: 'redis', host: e.host, port: e.port, deadline: Date.now() + o.startTimeoutMs });
      return { runner: { pid: undefined, dataDir: undefined, stop: async () => undefined }, url: e.raw, connection, detail: `external Redis at ${e.redacted}` };
    }
    case 'embedded': {
      const embedded = await startEmbeddedRedis({ startTimeoutMs: o.startTimeoutMs });
      return { runner: embedded.runner, url: `redis://127.0.0.1:${embedded.port}`, connection: { host: '127.0.0.1', port: embedded.port }, detail: embedded.detail };
    }
  }
}

/** Authentication errors: waiting will not cure them. */
function isHopeless(err: unknown): boolean {
  return err instanceof Error && /NOAUTH|WRONGPASS|invalid password/i.test(err.message);
}
