import type { BackendAvailability } from '../../choose-backend.ts';
import { startEmbeddedServer } from '../../embedded/embedded-process.ts';
import type { LocalProcessRunner } from '../../local-process-runner.ts';
import { redisReady } from '../local-redis.ts';

const WHAT = "the twin's embedded Redis (RESP2 server in a child Node process)";

/** Always available: it needs nothing but Node and this repository. */
export function embeddedRedisAvailability(): BackendAvailability {
  return { available: true, detail: WHAT };
}

export interface EmbeddedRedis {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  readonly detail: string;
}

/**
 * The twin's own Redis (`resp-server.ts`) in a private child process on a free port of 127.0.0.1, ready once PING
 * answers, exactly as a private redis-server is. It holds everything in memory: a SIGKILL, and a graceful
 * `restart()` too, starts it empty.
 */
export async function startEmbeddedRedis(opts: { startTimeoutMs: number }): Promise<EmbeddedRedis> {
  const s = await startEmbeddedServer({ component: 'redis', entry: new URL('./embedded-redis-main.ts', import.meta.url), ready: redisReady, startTimeoutMs: opts.startTimeoutMs });
  return { runner: s.runner, port: s.port, detail: `${WHAT} on 127.0.0.1:${s.port}, in memory only (a kill or a restart empties it), dir ${s.tempDir}` };
}
