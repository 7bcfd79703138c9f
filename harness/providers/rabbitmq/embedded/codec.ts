import { createRequire } from 'node:module';

/**
 * The AMQP 0-9-1 wire codec of the embedded broker, and the only file that reaches into amqplib's internals.
 *
 * The codec is not written here by hand: amqplib (already a dependency: the client every service and test uses)
 * ships the method and property codec generated from the protocol's XML spec in `lib/defs.js`, and frame parsing in
 * `lib/frame.js`. Reusing it means the broker and its clients agree on every field by construction. Those modules
 * are internal (untyped, no stability promise), so they are imported in this file only and given the types the
 * broker needs; an amqplib upgrade that moves them breaks this file alone.
 */
const require = createRequire(import.meta.url);
const defs = require('amqplib/lib/defs.js') as AmqplibDefs;
const framing = require('amqplib/lib/frame.js') as AmqplibFrame;
const tables = require('amqplib/lib/codec.js') as { decodeFields(buf: Buffer): Record<string, unknown> };

interface AmqplibDefs {
  readonly constants: Readonly<Record<string, number>>;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  encodeMethod(id: number, channel: number, fields: object): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
  info(id: number): { readonly name: string };
  readonly [method: string]: unknown;
}

interface AmqplibFrame {
  readonly PROTOCOL_HEADER: string;
  readonly HEARTBEAT_BUF: Buffer;
  parseFrame(buf: Buffer): { type: number; channel: number; size: number; payload: Buffer; rest: Buffer } | false;
  makeBodyFrame(channel: number, payload: Buffer): Buffer;
}

function methodId(name: string): number {
  const id = defs[name];
  if (typeof id !== 'number') throw new TypeError(`amqplib defs has no method ${name}`);
  return id;
}

/** The method ids (class id in the high 16 bits, method id in the low 16), as amqplib numbers them. */
export const M = {
  ConnectionStart: methodId('ConnectionStart'),
  ConnectionStartOk: methodId('ConnectionStartOk'),
  ConnectionTune: methodId('ConnectionTune'),
  ConnectionTuneOk: methodId('ConnectionTuneOk'),
  ConnectionOpen: methodId('ConnectionOpen'),
  ConnectionOpenOk: methodId('ConnectionOpenOk'),
  ConnectionClose: methodId('ConnectionClose'),
  ConnectionCloseOk: methodId('ConnectionCloseOk'),
  ChannelOpen: methodId('ChannelOpen'),
  ChannelOpenOk: methodId('ChannelOpenOk'),
  ChannelFlow: methodId('ChannelFlow'),
  ChannelFlowOk: methodId('ChannelFlowOk'),
  ChannelClose: methodId('ChannelClose'),
  ChannelCloseOk: methodId('ChannelCloseOk'),
  AccessRequest: methodId('AccessRequest'),
  AccessRequestOk: methodId('AccessRequestOk'),
  ExchangeDeclare: methodId('ExchangeDeclare'),
  ExchangeDeclareOk: methodId('ExchangeDeclareOk'),
  ExchangeDelete: methodId('ExchangeDelete'),
  ExchangeDeleteOk: methodId('ExchangeDeleteOk'),
  ExchangeBind: methodId('ExchangeBind'),
  ExchangeUnbind: methodId('ExchangeUnbind'),
  QueueDeclare: methodId('QueueDeclare'),
  QueueDeclareOk: methodId('QueueDeclareOk'),
  QueueBind: methodId('QueueBind'),
  QueueBindOk: methodId('QueueBindOk'),
  QueueUnbind: methodId('QueueUnbind'),
  QueueUnbindOk: methodId('QueueUnbindOk'),
  QueuePurge: methodId('QueuePurge'),
  QueuePurgeOk: methodId('QueuePurgeOk'),
  QueueDelete: methodId('QueueDelete'),
  QueueDeleteOk: methodId('QueueDeleteOk'),
  BasicQos: methodId('BasicQos'),
  BasicQosOk: methodId('BasicQosOk'),
  BasicConsume: methodId('BasicConsume'),
  BasicConsumeOk: methodId('BasicConsumeOk'),
  BasicCancel: methodId('BasicCancel'),
  BasicCancelOk: methodId('BasicCancelOk'),
  BasicPublish: methodId('BasicPublish'),
  BasicReturn: methodId('BasicReturn'),
  BasicDeliver: methodId('BasicDeliver'),
  BasicGet: methodId('BasicGet'),
  BasicGetOk: methodId('BasicGetOk'),
  BasicGetEmpty: methodId('BasicGetEmpty'),
  BasicAck: methodId('BasicAck'),
  BasicReject: methodId('BasicReject'),
  BasicRecoverAsync: methodId('BasicRecoverAsync'),
  BasicRecover: methodId('BasicRecover'),
  BasicRecoverOk: methodId('BasicRecoverOk'),
  BasicNack: methodId('BasicNack'),
  TxSelect: methodId('TxSelect'),
  TxCommit: methodId('TxCommit'),
  TxRollback: methodId('TxRollback'),
  ConfirmSelect: methodId('ConfirmSelect'),
  ConfirmSelectOk: methodId('ConfirmSelectOk'),
} as const;

/** Frame types and sizes (spec 4.2.3). */
export const FRAME = {
  METHOD: defs.constants.FRAME_METHOD!,
  HEADER: defs.constants.FRAME_HEADER!,
  BODY: defs.constants.FRAME_BODY!,
  HEARTBEAT: defs.constants.FRAME_HEARTBEAT!,
  END: defs.constants.FRAME_END!,
  MIN_SIZE: defs.constants.FRAME_MIN_SIZE!,
  /** Type, channel and size before the payload, frame-end after it. */
  OVERHEAD: 8,
} as const;

/** The class id of `basic`: the only class with content. */
export const BASIC_CLASS = 60;

/** `AMQP\0\0\9\1`: what a 0-9-1 client sends first, and what the server answers to any other header. */
export const PROTOCOL_HEADER = Buffer.from(framing.PROTOCOL_HEADER, 'latin1');
export const HEARTBEAT_FRAME: Buffer = framing.HEARTBEAT_BUF;

export interface Frame {
  readonly type: number;
  readonly channel: number;
  readonly payload: Buffer;
}

/** Thrown for bytes that are not a frame (a wrong frame-end octet). */
export class MalformedFrameError extends Error {}

/** The first complete frame in `buf` and what follows it, or undefined while the frame is still incomplete. */
export function parseFrame(buf: Buffer): { frame: Frame; rest: Buffer } | undefined {
  let parsed: ReturnType<AmqplibFrame['parseFrame']>;
  try {
    parsed = framing.parseFrame(buf);
  } catch (err) {
    throw new MalformedFrameError(err instanceof Error ? err.message : String(err));
  }
  if (parsed === false) return undefined;
  return { frame: { type: parsed.type, channel: parsed.channel, payload: parsed.payload }, rest: parsed.rest };
}

/** The whole size a frame at the start of `buf` claims (so an oversized one is refused before it is buffered). */
export function declaredFrameSize(buf: Buffer): number | undefined {
  return buf.length >= 7 ? buf.readUInt32BE(3) + FRAME.OVERHEAD : undefined;
}

/** A method frame's payload decoded: the id, and the fields by their amqplib names. Throws on malformed arguments. */
export function decodeMethod(payload: Buffer): { id: number; fields: Record<string, unknown> } {
  const id = payload.readUInt32BE(0);
  return { id, fields: defs.decode(id, payload.subarray(4)) };
}

/** A whole method frame. */
export function encodeMethod(id: number, channel: number, fields: object = {}): Buffer {
  return defs.encodeMethod(id, channel, fields);
}

/** `QueueDeclare` → class 50, method 10, as a Channel.Close or Connection.Close names the failed method. */
export function classAndMethod(id: number): { classId: number; methodId: number } {
  return { classId: id >>> 16, methodId: id & 0xffff };
}

/** amqplib's name of a method (`QueueDeclare`), for error texts. */
export function methodName(id: number): string {
  try {
    return defs.info(id).name;
  } catch {
    return `method ${id >>> 16}/${id & 0xffff}`;
  }
}

/** The basic properties the broker looks at (persistence, headers routing); all of them travel on as the encoded bytes. */
export interface BasicProperties {
  readonly headers?: Record<string, unknown>;
  readonly deliveryMode?: number;
}

/**
 * A content header's payload is class (2), weight (2), body size (8), then the property flags and list. The broker
 * keeps the flags-and-list part as bytes and hands it to consumers verbatim, so nothing a publisher set is lost or
 * re-typed on the way.
 */
const CONTENT_HEADER_PREFIX = 12;

export interface ContentHeader {
  readonly classId: number;
  readonly bodySize: number;
  /** The encoded property flags and list, copied out of the frame. */
  readonly properties: Buffer;
}

export function decodeContentHeader(payload: Buffer): ContentHeader {
  if (payload.length < CONTENT_HEADER_PREFIX + 2) throw new MalformedFrameError(`content header of ${payload.length} bytes is too short`);
  return { classId: payload.readUInt16BE(0), bodySize: Number(payload.readBigUInt64BE(4)), properties: Buffer.from(payload.subarray(CONTENT_HEADER_PREFIX)) };
}

export function decodeProperties(properties: Buffer): BasicProperties {
  return defs.decode(BASIC_CLASS, properties) as BasicProperties;
}

/** Properties encoded as a content header carries them (flags and list): what a publisher's frame would hold. */
export function encodeProperties(fields: object): Buffer {
  const frame = defs.encodeProperties(BASIC_CLASS, 0, 0, fields);
  return Buffer.from(frame.subarray(7 + CONTENT_HEADER_PREFIX, frame.length - 1));
}

/**
 * The content header and body frames of one message on `channel`, the body split so that no frame exceeds
 * `frameMax` (spec 4.2.6.2). The header is framed around the property bytes as they arrived rather than re-encoded
 * by `defs.encodeProperties`: amqplib decodes table values to plain numbers, so a re-encode would change a
 * publisher's header types (a 32-bit int coming back as a byte) for clients that keep them.
 */
export function contentFrames(channel: number, properties: Buffer, body: Buffer, frameMax: number): Buffer[] {
  const header = Buffer.allocUnsafe(7 + CONTENT_HEADER_PREFIX + properties.length + 1);
  header.writeUInt8(FRAME.HEADER, 0);
  header.writeUInt16BE(channel, 1);
  header.writeUInt32BE(CONTENT_HEADER_PREFIX + properties.length, 3);
  header.writeUInt16BE(BASIC_CLASS, 7);
  header.writeUInt16BE(0, 9);
  header.writeBigUInt64BE(BigInt(body.length), 11);
  properties.copy(header, 19);
  header.writeUInt8(FRAME.END, header.length - 1);
  const frames: Buffer[] = [header];
  const chunk = frameMax - FRAME.OVERHEAD;
  for (let offset = 0; offset < body.length; offset += chunk) frames.push(framing.makeBodyFrame(channel, body.subarray(offset, offset + chunk)));
  return frames;
}

/** A field table without its length prefix (the AMQPLAIN response). */
export function decodeTable(buf: Buffer): Record<string, unknown> {
  return tables.decodeFields(buf);
}
