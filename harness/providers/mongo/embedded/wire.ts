import { createServer, type Server, type Socket } from 'node:net';
import { BSON, type Document } from 'bson';

/**
 * The MongoDB wire protocol as the twin's embedded server speaks it: message framing (MsgHeader, OP_MSG with its
 * body and document-sequence sections, the legacy OP_QUERY a driver's first handshake still uses, answered with
 * OP_REPLY) and the connection loop that hands each command to a handler and writes its answer back.
 *
 * Documents are BSON through the `bson` package the driver itself uses; nothing here encodes BSON by hand.
 * Compression is never advertised, so a driver never sends OP_COMPRESSED; one that does gets an error reply.
 */

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_COMPRESSED = 2012;
export const OP_MSG = 2013;

/** OP_MSG flag bits. The low 16 are "required": a receiver must refuse ones it does not know. */
export const CHECKSUM_PRESENT = 1 << 0;
export const MORE_TO_COME = 1 << 1;
export const EXHAUST_ALLOWED = 1 << 16;
const KNOWN_REQUIRED_FLAGS = CHECKSUM_PRESENT | MORE_TO_COME;

/** The largest message accepted (mongod's `maxMessageSizeBytes`); a longer frame ends the connection. */
export const MAX_MESSAGE_SIZE_BYTES = 48_000_000;
const HEADER_SIZE = 16;

export interface MsgHeader {
  readonly messageLength: number;
  readonly requestId: number;
  readonly responseTo: number;
  readonly opCode: number;
}

/** An OP_MSG: the body (section kind 0) and the document sequences (kind 1) by identifier (`documents`, `updates`). */
export interface OpMsg {
  readonly kind: 'msg';
  readonly header: MsgHeader;
  readonly flagBits: number;
  readonly body: Document;
  readonly sequences: ReadonlyMap<string, Document[]>;
}

export interface OpQuery {
  readonly kind: 'query';
  readonly header: MsgHeader;
  readonly flags: number;
  readonly fullCollectionName: string;
  readonly numberToSkip: number;
  readonly numberToReturn: number;
  readonly query: Document;
}

/** Any other opcode (OP_COMPRESSED, the removed legacy OP_INSERT, OP_GET_MORE, ...): only its header is read. */
export interface OtherMessage {
  readonly kind: 'other';
  readonly header: MsgHeader;
}

export type WireMessage = OpMsg | OpQuery | OtherMessage;

/** The frame cannot be read; the connection ends, as mongod ends it. */
export class WireProtocolError extends Error {
  override readonly name = 'WireProtocolError';
}

/**
 * Splits a byte stream into whole messages. Chunks are kept as they arrive and joined once per message, so a large
 * message arriving in many chunks is copied once, not once per chunk.
 */
export class FrameReader {
  readonly #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(private readonly maxMessageSize: number = MAX_MESSAGE_SIZE_BYTES) {}

  /** The whole frames completed by `chunk` (none while a frame is partial). Throws on an impossible length. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.#buffered >= 4) {
      const length = this.#peekLength();
      if (length < HEADER_SIZE || length > this.maxMessageSize) throw new WireProtocolError(`message length ${length} is outside ${HEADER_SIZE}..${this.maxMessageSize}`);
      if (this.#buffered < length) break;
      frames.push(this.#take(length));
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get buffered(): number {
    return this.#buffered;
  }

  #peekLength(): number {
    const first = this.#chunks[0]!;
    return (first.length >= 4 ? first : Buffer.concat(this.#chunks, 4)).readInt32LE(0);
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let frame: Buffer;
    if (first.length >= n) {
      frame = first.subarray(0, n);
    } else {
      frame = Buffer.concat(this.#chunks, n);
    }
    this.#consume(n);
    return frame;
  }

  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      if (first.length <= n) {
        this.#chunks.shift();
        n -= first.length;
      } else {
        this.#chunks[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}

export function readHeader(frame: Buffer): MsgHeader {
  if (frame.length < HEADER_SIZE) throw new WireProtocolError(`a frame of ${frame.length} bytes has no header`);
  return { messageLength: frame.readInt32LE(0), requestId: frame.readInt32LE(4), responseTo: frame.readInt32LE(8), opCode: frame.readInt32LE(12) };
}

/** Reads one whole frame. Malformed sections or BSON throw a WireProtocolError. */
export function decodeMessage(frame: Buffer): WireMessage {
  const header = readHeader(frame);
  if (header.messageLength !== frame.length) throw new WireProtocolError(`header says ${header.messageLength} bytes, frame has ${frame.length}`);
  switch (header.opCode) {
    case OP_MSG:
      return decodeOpMsg(header, frame);
    case OP_QUERY:
      return decodeOpQuery(header, frame);
    default:
      return { kind: 'other', header };
  }
}

function decodeOpMsg(header: MsgHeader, frame: Buffer): OpMsg {
  const flagBits = frame.readUInt32LE(HEADER_SIZE);
  const unknown = flagBits & 0xffff & ~KNOWN_REQUIRED_FLAGS;
  if (unknown !== 0) throw new WireProtocolError(`OP_MSG has unknown required flag bits 0x${unknown.toString(16)}`);
  // A CRC-32C trails the sections when flagged; it is skipped, not verified (loopback TCP already checksums).
  const end = flagBits & CHECKSUM_PRESENT ? frame.length - 4 : frame.length;
  let body: Document | undefined;
  const sequences = new Map<string, Document[]>();
  let at = HEADER_SIZE + 4;
  while (at < end) {
    const kind = frame[at]!;
    at += 1;
    if (kind === 0) {
      if (body !== undefined) throw new WireProtocolError('OP_MSG has more than one body section');
      const size = bsonSizeAt(frame, at, end);
      body = deserialize(frame, at, size);
      at += size;
    } else if (kind === 1) {
      const size = int32At(frame, at, end);
      const sectionEnd = at + size;
      if (size < 5 || sectionEnd > end) throw new WireProtocolError(`OP_MSG document sequence of ${size} bytes overruns the message`);
      const nul = frame.indexOf(0, at + 4);
      if (nul < 0 || nul >= sectionEnd) throw new WireProtocolError('OP_MSG document sequence has no identifier');
      const identifier = frame.toString('utf8', at + 4, nul);
      const docs: Document[] = [];
      for (let d = nul + 1; d < sectionEnd; ) {
        const docSize = bsonSizeAt(frame, d, sectionEnd);
        docs.push(deserialize(frame, d, docSize));
        d += docSize;
      }
      sequences.set(identifier, docs);
      at = sectionEnd;
    } else {
      throw new WireProtocolError(`OP_MSG section kind ${kind} is unknown`);
    }
  }
  if (body === undefined) throw new WireProtocolError('OP_MSG has no body section');
  return { kind: 'msg', header, flagBits, body, sequences };
}

function decodeOpQuery(header: MsgHeader, frame: Buffer): OpQuery {
  const flags = int32At(frame, HEADER_SIZE, frame.length);
  const nul = frame.indexOf(0, HEADER_SIZE + 4);
  if (nul < 0) throw new WireProtocolError('OP_QUERY has no collection name');
  const fullCollectionName = frame.toString('utf8', HEADER_SIZE + 4, nul);
  const numberToSkip = int32At(frame, nul + 1, frame.length);
  const numberToReturn = int32At(frame, nul + 5, frame.length);
  const size = bsonSizeAt(frame, nul + 9, frame.length);
  // A returnFieldsSelector may follow; commands ignore it.
  return { kind: 'query', header, flags, fullCollectionName, numberToSkip, numberToReturn, query: deserialize(frame, nul + 9, size) };
}

function int32At(buf: Buffer, at: number, end: number): number {
  if (at + 4 > end) throw new WireProtocolError(`truncated message: no int32 at byte ${at}`);
  return buf.readInt32LE(at);
}

function bsonSizeAt(buf: Buffer, at: number, end: number): number {
  const size = int32At(buf, at, end);
  if (size < 5 || at + size > end) throw new WireProtocolError(`BSON document of ${size} bytes at byte ${at} overruns the message`);
  return size;
}

function deserialize(buf: Buffer, at: number, size: number): Document {
  try {
    return BSON.deserialize(buf.subarray(at, at + size));
  } catch (err) {
    throw new WireProtocolError(`invalid BSON at byte ${at}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_SIZE);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** `undefined` fields are left out rather than sent as null: a reply's optional fields (`writeErrors`) stay absent. */
const SERIALIZE = { ignoreUndefined: true } as const;

/** An OP_MSG: the body as section kind 0, then each sequence as a kind 1 section. */
export function encodeOpMsg(m: { requestId: number; responseTo: number; flagBits?: number; body: Document; sequences?: ReadonlyMap<string, readonly Document[]> }): Buffer {
  const flagBits = Buffer.alloc(4);
  flagBits.writeUInt32LE((m.flagBits ?? 0) >>> 0, 0);
  const parts: Uint8Array[] = [flagBits, Buffer.from([0]), BSON.serialize(m.body, SERIALIZE)];
  for (const [identifier, docs] of m.sequences ?? []) {
    const encoded = docs.map((d) => BSON.serialize(d, SERIALIZE));
    const name = Buffer.from(`${identifier}\0`, 'utf8');
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + name.length + encoded.reduce((n, d) => n + d.length, 0), 0);
    parts.push(Buffer.from([1]), size, name, ...encoded);
  }
  const length = HEADER_SIZE + parts.reduce((n, p) => n + p.length, 0);
  return Buffer.concat([header(length, m.requestId, m.responseTo, OP_MSG), ...parts], length);
}

/** An OP_REPLY carrying `documents` (the answer to an OP_QUERY command: one document, cursor id 0). */
export function encodeOpReply(m: { requestId: number; responseTo: number; responseFlags?: number; documents: readonly Document[] }): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeInt32LE(m.responseFlags ?? 0, 0);
  // cursorID (int64) and startingFrom stay 0.
  fixed.writeInt32LE(m.documents.length, 16);
  const docs = m.documents.map((d) => BSON.serialize(d, SERIALIZE));
  const length = HEADER_SIZE + fixed.length + docs.reduce((n, d) => n + d.length, 0);
  return Buffer.concat([header(length, m.requestId, m.responseTo, OP_REPLY), fixed, ...docs], length);
}

/** OP_REPLY's QueryFailure flag: the one document is `{ $err, code }`. */
export const QUERY_FAILURE = 1 << 1;

// ---------------------------------------------------------------------------------------------------------------
// Commands out of messages, replies back

/** One command as the handler sees it: the database, the command document (sequences merged in), the connection. */
export interface WireCommand {
  readonly db: string;
  readonly command: Document;
  readonly connectionId: number;
}

/** Answers a command with its reply document (`ok: 1` or MongoDB's error shape); never rejects for a command error. */
export type CommandHandler = (command: WireCommand) => Promise<Document>;

/** What to send back for one message: a reply, nothing (moreToCome), or the end of the connection. */
export type Response = { readonly reply: Buffer } | { readonly reply: undefined } | { readonly close: string };

/**
 * Turns one frame into the handler's command and its reply into a frame. OP_MSG carries any command (its `$db`
 * names the database); OP_QUERY only commands on `<db>.$cmd` (the driver's first `isMaster`), as mongod 6+ has it.
 */
export async function respond(frame: Buffer, connectionId: number, handle: CommandHandler, nextRequestId: () => number): Promise<Response> {
  let message: WireMessage;
  try {
    message = decodeMessage(frame);
  } catch (err) {
    return { close: err instanceof Error ? err.message : String(err) };
  }
  const { requestId } = message.header;
  switch (message.kind) {
    case 'msg': {
      const command: Document = { ...message.body };
      for (const [identifier, docs] of message.sequences) command[identifier] = docs;
      const db = command.$db;
      const answer = typeof db === 'string' && db !== '' ? await handle({ db, command, connectionId }) : commandError(40571, 'Location40571', 'OP_MSG requests require a $db argument');
      if (message.flagBits & MORE_TO_COME) return { reply: undefined };
      return { reply: encodeOpMsg({ requestId: nextRequestId(), responseTo: requestId, body: answer }) };
    }
    case 'query': {
      const { fullCollectionName, query } = message;
      const db = fullCollectionName.endsWith('.$cmd') ? fullCollectionName.slice(0, -'.$cmd'.length) : undefined;
      const reply = (documents: Document[], responseFlags = 0) => ({ reply: encodeOpReply({ requestId: nextRequestId(), responseTo: requestId, responseFlags, documents }) });
      if (db === undefined || db === '') return reply([{ $err: `Unsupported OP_QUERY on ${fullCollectionName}: only commands on <db>.$cmd are served`, code: 352, ok: 0 }], QUERY_FAILURE);
      // A command sent with a read preference arrives wrapped: { $query: { ... }, $readPreference: ... }.
      const command = isPlainObject(query.$query) ? { ...query.$query } : { ...query };
      return reply([await handle({ db, command, connectionId })]);
    }
    case 'other':
      if (message.header.opCode === OP_COMPRESSED) {
        return { reply: encodeOpMsg({ requestId: nextRequestId(), responseTo: requestId, body: commandError(2, 'BadValue', 'OP_COMPRESSED is not supported: this server advertises no compressors') }) };
      }
      return { close: `opcode ${message.header.opCode} is not supported (legacy opcodes were removed in MongoDB 5.1 and later)` };
  }
}

/** MongoDB's command error document. */
export function commandError(code: number, codeName: string, errmsg: string): Document {
  return { ok: 0, errmsg, code, codeName };
}

function isPlainObject(v: unknown): v is Document {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && (v as object).constructor === Object;
}

// ---------------------------------------------------------------------------------------------------------------
// The socket loop

export interface WireServer {
  readonly port: number;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

/**
 * Listens on host:port and serves each connection in order: a connection's messages are answered one after
 * another (as mongod answers them), connections independently of each other.
 */
export async function serveWire(opts: { host: string; port: number; handle: CommandHandler; maxMessageSize?: number }): Promise<WireServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let requests = 0;
  const nextRequestId = () => (requests = (requests + 1) | 0);
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, ++connections, opts.handle, nextRequestId, opts.maxMessageSize);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : opts.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function serveConnection(socket: Socket, connectionId: number, handle: CommandHandler, nextRequestId: () => number, maxMessageSize: number | undefined): void {
  socket.setNoDelay(true);
  const reader = new FrameReader(maxMessageSize);
  let queue: Promise<void> = Promise.resolve();
  // A peer that vanishes mid-reply is the peer's problem: the error only ends this connection.
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    let frames: Buffer[];
    try {
      frames = reader.push(chunk);
    } catch {
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      queue = queue
        .then(async () => {
          if (socket.destroyed) return;
          const r = await respond(frame, connectionId, handle, nextRequestId);
          if ('close' in r) socket.destroy();
          else if (r.reply !== undefined) socket.write(r.reply);
        })
        // A handler that breaks its promise never to reject leaves the client no answer to wait for: end the connection.
        .catch(() => {
          socket.destroy();
        });
    }
  });
}
