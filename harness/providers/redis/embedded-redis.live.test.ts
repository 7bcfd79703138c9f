import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCleanStop } from '../stop-contract.ts';
import { privateDataRoot } from '../temp-dir.ts';
import { isPortOpen, waitForPortClosed } from '../wait.ts';
import { describeRedisContract } from './contract.ts';
import { RedisProvider } from './redis-provider.ts';
import type { StartedRedis } from './started-redis.ts';
import { LOCAL_PROGRAMS, missingPackagesReason } from '../missing-packages.ts';

/** The pipeline's client: a dead or hung server shows as failing commands rather than queued ones. */
const FAIL_FAST = { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: () => null } as const;

// Without the Debian package (a fresh machine; `.ci/run` installs it) the real server's half skips, saying why.
const noRedis = missingPackagesReason('Redis contract on a local redis-server', [LOCAL_PROGRAMS.redis()]);

describe('the Redis contract, on a real redis-server and on the embedded server', () => {
  const started: StartedRedis[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });
  for (const backend of noRedis === undefined ? (['local', 'embedded'] as const) : (['embedded'] as const)) {
    describeRedisContract(`${backend} backend`, async () => {
      const redis = await new RedisProvider().withBackend(backend).start();
      started.push(redis);
      return (options) => redis.client(options);
    });
  }
});

describe('RedisProvider, embedded backend (the twin RESP2 server in a child Node process)', () => {
  let redis: StartedRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('starts a child Node process on a free port, says what runs, and serves ioredis', async () => {
    redis = await new RedisProvider().withBackend('embedded').start();
    expect(redis.backend).toBe('embedded');
    expect(redis.backendDetail).toMatch(/^the twin's embedded Redis \(RESP2 server in a child Node process\) on 127\.0\.0\.1:\d+, in memory only .*\(embedded backend requested\)$/);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).not.toBe(6379);
    expect(redis.dataDir?.startsWith(`${privateDataRoot()}/twin-redis-`)).toBe(true);
    expect(redis.pid).not.toBe(process.pid);
    expect(readFileSync(`/proc/${redis.pid}/cmdline`, 'utf8')).toMatch(/embedded-redis-main\.ts/);
    const client = redis.client();
    await client.set('step-output:1', 'hello');
    expect(await client.get('step-output:1')).toBe('hello');
    client.disconnect();
  });

  it('hangs on SIGSTOP (a 500 ms command timeout fires) and answers again on SIGCONT, with its data', async () => {
    const started = redis!;
    const client = started.client(FAIL_FAST);
    await new Promise((resolve) => client.once('ready', resolve));
    process.kill(started.pid!, 'SIGSTOP');
    try {
      await expect(client.get('step-output:1')).rejects.toThrow(/timed out/i);
    } finally {
      process.kill(started.pid!, 'SIGCONT');
    }
    expect(await client.get('step-output:1')).toBe('hello');
    client.disconnect();
  });

  it('dies for real on SIGKILL: commands fail and the port closes; restart() comes back on the same port, empty', async () => {
    const started = redis!;
    const client = started.client(FAIL_FAST);
    await new Promise((resolve) => client.once('ready', resolve));
    const [killedPid, port] = [started.pid!, started.port];
    process.kill(killedPid, 'SIGKILL');
    expect(await waitForPortClosed(started.host, port, 5_000)).toBe(true);
    await expect(client.get('step-output:1')).rejects.toThrow();

    await started.restart();
    expect(started.pid).not.toBe(killedPid);
    expect(started.port).toBe(port);
    const fresh = started.client();
    expect(await fresh.get('step-output:1')).toBeNull();
    await fresh.set('before-restart', 'x');
    fresh.disconnect();
  });

  it('a graceful restart() empties it too: it keeps nothing on disk', async () => {
    const started = redis!;
    const before = started.pid;
    await started.restart();
    expect(started.pid).not.toBe(before);
    expect(await isPortOpen(started.host, started.port)).toBe(true);
    const client = started.client();
    expect(await client.dbsize()).toBe(0);
    client.disconnect();
  });

  it('stop() removes the temp dir, closes the port, and is idempotent; await using disposes', async () => {
    await expectCleanStop(redis!, redis!.dataDir!, () => new RedisProvider().withBackend('embedded').start());
  });
});
