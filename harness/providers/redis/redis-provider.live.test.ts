import { privateDataRoot } from '../temp-dir.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { expectCleanStop } from '../stop-contract.ts';
import { waitForPortClosed } from '../wait.ts';
import { RedisProvider } from './redis-provider.ts';
import { LOCAL_PROGRAMS, missingPackagesReason } from '../missing-packages.ts';
import type { StartedRedis } from './started-redis.ts';

// Without the Debian package (a fresh machine; `.ci/run` installs it) these skip, saying why in one line.
const noRedis = missingPackagesReason('private redis-server', [LOCAL_PROGRAMS.redis()]);

describe.skipIf(noRedis !== undefined)('RedisProvider, local backend (a private redis-server)', () => {
  let redis: StartedRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('starts on a free port with its dir under the temp dir, and writes and reads through ioredis', async () => {
    redis = await new RedisProvider().withBackend('auto').start();
    expect(redis.backend).toBe('local');
    expect(redis.backendDetail).toMatch(/private redis-server 7.*auto: local redis-server/);
    expect(redis.port).not.toBe(6379);
    expect(redis.dataDir?.startsWith(privateDataRoot())).toBe(true);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    const client = redis.client();
    await client.set('step-output:1', 'hello');
    expect(await client.get('step-output:1')).toBe('hello');
    client.disconnect();
  });

  it('dies for real on SIGKILL: commands fail and the port closes; restart() comes back empty (in memory only)', async () => {
    const started = redis!;
    const client = started.client({ lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    await client.connect();
    expect(await client.get('step-output:1')).toBe('hello');
    const killedPid = started.pid!;
    process.kill(killedPid, 'SIGKILL');
    expect(await waitForPortClosed(started.host, started.port, 5_000)).toBe(true);
    await expect(client.get('step-output:1')).rejects.toThrow();

    await started.restart();
    expect(started.pid).not.toBe(killedPid);
    const fresh = started.client();
    expect(await fresh.get('step-output:1')).toBeNull();
    fresh.disconnect();
  });

  it('stop() removes the temp dir, closes the port, and is idempotent; await using disposes', async () => {
    await expectCleanStop(redis!, redis!.dataDir!, () => new RedisProvider().withBackend('local').start());
  });
});
