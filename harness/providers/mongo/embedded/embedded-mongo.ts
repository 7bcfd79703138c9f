import { connect } from 'node:net';
import { BSON } from 'bson';
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

/**
 * Port open, then `ping` answers `ok: 1` over OP_MSG: the wire protocol works. Written on the socket with the bson
 * package rather than the MongoDB driver, which the supervisor would load only for this (a quarter of a CPU-second);
 * the stages connect with the real driver, and wire.test.ts holds the server to the driver.
 */
const embeddedMongoReady: WaitStrategy = Wait.forAll(Wait.forListeningPort(), Wait.forProbe('OP_MSG ping', (ctx) => pingOnce(ctx.host, ctx.port)));

/** OP_MSG's opcode (MongoDB wire protocol). */
const OP_MSG = 2013;

/** Sends `{ ping: 1, $db: 'admin' }` as one OP_MSG and resolves when the reply says `ok: 1`. */
export function pingOnce(host: string, port: number, timeoutMs = 1_000): Promise<void> {
  const body = BSON.serialize({ ping: 1, $db: 'admin' });
  const msg = Buffer.alloc(21 + body.length);
  msg.writeInt32LE(msg.length, 0);
  msg.writeInt32LE(1, 4); // requestID
  msg.writeInt32LE(0, 8); // responseTo
  msg.writeInt32LE(OP_MSG, 12);
  msg.writeUInt32LE(0, 16); // flagBits
  msg.writeUInt8(0, 20); // section kind 0: the body
  Buffer.from(body.buffer, body.byteOffset, body.length).copy(msg, 21);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let got = Buffer.alloc(0);
    const fail = (e: Error) => (socket.destroy(), reject(e));
    socket.setTimeout(timeoutMs, () => fail(new Error(`no ping reply within ${timeoutMs} ms`)));
    socket.once('error', fail);
    socket.once('connect', () => socket.write(msg));
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 4 || got.length < got.readInt32LE(0)) return;
      socket.destroy();
      if (got.readInt32LE(12) !== OP_MSG || got.readUInt8(20) !== 0) return reject(new Error('the ping reply is not an OP_MSG with a body'));
      const reply = BSON.deserialize(got.subarray(21, got.readInt32LE(0)));
      if (reply.ok === 1) resolve();
      else reject(new Error(`ping answered ${JSON.stringify(reply)}`));
    });
  });
}
