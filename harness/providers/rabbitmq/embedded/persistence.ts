import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A durable exchange as the journal keeps it (the built-in ones are never journaled). */
export interface ExchangeRecord {
  readonly name: string;
  readonly type: string;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: Record<string, unknown>;
}

/** A durable, non-exclusive queue. */
export interface QueueRecord {
  readonly name: string;
  readonly autoDelete: boolean;
  readonly arguments: Record<string, unknown>;
}

/** A binding between a durable exchange and a durable queue. */
export interface BindingRecord {
  readonly exchange: string;
  readonly queue: string;
  readonly routingKey: string;
  readonly arguments: Record<string, unknown>;
}

/** A message as published: `properties` are the encoded basic properties, passed to consumers verbatim. */
export interface MessageRecord {
  readonly id: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly properties: Buffer;
  readonly body: Buffer;
}

/** What a restart finds: durable exchanges, queues (each with its persistent messages in order) and bindings. */
export interface RecoveredState {
  readonly exchanges: readonly ExchangeRecord[];
  readonly queues: ReadonlyArray<QueueRecord & { readonly messages: ReadonlyArray<{ readonly message: MessageRecord; readonly redelivered: boolean }> }>;
  readonly bindings: readonly BindingRecord[];
}

/**
 * Where the broker writes what must outlive its process. Declarations, deletions and bindings are written at once
 * (before their -ok is sent); message records are buffered and written by `flush()`, which the broker calls before
 * it sends any publisher confirm, so a confirmed persistent message is on disk.
 */
export interface Journal {
  exchangeDeclared(x: ExchangeRecord): void;
  exchangeDeleted(name: string): void;
  queueDeclared(q: QueueRecord): void;
  queueDeleted(name: string): void;
  bound(b: BindingRecord): void;
  unbound(b: BindingRecord): void;
  /** A persistent message entered these durable queues. */
  enqueued(message: MessageRecord, queues: readonly string[]): void;
  /** Messages left a durable queue for good (acknowledged, rejected without requeue, purged, taken with no-ack). */
  removed(queue: string, ids: readonly number[]): void;
  flush(): void;
  /**
   * A graceful shutdown: records which messages had been delivered before (their `redelivered` flag), then closes.
   * Without this record, a restart treats every recovered message as possibly delivered, as RabbitMQ does after a crash.
   */
  close(redelivered: ReadonlyArray<{ readonly queue: string; readonly id: number }>): void;
}

/** The journal of a broker that keeps nothing (unit tests): every call is a no-op. */
export const NO_JOURNAL: Journal = {
  exchangeDeclared: () => undefined,
  exchangeDeleted: () => undefined,
  queueDeclared: () => undefined,
  queueDeleted: () => undefined,
  bound: () => undefined,
  unbound: () => undefined,
  enqueued: () => undefined,
  removed: () => undefined,
  flush: () => undefined,
  close: () => undefined,
};

const LOG_FILE = 'journal.log';
const COMPACTING_FILE = 'journal.log.compacting';

/**
 * Opens the journal in `dataDir`: replays the log (a torn record at its end, from a kill mid-write, is dropped),
 * rewrites it compacted to the live state (temp file, then rename), and appends to it from then on.
 *
 * Writes go to the kernel with `writeSync` and are not fsynced: they survive the death of the broker's process
 * (SIGKILL), which is the fault the twin injects, but not a crash of the machine.
 */
export function openJournal(dataDir: string): { journal: Journal; recovered: RecoveredState } {
  mkdirSync(dataDir, { recursive: true });
  const logPath = join(dataDir, LOG_FILE);
  const state = new ReplayedState();
  if (existsSync(logPath)) for (const r of readRecords(readFileSync(logPath))) state.apply(r.head, r.blob);
  const compacting = join(dataDir, COMPACTING_FILE);
  const fd = openSync(compacting, 'w');
  try {
    writeFully(fd, Buffer.concat(state.snapshot()));
  } finally {
    closeSync(fd);
  }
  renameSync(compacting, logPath);
  return { journal: new FileJournal(openSync(logPath, 'a')), recovered: state.recovered() };
}

/** One journal record: a JSON head and an optional blob (a message's properties and body). */
type Head =
  | { t: 'x+'; x: ExchangeRecord }
  | { t: 'x-'; name: string }
  | { t: 'q+'; q: QueueRecord }
  | { t: 'q-'; name: string }
  | { t: 'b+'; b: BindingRecord }
  | { t: 'b-'; b: BindingRecord }
  | { t: 'm'; id: number; exchange: string; routingKey: string; propertiesLength: number; queues: string[] }
  | { t: 'r'; queue: string; ids: number[] }
  | { t: 'clean'; redelivered: Array<[string, number]> };

/** [head length u32][blob length u32][head JSON][blob]: the lengths let a reader tell a torn tail from a record. */
function encodeRecord(head: Head, blob: readonly Buffer[] = []): Buffer[] {
  const json = Buffer.from(JSON.stringify(head));
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(json.length, 0);
  prefix.writeUInt32BE(blob.reduce((n, b) => n + b.length, 0), 4);
  return [prefix, json, ...blob];
}

function* readRecords(buf: Buffer): Generator<{ head: Head; blob: Buffer }> {
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const headLength = buf.readUInt32BE(offset);
    const blobLength = buf.readUInt32BE(offset + 4);
    const end = offset + 8 + headLength + blobLength;
    if (end > buf.length) return;
    let head: Head;
    try {
      head = JSON.parse(buf.toString('utf8', offset + 8, offset + 8 + headLength)) as Head;
    } catch {
      return;
    }
    // Copied: the recovered messages must not keep the whole log file alive.
    yield { head, blob: Buffer.from(buf.subarray(offset + 8 + headLength, end)) };
    offset = end;
  }
}

function bindingKey(b: BindingRecord): string {
  return JSON.stringify([b.exchange, b.queue, b.routingKey, b.arguments]);
}

/** The durable state the log describes, built by applying its records in order. */
class ReplayedState {
  readonly #exchanges = new Map<string, ExchangeRecord>();
  readonly #queues = new Map<string, { record: QueueRecord; messages: Map<number, MessageRecord> }>();
  readonly #bindings = new Map<string, BindingRecord>();
  /** The delivered messages (`queue\0id`) named by a clean shutdown that ended the log; undefined after a crash. */
  #delivered: Set<string> | undefined;

  apply(head: Head, blob: Buffer): void {
    this.#delivered = undefined;
    switch (head.t) {
      case 'x+':
        this.#exchanges.set(head.x.name, head.x);
        return;
      case 'x-':
        this.#exchanges.delete(head.name);
        for (const [k, b] of this.#bindings) if (b.exchange === head.name) this.#bindings.delete(k);
        return;
      case 'q+':
        this.#queues.set(head.q.name, { record: head.q, messages: new Map() });
        return;
      case 'q-':
        this.#queues.delete(head.name);
        for (const [k, b] of this.#bindings) if (b.queue === head.name) this.#bindings.delete(k);
        return;
      case 'b+':
        this.#bindings.set(bindingKey(head.b), head.b);
        return;
      case 'b-':
        this.#bindings.delete(bindingKey(head.b));
        return;
      case 'm': {
        const message: MessageRecord = { id: head.id, exchange: head.exchange, routingKey: head.routingKey, properties: blob.subarray(0, head.propertiesLength), body: blob.subarray(head.propertiesLength) };
        for (const q of head.queues) this.#queues.get(q)?.messages.set(head.id, message);
        return;
      }
      case 'r': {
        const messages = this.#queues.get(head.queue)?.messages;
        for (const id of head.ids) messages?.delete(id);
        return;
      }
      case 'clean':
        this.#delivered = new Set(head.redelivered.map(([q, id]) => `${q}\0${id}`));
        return;
    }
  }

  recovered(): RecoveredState {
    const delivered = this.#delivered;
    return {
      exchanges: [...this.#exchanges.values()],
      bindings: [...this.#bindings.values()],
      queues: [...this.#queues.values()].map(({ record, messages }) => ({
        ...record,
        messages: [...messages.values()].map((message) => ({ message, redelivered: delivered === undefined || delivered.has(`${record.name}\0${message.id}`) })),
      })),
    };
  }

  /**
   * The records that rebuild this state: the compacted log. It ends without a clean-shutdown record, so if this run
   * is killed, the next start counts every message as possibly delivered; a graceful stop writes a fresh one.
   */
  snapshot(): Buffer[] {
    const out: Buffer[] = [];
    for (const x of this.#exchanges.values()) out.push(...encodeRecord({ t: 'x+', x }));
    const messages = new Map<number, { message: MessageRecord; queues: string[] }>();
    for (const { record, messages: held } of this.#queues.values()) {
      out.push(...encodeRecord({ t: 'q+', q: record }));
      for (const m of held.values()) {
        const entry = messages.get(m.id) ?? { message: m, queues: [] };
        entry.queues.push(record.name);
        messages.set(m.id, entry);
      }
    }
    for (const b of this.#bindings.values()) out.push(...encodeRecord({ t: 'b+', b }));
    for (const { message, queues } of [...messages.values()].sort((a, b) => a.message.id - b.message.id)) out.push(...messageRecord(message, queues));
    return out;
  }
}

function messageRecord(m: MessageRecord, queues: string[]): Buffer[] {
  return encodeRecord({ t: 'm', id: m.id, exchange: m.exchange, routingKey: m.routingKey, propertiesLength: m.properties.length, queues }, [m.properties, m.body]);
}

function writeFully(fd: number, buf: Buffer): void {
  for (let offset = 0; offset < buf.length; ) offset += writeSync(fd, buf, offset);
}

/** The append-only log of a broker with a data dir. */
class FileJournal implements Journal {
  #pending: Buffer[] = [];
  #fd: number | undefined;

  constructor(fd: number) {
    this.#fd = fd;
  }

  exchangeDeclared(x: ExchangeRecord): void {
    this.#writeNow({ t: 'x+', x });
  }
  exchangeDeleted(name: string): void {
    this.#writeNow({ t: 'x-', name });
  }
  queueDeclared(q: QueueRecord): void {
    this.#writeNow({ t: 'q+', q });
  }
  queueDeleted(name: string): void {
    this.#writeNow({ t: 'q-', name });
  }
  bound(b: BindingRecord): void {
    this.#writeNow({ t: 'b+', b });
  }
  unbound(b: BindingRecord): void {
    this.#writeNow({ t: 'b-', b });
  }
  enqueued(message: MessageRecord, queues: readonly string[]): void {
    this.#pending.push(...messageRecord(message, [...queues]));
  }
  removed(queue: string, ids: readonly number[]): void {
    if (ids.length > 0) this.#pending.push(...encodeRecord({ t: 'r', queue, ids: [...ids] }));
  }

  flush(): void {
    if (this.#pending.length === 0 || this.#fd === undefined) return;
    const buf = Buffer.concat(this.#pending);
    this.#pending = [];
    writeFully(this.#fd, buf);
  }

  close(redelivered: ReadonlyArray<{ readonly queue: string; readonly id: number }>): void {
    if (this.#fd === undefined) return;
    this.#pending.push(...encodeRecord({ t: 'clean', redelivered: redelivered.map((r) => [r.queue, r.id]) }));
    this.flush();
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  /** Buffered message records first, so the log keeps the order in which things happened. */
  #writeNow(head: Head): void {
    this.#pending.push(...encodeRecord(head));
    this.flush();
  }
}
