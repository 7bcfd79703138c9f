import { MongoClient } from 'mongodb';
import type { BackendAvailability } from '../../choose-backend.ts';
import { startEmbeddedServer } from '../../embedded/embedded-process.ts';
import type { LocalProcessRunner } from '../../local-process-runner.ts';
import { Wait, type WaitStrategy } from '../../wait.ts';

const WHAT = "the twin's embedded MongoDB (wire-protocol server over mingo, a child Node process)";

/** Always available: it needs nothing but Node and this repository. */
export function embeddedMongoAvailability(): BackendAvailability {
  return { available: true, detail: `${WHAT} is the fallback` };
}

export interface EmbeddedMongo {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  readonly url: string;
  readonly detail: string;
}

/**
 * The twin's own MongoDB (`wire.ts` over `commands.ts`) in a private child process on a free port of 127.0.0.1,
 * ready once the real driver's `ping` answers. It journals every write in its data dir before acknowledging it, so
 * a SIGKILL of `pid` and a `restart()` keep every acknowledged write, as a mongod's data files do.
 */
export async function startEmbeddedMongo(opts: { startTimeoutMs: number }): Promise<EmbeddedMongo> {
  const s = await startEmbeddedServer({ component: 'mongo', entry: new URL('./embedded-mongo-main.ts', import.meta.url), ready: embeddedMongoReady, startTimeoutMs: opts.startTimeoutMs });
  return { runner: s.runner, port: s.port, url: mongoUrl(s.port), detail: `${WHAT} on 127.0.0.1:${s.port}, data in ${s.dataDir} (journaled: a kill keeps acknowledged writes)` };
}

function mongoUrl(port: number): string {
  return `mongodb://127.0.0.1:${port}/`;
}

/** Port open, then a driver connects and `ping` answers: the handshake and OP_MSG both work. */
const embeddedMongoReady: WaitStrategy = Wait.forAll(Wait.forListeningPort(), Wait.forProbe('driver ping', (ctx) => pingOnce(mongoUrl(ctx.port))));

async function pingOnce(url: string): Promise<void> {
  const client = new MongoClient(url, { directConnection: true, serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}
