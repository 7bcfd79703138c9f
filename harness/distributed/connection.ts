import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl, REDIS_URL_EXAMPLE } from '../providers/redis/redis-url.ts';
import { DistributedError } from './errors.ts';

/** A Redis URL checked for the queue: ioredis options for BullMQ and for the twin's own keys, and the URL to print. */
export interface QueueRedis {
  /** The URL with its password masked, for messages. */
  readonly redacted: string;
  readonly options: RedisOptions;
}

/** How long connecting to the queue's Redis may take before the command gives up (exit 2). */
export const CONNECT_TIMEOUT_MS = 5_000;

/** Parses `redis://[user:password@]host:port[/db]` (or `rediss://`); a bad URL is a DistributedError naming it. */
export function queueRedis(url: string): QueueRedis {
  let u: ReturnType<typeof parseRedisUrl>;
  try {
    u = parseRedisUrl(url);
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^redis: /, '') : String(e);
    throw new DistributedError(`bad Redis URL for the queue: ${message}`, `give the URL of a Redis every worker machine reaches, like ${REDIS_URL_EXAMPLE} or redis://127.0.0.1:6379`, 'BAD_URL');
  }
  const options: RedisOptions = {
    host: u.host,
    port: u.port,
    db: u.db,
    ...(u.username ? { username: u.username } : {}),
    ...(u.password ? { password: u.password } : {}),
    ...(u.tls ? { tls: {} } : {}),
    connectTimeout: CONNECT_TIMEOUT_MS,
    // BullMQ's workers block on Redis: they need commands to wait for a reconnection rather than fail.
    maxRetriesPerRequest: null,
  };
  return { redacted: u.redacted, options };
}

/** The options as BullMQ's Queue and Worker take them (its own declaration of ioredis's options). */
export function bullConnection(redis: QueueRedis): ConnectionOptions {
  return redis.options as ConnectionOptions;
}

/**
 * A connected client for the twin's own keys, after a PING answered: an unreachable Redis is a DistributedError
 * naming the URL, after at most CONNECT_TIMEOUT_MS, rather than a command that waits for ever.
 */
export async function connectChecked(redis: QueueRedis): Promise<Redis> {
  const probe = new Redis({ ...redis.options, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, an auth error) says more than the "Connection is closed" that follows it.
  let socketError: Error | undefined;
  probe.on('error', (e: Error) => (socketError ??= e));
  try {
    await withDeadline(probe.connect().then(() => probe.ping()), CONNECT_TIMEOUT_MS);
  } catch (e) {
    probe.disconnect();
    const why = socketError?.message ?? (e instanceof Error ? e.message : String(e));
    throw new DistributedError(
      `cannot reach the queue's Redis at ${redis.redacted}: ${why}`,
      'check the URL and that Redis runs there and accepts connections from this machine (`redis-cli -u URL ping`)',
      'UNREACHABLE',
    );
  }
  probe.disconnect();
  const client = new Redis(redis.options);
  client.on('error', () => undefined);
  return client;
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
