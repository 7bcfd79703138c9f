import { connect } from 'node:net';
import { BSON, type Document } from 'bson';
import { describe, expect, it } from 'vitest';
import { CHECKSUM_PRESENT, decodeMessage, encodeOpMsg, encodeOpReply, EXHAUST_ALLOWED, FrameReader, MORE_TO_COME, OP_COMPRESSED, OP_MSG, OP_QUERY, OP_REPLY, QUERY_FAILURE, readHeader, respond, serveWire, WireProtocolError, type CommandHandler, type OpMsg, type WireCommand } from './wire.ts';

/** An OP_QUERY as a driver's first handshake sends it (built by hand: the server never sends one). */
function opQuery(requestId: number, fullCollectionName: string, query: Document): Buffer {
  const name = Buffer.from(`${fullCollectionName}\0`);
  const fixed = Buffer.alloc(4);
  const counts = Buffer.alloc(8);
  counts.writeInt32LE(-1, 4);
  const body = Buffer.concat([fixed, name, counts, BSON.serialize(query)]);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(OP_QUERY, 12);
  return Buffer.concat([header, body]);
}

/** The documents of an OP_REPLY, and its flags. */
function readOpReply(frame: Buffer): { responseTo: number; responseFlags: number; documents: Document[] } {
  const h = readHeader(frame);
  expect(h.opCode).toBe(OP_REPLY);
  const documents: Document[] = [];
  let at = 36;
  for (let i = 0; i < frame.readInt32LE(32); i++) {
    const size = frame.readInt32LE(at);
    documents.push(BSON.deserialize(frame.subarray(at, at + size)));
    at += size;
  }
  return { responseTo: h.responseTo, responseFlags: frame.readInt32LE(16), documents };
}

function replyBody(r: Awaited<ReturnType<typeof respond>>): Document {
  if (!('reply' in r) || r.reply === undefined) throw new Error(`expected a reply, got ${JSON.stringify(r)}`);
  return (decodeMessage(r.reply) as OpMsg).body;
}

/** A handler that records what it was given and answers `{ echoed: <command name> }`. */
function recording(): { handle: CommandHandler; seen: WireCommand[] } {
  const seen: WireCommand[] = [];
  return { seen, handle: async (c) => (seen.push(c), { echoed: Object.keys(c.command)[0], ok: 1 }) };
}

let ids = 0;
const nextId = () => ++ids;

describe('OP_MSG framing', () => {
  it('round-trips the header, the flag bits, the body and kind-1 document sequences', () => {
    const documents = [{ _id: 1, n: 'a' }, { _id: 2, nested: { at: new Date(0) } }];
    const frame = encodeOpMsg({ requestId: 7, responseTo: 3, flagBits: EXHAUST_ALLOWED, body: { insert: 'builds', $db: 'circle' }, sequences: new Map([['documents', documents]]) });
    expect(readHeader(frame)).toEqual({ messageLength: frame.length, requestId: 7, responseTo: 3, opCode: OP_MSG });
    const m = decodeMessage(frame) as OpMsg;
    expect(m.kind).toBe('msg');
    expect(m.flagBits).toBe(EXHAUST_ALLOWED);
    expect(m.body).toEqual({ insert: 'builds', $db: 'circle' });
    expect(m.sequences.get('documents')).toEqual(documents);
  });

  it('skips a trailing CRC-32C when checksumPresent is set', () => {
    const plain = encodeOpMsg({ requestId: 1, responseTo: 0, flagBits: CHECKSUM_PRESENT, body: { ping: 1, $db: 'admin' } });
    const withCrc = Buffer.concat([plain, Buffer.from([0xde, 0xad, 0xbe, 0xef])]);
    withCrc.writeInt32LE(withCrc.length, 0);
    expect((decodeMessage(withCrc) as OpMsg).body).toEqual({ ping: 1, $db: 'admin' });
  });

  it('refuses unknown required flag bits, a missing body, and a section overrunning the message', () => {
    const unknownFlag = encodeOpMsg({ requestId: 1, responseTo: 0, flagBits: 1 << 5, body: { ping: 1 } });
    expect(() => decodeMessage(unknownFlag)).toThrow(/unknown required flag bits 0x20/);
    const noBody = Buffer.alloc(20);
    noBody.writeInt32LE(20, 0);
    noBody.writeInt32LE(OP_MSG, 12);
    expect(() => decodeMessage(noBody)).toThrow(/no body section/);
    const overrun = encodeOpMsg({ requestId: 1, responseTo: 0, body: { ping: 1 } });
    overrun.writeInt32LE(500, 21);
    expect(() => decodeMessage(overrun)).toThrow(WireProtocolError);
  });

  it('encodes OP_REPLY with its flags and documents', () => {
    const frame = encodeOpReply({ requestId: 9, responseTo: 4, responseFlags: QUERY_FAILURE, documents: [{ $err: 'x' }, { b: 2 }] });
    expect(readOpReply(frame)).toEqual({ responseTo: 4, responseFlags: QUERY_FAILURE, documents: [{ $err: 'x' }, { b: 2 }] });
  });
});

describe('FrameReader', () => {
  const a = encodeOpMsg({ requestId: 1, responseTo: 0, body: { ping: 1, $db: 'admin' } });
  const b = encodeOpMsg({ requestId: 2, responseTo: 0, body: { find: 'x', filter: { s: 'long'.repeat(100) }, $db: 'db' } });

  it('splits two messages arriving in one chunk', () => {
    const frames = new FrameReader().push(Buffer.concat([a, b]));
    expect(frames.map((f) => readHeader(f).requestId)).toEqual([1, 2]);
  });

  it('holds a partial frame, even a partial length prefix, until the rest arrives', () => {
    const reader = new FrameReader();
    const stream = Buffer.concat([a, b]);
    const seen: number[] = [];
    for (let i = 0; i < stream.length; i++) {
      for (const f of reader.push(stream.subarray(i, i + 1))) seen.push((decodeMessage(f) as OpMsg).header.requestId);
      if (i === 2) expect(reader.buffered).toBe(3);
    }
    expect(seen).toEqual([1, 2]);
    expect(reader.buffered).toBe(0);
  });

  it('rejects a length shorter than a header or longer than the maximum', () => {
    const tooShort = Buffer.alloc(8);
    tooShort.writeInt32LE(8, 0);
    expect(() => new FrameReader().push(tooShort)).toThrow(/outside 16\.\.48000000/);
    const tooLong = Buffer.alloc(4);
    tooLong.writeInt32LE(1_000, 0);
    expect(() => new FrameReader(999).push(tooLong)).toThrow(/1000 is outside/);
  });
});

describe('respond: messages to commands and back', () => {
  it('merges document sequences into the command, takes the database from $db, and answers OP_MSG with responseTo', async () => {
    const { handle, seen } = recording();
    const frame = encodeOpMsg({ requestId: 41, responseTo: 0, body: { insert: 'c', $db: 'circle' }, sequences: new Map([['documents', [{ a: 1 }, { a: 2 }]]]) });
    const r = await respond(frame, 5, handle, nextId);
    expect(seen).toEqual([{ db: 'circle', connectionId: 5, command: { insert: 'c', $db: 'circle', documents: [{ a: 1 }, { a: 2 }] } }]);
    if (!('reply' in r) || !r.reply) throw new Error('no reply');
    expect(readHeader(r.reply).responseTo).toBe(41);
    expect(replyBody(r)).toEqual({ echoed: 'insert', ok: 1 });
  });

  it('runs a moreToCome message without replying (an unacknowledged write)', async () => {
    const { handle, seen } = recording();
    const r = await respond(encodeOpMsg({ requestId: 1, responseTo: 0, flagBits: MORE_TO_COME, body: { delete: 'c', $db: 'd' } }), 1, handle, nextId);
    expect(r).toEqual({ reply: undefined });
    expect(seen).toHaveLength(1);
  });

  it('answers OP_MSG without $db with MongoDB error 40571, without calling the handler', async () => {
    const { handle, seen } = recording();
    const r = await respond(encodeOpMsg({ requestId: 1, responseTo: 0, body: { ping: 1 } }), 1, handle, nextId);
    expect(replyBody(r)).toMatchObject({ ok: 0, code: 40571 });
    expect(seen).toHaveLength(0);
  });

  it('answers the legacy OP_QUERY handshake on admin.$cmd with OP_REPLY, unwrapping $query', async () => {
    const { handle, seen } = recording();
    const plain = await respond(opQuery(12, 'admin.$cmd', { isMaster: 1, helloOk: true }), 3, handle, nextId);
    if (!('reply' in plain) || !plain.reply) throw new Error('no reply');
    expect(readOpReply(plain.reply)).toEqual({ responseTo: 12, responseFlags: 0, documents: [{ echoed: 'isMaster', ok: 1 }] });
    await respond(opQuery(13, 'circle.$cmd', { $query: { count: 'builds' }, $readPreference: { mode: 'primary' } }), 3, handle, nextId);
    expect(seen.map((c) => [c.db, c.command])).toEqual([
      ['admin', { isMaster: 1, helloOk: true }],
      ['circle', { count: 'builds' }],
    ]);
  });

  it('refuses an OP_QUERY that is not a command with QueryFailure', async () => {
    const { handle, seen } = recording();
    const r = await respond(opQuery(1, 'circle.builds', { status: 'running' }), 1, handle, nextId);
    if (!('reply' in r) || !r.reply) throw new Error('no reply');
    const { responseFlags, documents } = readOpReply(r.reply);
    expect(responseFlags & QUERY_FAILURE).toBe(QUERY_FAILURE);
    expect(documents[0]).toMatchObject({ code: 352 });
    expect(seen).toHaveLength(0);
  });

  it('answers OP_COMPRESSED with an error and closes on removed legacy opcodes and bad BSON', async () => {
    const { handle } = recording();
    const compressed = Buffer.alloc(25);
    compressed.writeInt32LE(25, 0);
    compressed.writeInt32LE(OP_COMPRESSED, 12);
    expect(replyBody(await respond(compressed, 1, handle, nextId))).toMatchObject({ ok: 0, errmsg: expect.stringMatching(/OP_COMPRESSED is not supported/) });
    const opInsert = Buffer.alloc(16);
    opInsert.writeInt32LE(16, 0);
    opInsert.writeInt32LE(2002, 12);
    expect(await respond(opInsert, 1, handle, nextId)).toEqual({ close: expect.stringMatching(/opcode 2002 is not supported/) });
    const bad = encodeOpMsg({ requestId: 1, responseTo: 0, body: { ping: 1, $db: 'x' } });
    bad[bad.length - 1] = 7; // the body's terminating NUL
    expect(await respond(bad, 1, handle, nextId)).toEqual({ close: expect.stringMatching(/invalid BSON/) });
  });
});

describe('serveWire', () => {
  it('answers pipelined messages of one connection in order, across partial writes, and counts connections', async () => {
    const server = await serveWire({ host: '127.0.0.1', port: 0, handle: async (c) => ({ n: c.command.n, connectionId: c.connectionId, ok: 1 }) });
    try {
      const socket = connect(server.port, '127.0.0.1');
      const reader = new FrameReader();
      const bodies: Document[] = [];
      const done = new Promise<void>((resolve) =>
        socket.on('data', (chunk: Buffer) => {
          for (const f of reader.push(chunk)) bodies.push((decodeMessage(f) as OpMsg).body);
          if (bodies.length === 3) resolve();
        }),
      );
      const stream = Buffer.concat([1, 2, 3].map((n) => encodeOpMsg({ requestId: n, responseTo: 0, body: { ping: 1, n, $db: 'admin' } })));
      socket.write(stream.subarray(0, 30));
      await new Promise((r) => setTimeout(r, 20));
      socket.write(stream.subarray(30));
      await done;
      expect(bodies).toEqual([1, 2, 3].map((n) => ({ n, connectionId: 1, ok: 1 })));
      socket.destroy();
    } finally {
      await server.close();
    }
  });
});
