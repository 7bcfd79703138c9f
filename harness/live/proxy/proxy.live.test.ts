import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresProvider, RedisProvider, type StartedPostgres, type StartedRedis } from '../../providers/index.ts';
import { TcpProxy, type CutMode } from './tcp-proxy.ts';
import { LOCAL_PROGRAMS, missingPackagesReason } from '../../providers/missing-packages.ts';

// Real clients through the proxy: what the services will see of a live `partition` fault.
// Without the Debian packages (a fresh machine; `.ci/run` installs them) these skip, saying why in one line.
const noLocal = missingPackagesReason('TCP proxy (private Redis and PostgreSQL)', [LOCAL_PROGRAMS.redis(), LOCAL_PROGRAMS.postgres()]);

describe.skipIf(noLocal !== undefined)('TcpProxy in front of a private Redis and PostgreSQL', () => {
  let redis: StartedRedis;
  let postgres: StartedPostgres;
  let redisProxy: TcpProxy;
  let postgresProxy: TcpProxy;
  let postgresUrl: string;

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([new RedisProvider().withBackend('local').start(), new PostgresProvider().withBackend('local').start()]);
    [redisProxy, postgresProxy] = await Promise.all([
      TcpProxy.start({ name: 'redis', target: { host: redis.host, port: redis.port } }),
      TcpProxy.start({ name: 'postgres', target: { host: postgres.host, port: postgres.port } }),
    ]);
    const url = new URL(postgres.url);
    url.port = String(postgresProxy.port);
    postgresUrl = url.toString();
  });
  // A failed test must not leave the next one partitioned.
  afterEach(() => {
    redisProxy.heal();
    postgresProxy.heal();
  });
  afterAll(async () => {
    await Promise.all([redisProxy?.close(), postgresProxy?.close()]);
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  /** An ioredis client through the proxy that fails fast instead of queueing, and retries its connection often. */
  function redisClient(): Redis {
    return redis.client({
      host: redisProxy.host,
      port: redisProxy.port,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 300,
      commandTimeout: 300,
      retryStrategy: () => 50,
    });
  }

  /**
   * A connected pg client through the proxy. pg waits forever by default, so a blackholed client would hang the
   * test: both timeouts are short, as a service's would be.
   */
  async function postgresClient(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 300, query_timeout: 300 });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  it.each<CutMode>(['reset', 'blackhole'])("redis: commands fail while cut ('%s'); the same ioredis client reconnects after heal()", async (mode) => {
    const client = redisClient();
    await expect.poll(() => client.status).toBe('ready');
    await client.set(`partition:${mode}`, 'before');

    redisProxy.cut(mode);
    // reset: the socket is gone and the offline queue is off; blackhole: the command waits for `commandTimeout`.
    await expect(client.get(`partition:${mode}`)).rejects.toThrow(mode === 'reset' ? /max retries|writeable|Connection is closed|ECONNRESET/ : /timed out/);

    redisProxy.heal();
    // Nothing to do but wait: the client's own reconnection brings it back.
    await expect.poll(() => client.get(`partition:${mode}`).catch((err: Error) => err.message), { timeout: 5_000, interval: 50 }).toBe('before');
    client.disconnect();
  });

  it('redis: a restart of the backend on its port needs nothing of the proxy; the client comes back through it', async () => {
    const client = redisClient();
    await expect.poll(() => client.status).toBe('ready');
    await redis.restart();
    await expect.poll(() => client.ping().catch((err: Error) => err.message), { timeout: 5_000, interval: 50 }).toBe('PONG');
    expect(redisProxy.target.port).toBe(redis.port);
    client.disconnect();
  });

  it.each<CutMode>(['reset', 'blackhole'])("postgres: queries and connects fail while cut ('%s'); a new client works after heal()", async (mode) => {
    const client = await postgresClient();
    expect((await client.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);

    postgresProxy.cut(mode);
    await expect(client.query('SELECT 2')).rejects.toThrow(mode === 'reset' ? /ECONNRESET|terminated|not queryable/ : /timeout/i);
    await expect(postgresClient()).rejects.toThrow(mode === 'reset' ? /ECONNRESET|terminated/ : /timeout/i);

    postgresProxy.heal();
    await client.end().catch(() => undefined);
    const fresh = await postgresClient();
    try {
      expect((await fresh.query<{ n: number }>('SELECT 3 AS n')).rows).toEqual([{ n: 3 }]);
    } finally {
      await fresh.end();
    }
    expect(postgresProxy.stats.refusedWhileCut).toBeGreaterThan(0);
  });
});
