import { randomBytes } from 'node:crypto';
import { decodeProperties } from './codec.ts';
import { NO_JOURNAL, type BindingRecord, type ExchangeRecord, type Journal, type MessageRecord, type RecoveredState } from './persistence.ts';

/**
 * The embedded broker's state: one vhost (`/`) with its exchanges, queues, bindings, consumers and unacknowledged
 * deliveries, following RabbitMQ 3.10's semantics and error texts. No sockets here: `connection.ts` turns frames into
 * calls on a `BrokerChannel` and the `ChannelSink` calls back into frames, so the rules are testable on their own.
 *
 * Work is settled in turns: a connection handles everything a socket read brought, then calls `settle()`, which
 * dispatches to consumers, writes the journal and only then sends publisher confirms.
 */

const REPLY_NAMES: Readonly<Record<number, string>> = {
  312: 'NO_ROUTE',
  320: 'CONNECTION_FORCED',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

/** A protocol exception (spec 1.2): `message` is the reply text RabbitMQ sends, `NOT_FOUND - no queue 'x' in vhost '/'`. */
export class AmqpError extends Error {
  constructor(
    readonly code: number,
    detail: string,
  ) {
    super(`${REPLY_NAMES[code] ?? 'INTERNAL_ERROR'} - ${detail}`);
    this.name = 'AmqpError';
  }

  /** Soft errors (4xx) close the channel; hard ones (3xx, 5xx) close the connection. */
  get closesConnection(): boolean {
    return this.code < 400 || this.code >= 500;
  }
}

const VHOST = `vhost '/'`;
const queueName = (name: string) => `queue '${name}' in ${VHOST}`;
const exchangeName = (name: string) => `exchange '${name}' in ${VHOST}`;

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers';
const EXCHANGE_TYPES: ReadonlySet<string> = new Set<ExchangeType>(['direct', 'fanout', 'topic', 'headers']);

/** The exchanges every RabbitMQ vhost has; they cannot be deleted and are never journaled. */
const BUILT_IN_EXCHANGES: ReadonlyArray<[string, ExchangeType]> = [
  ['', 'direct'],
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
];

/**
 * The queue arguments RabbitMQ compares when a queue is declared again. They are kept and compared only: TTLs,
 * length limits, dead-lettering, priorities and queue types are not acted on by this broker.
 */
const EQUIVALENCE_ARGS: ReadonlySet<string> = new Set([
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-priority',
  'x-overflow',
  'x-queue-mode',
  'x-queue-type',
  'x-single-active-consumer',
  'x-delivery-limit',
]);

export interface Message extends MessageRecord {
  /** delivery-mode 2: journaled when it enters a durable queue. */
  readonly persistent: boolean;
}

/** Receives what the broker sends on a channel without being asked: deliveries, returns, confirms, cancels. */
export interface ChannelSink {
  deliver(consumerTag: string, deliveryTag: number, redelivered: boolean, message: Message): void;
  /** Basic.Return (312 NO_ROUTE) of a mandatory message no queue took. */
  returnUnroutable(message: Message): void;
  /** A publisher confirm: the publish numbered `deliveryTag`, and every earlier one too when `multiple`. */
  confirm(deliveryTag: number, multiple: boolean): void;
  /** Basic.Cancel from the server: the consumer's queue was deleted. */
  cancelConsumer(consumerTag: string): void;
}

export interface QueueDeclare {
  readonly queue: string;
  readonly passive?: boolean;
  readonly durable?: boolean;
  readonly exclusive?: boolean;
  readonly autoDelete?: boolean;
  readonly arguments?: Record<string, unknown>;
}

export interface QueueStats {
  readonly queue: string;
  /** Ready messages: unacknowledged ones are not counted, as in RabbitMQ. */
  readonly messageCount: number;
  readonly consumerCount: number;
}

export interface ExchangeDeclare {
  readonly exchange: string;
  readonly type: string;
  readonly passive?: boolean;
  readonly durable?: boolean;
  readonly autoDelete?: boolean;
  readonly internal?: boolean;
  readonly arguments?: Record<string, unknown>;
}

export interface Publish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory?: boolean;
  readonly immediate?: boolean;
}

export interface Consume {
  readonly queue: string;
  readonly consumerTag?: string;
  readonly noAck?: boolean;
  readonly exclusive?: boolean;
}

export interface GetOk {
  readonly deliveryTag: number;
  readonly redelivered: boolean;
  readonly message: Message;
  /** Ready messages left in the queue. */
  readonly messageCount: number;
}

/** A message in one queue: its place (`seq`, so requeued messages go back in order) and whether it is journaled there. */
interface Entry {
  readonly message: Message;
  readonly seq: number;
  readonly journaled: boolean;
  redelivered: boolean;
}

/** A queue's ready messages: appended at the tail, taken from the head, requeued into their original places. */
class ReadyList {
  #items: Array<Entry | undefined> = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(e: Entry): void {
    this.#items.push(e);
  }

  shift(): Entry | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const e = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return e;
  }

  /** Puts requeued entries back by `seq`: RabbitMQ 3.10 restores the order they were published in. */
  requeue(entries: readonly Entry[]): void {
    const back = [...entries].sort((a, b) => a.seq - b.seq);
    const first = this.#items[this.#head];
    // The usual case, all older than every ready message: into the free slots before the head, without copying the queue.
    if (back.length <= this.#head && (first === undefined || back[back.length - 1]!.seq < first.seq)) {
      this.#head -= back.length;
      back.forEach((e, i) => (this.#items[this.#head + i] = e));
      return;
    }
    const ready = this.drain();
    const merged: Entry[] = [];
    let i = 0;
    for (const e of ready) {
      while (i < back.length && back[i]!.seq < e.seq) merged.push(back[i++]!);
      merged.push(e);
    }
    while (i < back.length) merged.push(back[i++]!);
    this.#items = merged;
  }

  drain(): Entry[] {
    const all = this.#items.slice(this.#head) as Entry[];
    this.#items = [];
    this.#head = 0;
    return all;
  }

  *[Symbol.iterator](): IterableIterator<Entry> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i]!;
  }
}

export class Queue {
  readonly ready = new ReadyList();
  readonly consumers: Consumer[] = [];
  deleted = false;
  #nextConsumer = 0;
  #seq = 0;

  constructor(
    readonly name: string,
    readonly durable: boolean,
    /** The session that declared it exclusive; the queue goes when that connection does. */
    readonly exclusiveOwner: Session | undefined,
    readonly autoDelete: boolean,
    readonly args: Record<string, unknown>,
  ) {}

  /** Durable and not exclusive: its declaration, bindings and persistent messages outlive a restart. */
  get journaled(): boolean {
    return this.durable && this.exclusiveOwner === undefined;
  }

  get stats(): QueueStats {
    return { queue: this.name, messageCount: this.ready.length, consumerCount: this.consumers.length };
  }

  enqueue(message: Message, redelivered = false): void {
    this.ready.push({ message, seq: this.#seq++, journaled: message.persistent && this.journaled, redelivered });
  }

  /** The next consumer, round-robin, that may take a message now (prefetch permitting). */
  nextConsumer(): Consumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#nextConsumer + i) % n;
      const c = this.consumers[index]!;
      if (c.canTake()) {
        this.#nextConsumer = (index + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}

class Consumer {
  /** Deliveries to this consumer not yet acknowledged (for its own prefetch limit). */
  unacked = 0;

  constructor(
    readonly tag: string,
    readonly queue: Queue,
    readonly channel: BrokerChannel,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    /** basic.qos with global=false at the time of basic.consume (RabbitMQ's per-consumer prefetch); 0 = unlimited. */
    readonly prefetch: number,
  ) {}

  canTake(): boolean {
    if (this.noAck) return true;
    return (this.prefetch === 0 || this.unacked < this.prefetch) && this.channel.hasGlobalCapacity();
  }
}

interface Binding {
  readonly queue: Queue;
  readonly routingKey: string;
  readonly args: Record<string, unknown>;
  /** The routing key split into words, for topic matching. */
  readonly words: readonly string[];
}

class Exchange {
  readonly bindings: Binding[] = [];

  constructor(
    readonly name: string,
    readonly type: ExchangeType,
    readonly durable: boolean,
    readonly autoDelete: boolean,
    readonly internal: boolean,
    readonly args: Record<string, unknown>,
    readonly builtIn: boolean,
  ) {}

  /** The queues bound for this routing key (and headers, for a headers exchange); the default exchange is the broker's. */
  route(routingKey: string, headers: Record<string, unknown> | undefined): Queue[] {
    const words = this.type === 'topic' ? routingKey.split('.') : [];
    const matched = new Set<Queue>();
    for (const b of this.bindings) {
      if (this.type === 'fanout' || (this.type === 'direct' && b.routingKey === routingKey) || (this.type === 'topic' && topicMatches(b.words, words)) || (this.type === 'headers' && headersMatch(b.args, headers ?? {}))) {
        matched.add(b.queue);
      }
    }
    return [...matched];
  }
}

/** `*` matches exactly one word, `#` zero or more. */
export function topicMatches(pattern: readonly string[], words: readonly string[], p = 0, w = 0): boolean {
  if (p === pattern.length) return w === words.length;
  if (pattern[p] === '#') {
    for (let i = w; i <= words.length; i++) if (topicMatches(pattern, words, p + 1, i)) return true;
    return false;
  }
  if (w === words.length) return false;
  return (pattern[p] === '*' || pattern[p] === words[w]) && topicMatches(pattern, words, p + 1, w + 1);
}

/** `x-match: all` (the default) or `any` over the binding's other non-`x-` arguments; a void value matches any value. */
export function headersMatch(bindingArgs: Record<string, unknown>, headers: Record<string, unknown>): boolean {
  const wanted = Object.entries(bindingArgs).filter(([k]) => !k.startsWith('x-'));
  const matches = ([k, v]: [string, unknown]) => k in headers && (v === null || sameValue(headers[k], v));
  return bindingArgs['x-match'] === 'any' ? wanted.some(matches) : wanted.every(matches);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function serverName(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('base64url')}`;
}

/** A connection's share of the broker: its channels, and the exclusive queues that go when it closes. */
export class Session {
  readonly #channels = new Set<BrokerChannel>();
  #open = true;

  constructor(readonly broker: Broker) {}

  openChannel(sink: ChannelSink): BrokerChannel {
    if (!this.#open) throw new TypeError('session closed');
    const ch = new BrokerChannel(this, sink);
    this.#channels.add(ch);
    return ch;
  }

  /** Called by a channel as it closes. */
  forget(ch: BrokerChannel): void {
    this.#channels.delete(ch);
  }

  /** The connection went: its channels close (their unacknowledged messages are requeued), its exclusive queues are deleted. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const ch of [...this.#channels]) ch.close();
    this.broker.deleteExclusiveQueues(this);
  }
}

/** One vhost's worth of RabbitMQ. */
export class Broker {
  readonly #exchanges = new Map<string, Exchange>();
  readonly #queues = new Map<string, Queue>();
  /** Queues that may be able to dispatch (a message arrived, a consumer appeared or got capacity). */
  readonly #dirty = new Set<Queue>();
  /** Channels with publishes to confirm once the journal is written. */
  readonly #confirming = new Set<BrokerChannel>();
  #nextMessageId = 1;

  constructor(
    private readonly journal: Journal = NO_JOURNAL,
    recovered?: RecoveredState,
  ) {
    for (const [name, type] of BUILT_IN_EXCHANGES) this.#exchanges.set(name, new Exchange(name, type, true, false, false, {}, true));
    if (recovered) this.#recover(recovered);
  }

  connect(): Session {
    return new Session(this);
  }

  /** The end of a turn: dispatch what can be dispatched, write the journal, then confirm the publishes it covers. */
  settle(): void {
    for (const q of this.#dirty) {
      this.#dirty.delete(q);
      this.#dispatch(q);
    }
    this.journal.flush();
    for (const ch of this.#confirming) ch.sendConfirms();
    this.#confirming.clear();
  }

  /** A graceful shutdown (after every session closed): the journal records the redelivered flags and closes. */
  close(): void {
    const redelivered: Array<{ queue: string; id: number }> = [];
    for (const q of this.#queues.values()) for (const e of q.ready) if (e.journaled && e.redelivered) redelivered.push({ queue: q.name, id: e.message.id });
    this.journal.close(redelivered);
  }

  queue(name: string, session: Session): Queue {
    const q = this.#queues.get(name);
    if (!q) throw new AmqpError(404, `no ${queueName(name)}`);
    if (q.exclusiveOwner !== undefined && q.exclusiveOwner !== session) throw resourceLocked(name);
    return q;
  }

  exchange(name: string): Exchange {
    const x = this.#exchanges.get(name);
    if (!x) throw new AmqpError(404, `no ${exchangeName(name)}`);
    return x;
  }

  declareQueue(session: Session, d: QueueDeclare): QueueStats {
    if (d.passive) return this.queue(d.queue, session).stats;
    if (d.queue.startsWith('amq.')) throw new AmqpError(403, `queue name '${d.queue}' contains reserved prefix 'amq.*'`);
    const name = d.queue === '' ? serverName('amq.gen-') : d.queue;
    const durable = d.durable ?? false;
    const autoDelete = d.autoDelete ?? false;
    const args = d.arguments ?? {};
    const existing = this.#queues.get(name);
    if (existing) {
      assertEquivalent('durable', queueName(name), durable, existing.durable);
      assertEquivalent('auto_delete', queueName(name), autoDelete, existing.autoDelete);
      assertEquivalentArgs(queueName(name), args, existing.args);
      if (existing.exclusiveOwner !== (d.exclusive ? session : undefined)) throw resourceLocked(name);
      return existing.stats;
    }
    const q = new Queue(name, durable, d.exclusive ? session : undefined, autoDelete, args);
    this.#queues.set(name, q);
    if (q.journaled) this.journal.queueDeclared({ name, autoDelete, arguments: args });
    return q.stats;
  }

  deleteQueue(session: Session, name: string, opts: { ifUnused?: boolean; ifEmpty?: boolean } = {}): number {
    if (!this.#queues.has(name)) return 0;
    const q = this.queue(name, session);
    if (opts.ifUnused && q.consumers.length > 0) throw new AmqpError(406, `${queueName(name)} in use`);
    if (opts.ifEmpty && q.ready.length > 0) throw new AmqpError(406, `${queueName(name)} not empty`);
    return this.#removeQueue(q);
  }

  purgeQueue(session: Session, name: string): number {
    const q = this.queue(name, session);
    const purged = q.ready.drain();
    this.finish(q, purged);
    return purged.length;
  }

  declareExchange(d: ExchangeDeclare): void {
    if (d.passive) {
      this.exchange(d.exchange);
      return;
    }
    if (!EXCHANGE_TYPES.has(d.type)) throw new AmqpError(503, `unknown exchange type '${d.type}'`);
    if (d.exchange === '') throw defaultExchangeRefused();
    const type = d.type as ExchangeType;
    const durable = d.durable ?? false;
    const autoDelete = d.autoDelete ?? false;
    const internal = d.internal ?? false;
    const existing = this.#exchanges.get(d.exchange);
    if (existing) {
      const what = exchangeName(d.exchange);
      assertEquivalent('type', what, type, existing.type);
      assertEquivalent('durable', what, durable, existing.durable);
      assertEquivalent('auto_delete', what, autoDelete, existing.autoDelete);
      assertEquivalent('internal', what, internal, existing.internal);
      return;
    }
    if (d.exchange.startsWith('amq.')) throw new AmqpError(403, `exchange name '${d.exchange}' contains reserved prefix 'amq.*'`);
    const args = d.arguments ?? {};
    this.#exchanges.set(d.exchange, new Exchange(d.exchange, type, durable, autoDelete, internal, args, false));
    if (durable) this.journal.exchangeDeclared({ name: d.exchange, type, autoDelete, internal, arguments: args });
  }

  deleteExchange(name: string, opts: { ifUnused?: boolean } = {}): void {
    if (name === '') throw defaultExchangeRefused();
    const x = this.#exchanges.get(name);
    if (!x) return;
    if (x.builtIn) throw new AmqpError(403, `deletion of system ${exchangeName(name)} not allowed`);
    if (opts.ifUnused && x.bindings.length > 0) throw new AmqpError(406, `${exchangeName(name)} in use`);
    this.#removeExchange(x);
  }

  bind(session: Session, queue: string, exchange: string, routingKey: string, args: Record<string, unknown> = {}): void {
    if (exchange === '') throw defaultExchangeRefused();
    const q = this.queue(queue, session);
    const x = this.exchange(exchange);
    if (x.bindings.some((b) => b.queue === q && b.routingKey === routingKey && sameValue(b.args, args))) return;
    x.bindings.push({ queue: q, routingKey, args, words: routingKey.split('.') });
    if (x.durable && q.journaled) this.journal.bound(bindingRecord(x, q, routingKey, args));
  }

  /** Idempotent, as in RabbitMQ: unbinding what is not bound (or a queue or exchange that is gone) succeeds. */
  unbind(session: Session, queue: string, exchange: string, routingKey: string, args: Record<string, unknown> = {}): void {
    if (exchange === '') throw defaultExchangeRefused();
    const q = this.#queues.get(queue);
    const x = this.#exchanges.get(exchange);
    if (!q || !x) return;
    this.queue(queue, session); // another connection's exclusive queue: 405
    const i = x.bindings.findIndex((b) => b.queue === q && b.routingKey === routingKey && sameValue(b.args, args));
    if (i < 0) return;
    x.bindings.splice(i, 1);
    if (x.durable && q.journaled) this.journal.unbound(bindingRecord(x, q, routingKey, args));
    this.#autoDeleteExchange(x);
  }

  /** A new message, numbered for the journal, routed and enqueued; the queues it went to (none: unroutable). */
  publish(p: Publish, properties: Buffer, body: Buffer): { message: Message; routed: number } {
    const x = this.exchange(p.exchange);
    if (x.internal) throw new AmqpError(403, `cannot publish to internal ${exchangeName(p.exchange)}`);
    const props = decodeProperties(properties);
    const message: Message = { id: this.#nextMessageId++, exchange: p.exchange, routingKey: p.routingKey, properties, body, persistent: props.deliveryMode === 2 };
    const queues = x.name === '' ? this.#defaultRoute(p.routingKey) : x.route(p.routingKey, props.headers);
    for (const q of queues) {
      q.enqueue(message);
      this.#dirty.add(q);
    }
    const journaled = message.persistent ? queues.filter((q) => q.journaled).map((q) => q.name) : [];
    if (journaled.length > 0) this.journal.enqueued(message, journaled);
    return { message, routed: queues.length };
  }

  /** Messages back into their queue, in their original order, flagged redelivered (dropped if the queue is gone). */
  requeue(q: Queue, entries: Entry[]): void {
    if (q.deleted || entries.length === 0) return;
    for (const e of entries) e.redelivered = true;
    q.ready.requeue(entries);
    this.#dirty.add(q);
  }

  markDirty(q: Queue): void {
    this.#dirty.add(q);
  }

  wantsConfirm(ch: BrokerChannel): void {
    this.#confirming.add(ch);
  }

  /** A consumer went: an auto-delete queue goes with its last one. */
  consumerGone(q: Queue): void {
    if (q.autoDelete && q.consumers.length === 0 && !q.deleted) this.#removeQueue(q);
  }

  deleteExclusiveQueues(session: Session): void {
    for (const q of [...this.#queues.values()]) if (q.exclusiveOwner === session) this.#removeQueue(q);
  }

  #defaultRoute(routingKey: string): Queue[] {
    const q = this.#queues.get(routingKey);
    return q ? [q] : [];
  }

  #dispatch(q: Queue): void {
    while (!q.deleted && q.ready.length > 0) {
      const consumer = q.nextConsumer();
      if (!consumer) return;
      consumer.channel.deliver(consumer, q.ready.shift()!);
    }
  }

  /** Messages that left their queue for good: struck from the journal. */
  finish(q: Queue, entries: readonly Entry[]): void {
    if (q.deleted || !q.journaled) return;
    const ids = entries.filter((e) => e.journaled).map((e) => e.message.id);
    if (ids.length > 0) this.journal.removed(q.name, ids);
  }

  /** Deletes a queue: its consumers are told (Basic.Cancel), its bindings go, and with them auto-delete exchanges. */
  #removeQueue(q: Queue): number {
    const count = q.ready.length;
    q.deleted = true;
    this.#queues.delete(q.name);
    this.#dirty.delete(q);
    for (const c of q.consumers.splice(0)) c.channel.consumerCancelledByServer(c.tag);
    for (const x of [...this.#exchanges.values()]) {
      const before = x.bindings.length;
      for (let i = x.bindings.length - 1; i >= 0; i--) if (x.bindings[i]!.queue === q) x.bindings.splice(i, 1);
      if (x.bindings.length < before) this.#autoDeleteExchange(x);
    }
    if (q.journaled) this.journal.queueDeleted(q.name);
    return count;
  }

  #removeExchange(x: Exchange): void {
    this.#exchanges.delete(x.name);
    if (x.durable) this.journal.exchangeDeleted(x.name);
  }

  #autoDeleteExchange(x: Exchange): void {
    if (x.autoDelete && x.bindings.length === 0 && !x.builtIn) this.#removeExchange(x);
  }

  #recover(r: RecoveredState): void {
    for (const x of r.exchanges) {
      if (EXCHANGE_TYPES.has(x.type)) this.#exchanges.set(x.name, new Exchange(x.name, x.type as ExchangeType, true, x.autoDelete, x.internal, x.arguments, false));
    }
    for (const rq of r.queues) {
      const q = new Queue(rq.name, true, undefined, rq.autoDelete, rq.arguments);
      this.#queues.set(q.name, q);
      for (const { message, redelivered } of rq.messages) {
        q.enqueue({ ...message, persistent: true }, redelivered);
        this.#nextMessageId = Math.max(this.#nextMessageId, message.id + 1);
      }
    }
    for (const b of r.bindings) {
      const x = this.#exchanges.get(b.exchange);
      const q = this.#queues.get(b.queue);
      if (x && q) x.bindings.push({ queue: q, routingKey: b.routingKey, args: b.arguments, words: b.routingKey.split('.') });
    }
  }
}

function bindingRecord(x: Exchange, q: Queue, routingKey: string, args: Record<string, unknown>): BindingRecord {
  return { exchange: x.name, queue: q.name, routingKey, arguments: args };
}

function resourceLocked(name: string): AmqpError {
  return new AmqpError(
    405,
    `cannot obtain exclusive access to locked ${queueName(name)}. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
  );
}

function defaultExchangeRefused(): AmqpError {
  return new AmqpError(403, 'operation not permitted on the default exchange');
}

function assertEquivalent(arg: string, what: string, received: unknown, current: unknown): void {
  if (received !== current) throw new AmqpError(406, `inequivalent arg '${arg}' for ${what}: received '${String(received)}' but current is '${String(current)}'`);
}

/** RabbitMQ's wording, type names included (amqplib encodes integers in the smallest type that holds them). */
function assertEquivalentArgs(what: string, received: Record<string, unknown>, current: Record<string, unknown>): void {
  for (const key of EQUIVALENCE_ARGS) {
    const r = received[key];
    const c = current[key];
    if (sameValue(r, c)) continue;
    const describe = (v: unknown) => (v === undefined ? 'none' : `the value '${String(v)}' of type '${amqpTypeName(v)}'`);
    const detail = r !== undefined && c !== undefined ? `received '${String(r)}' but current is '${String(c)}'` : `received ${describe(r)} but current is ${describe(c)}`;
    throw new AmqpError(406, `inequivalent arg '${key}' for ${what}: ${detail}`);
  }
}

function amqpTypeName(v: unknown): string {
  if (typeof v === 'string') return 'longstr';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'double';
    if (v >= -128 && v < 128) return 'byte';
    if (v >= -0x8000 && v < 0x8000) return 'short';
    return v >= -0x80000000 && v < 0x80000000 ? 'signedint' : 'long';
  }
  return Array.isArray(v) ? 'array' : 'table';
}

interface Unacked {
  readonly queue: Queue;
  readonly entry: Entry;
  readonly consumer: Consumer | undefined;
}

/**
 * One AMQP channel: its consumers, its delivery tags and the deliveries not yet acknowledged, its prefetch and
 * its publisher confirms.
 */
export class BrokerChannel {
  readonly #consumers = new Map<string, Consumer>();
  /** By delivery tag, in tag order (a Map iterates in insertion order and tags only grow). */
  readonly #unacked = new Map<number, Unacked>();
  #deliveryTag = 0;
  /** basic.qos global=false: the limit of consumers started from now on. */
  #consumerPrefetch = 0;
  /** basic.qos global=true: the limit of the whole channel. */
  #channelPrefetch = 0;
  #confirming = false;
  #published = 0;
  #confirmed = 0;
  /** The queue name the empty name stands for (spec: the last queue declared on the channel). */
  #lastQueue: string | undefined;
  #open = true;

  constructor(
    private readonly session: Session,
    private readonly sink: ChannelSink,
  ) {}

  get #broker(): Broker {
    return this.session.broker;
  }

  hasGlobalCapacity(): boolean {
    return this.#open && (this.#channelPrefetch === 0 || this.#unacked.size < this.#channelPrefetch);
  }

  declareQueue(d: QueueDeclare): QueueStats {
    const stats = this.#broker.declareQueue(this.session, { ...d, queue: d.passive ? this.#queueName(d.queue) : d.queue });
    this.#lastQueue = stats.queue;
    return stats;
  }

  deleteQueue(queue: string, opts: { ifUnused?: boolean; ifEmpty?: boolean } = {}): number {
    return this.#broker.deleteQueue(this.session, this.#queueName(queue), opts);
  }

  purgeQueue(queue: string): number {
    return this.#broker.purgeQueue(this.session, this.#queueName(queue));
  }

  bindQueue(queue: string, exchange: string, routingKey: string, args?: Record<string, unknown>): void {
    // An empty routing key with an empty queue name means the last declared queue's name (spec, queue.bind).
    const key = routingKey === '' && queue === '' ? (this.#lastQueue ?? '') : routingKey;
    this.#broker.bind(this.session, this.#queueName(queue), exchange, key, args);
  }

  unbindQueue(queue: string, exchange: string, routingKey: string, args?: Record<string, unknown>): void {
    this.#broker.unbind(this.session, this.#queueName(queue), exchange, routingKey, args);
  }

  declareExchange(d: ExchangeDeclare): void {
    this.#broker.declareExchange(d);
  }

  deleteExchange(exchange: string, opts: { ifUnused?: boolean } = {}): void {
    this.#broker.deleteExchange(exchange, opts);
  }

  /** Basic.Qos. A byte limit is refused, as RabbitMQ does. */
  qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (prefetchSize !== 0) throw new AmqpError(540, `prefetch_size!=0 (${prefetchSize})`);
    if (global) this.#channelPrefetch = prefetchCount;
    else this.#consumerPrefetch = prefetchCount;
    for (const c of this.#consumers.values()) this.#broker.markDirty(c.queue);
  }

  confirmSelect(): void {
    this.#confirming = true;
  }

  /** Basic.Publish with its content; an unroutable mandatory message comes back by Basic.Return. */
  publish(p: Publish, properties: Buffer, body: Buffer): void {
    if (p.immediate) throw new AmqpError(540, 'immediate=true');
    const { message, routed } = this.#broker.publish(p, properties, body);
    if (routed === 0 && p.mandatory) this.sink.returnUnroutable(message);
    if (this.#confirming) {
      this.#published++;
      this.#broker.wantsConfirm(this);
    }
  }

  /** Called by `Broker.settle()` once the journal holds every publish up to now. */
  sendConfirms(): void {
    if (!this.#open || this.#confirmed === this.#published) return;
    this.sink.confirm(this.#published, this.#published - this.#confirmed > 1);
    this.#confirmed = this.#published;
  }

  consume(c: Consume): string {
    const q = this.#broker.queue(this.#queueName(c.queue), this.session);
    const tag = c.consumerTag || serverName('amq.ctag-');
    if (this.#consumers.has(tag)) throw new AmqpError(530, `attempt to reuse consumer tag '${tag}'`);
    if ((c.exclusive && q.consumers.length > 0) || q.consumers.some((other) => other.exclusive)) throw new AmqpError(403, `${queueName(q.name)} in exclusive use`);
    const consumer = new Consumer(tag, q, this, c.noAck ?? false, c.exclusive ?? false, this.#consumerPrefetch);
    q.consumers.push(consumer);
    this.#consumers.set(tag, consumer);
    this.#broker.markDirty(q);
    return tag;
  }

  /** Basic.Cancel from the client; an unknown tag is fine, as in RabbitMQ. Its unacknowledged messages stay unacked. */
  cancel(consumerTag: string): void {
    const c = this.#consumers.get(consumerTag);
    if (!c) return;
    this.#consumers.delete(consumerTag);
    const i = c.queue.consumers.indexOf(c);
    if (i >= 0) c.queue.consumers.splice(i, 1);
    this.#broker.consumerGone(c.queue);
  }

  /** The queue was deleted under the consumer. */
  consumerCancelledByServer(consumerTag: string): void {
    if (!this.#consumers.delete(consumerTag)) return;
    if (this.#open) this.sink.cancelConsumer(consumerTag);
  }

  /** Called by the broker's dispatch: a message for one of this channel's consumers. */
  deliver(consumer: Consumer, entry: Entry): void {
    const tag = ++this.#deliveryTag;
    if (consumer.noAck) this.#broker.finish(consumer.queue, [entry]);
    else {
      this.#unacked.set(tag, { queue: consumer.queue, entry, consumer });
      consumer.unacked++;
    }
    this.sink.deliver(consumer.tag, tag, entry.redelivered, entry.message);
  }

  get(queue: string, noAck: boolean): GetOk | undefined {
    const q = this.#broker.queue(this.#queueName(queue), this.session);
    const entry = q.ready.shift();
    if (!entry) return undefined;
    const deliveryTag = ++this.#deliveryTag;
    if (noAck) this.#broker.finish(q, [entry]);
    else this.#unacked.set(deliveryTag, { queue: q, entry, consumer: undefined });
    return { deliveryTag, redelivered: entry.redelivered, message: entry.message, messageCount: q.ready.length };
  }

  ack(deliveryTag: number, multiple: boolean): void {
    for (const [q, entries] of byQueue(this.#settle(deliveryTag, multiple))) this.#broker.finish(q, entries);
  }

  /** Basic.Nack / Basic.Reject: requeued at their old places (redelivered), or dropped (no dead-lettering here). */
  nack(deliveryTag: number, multiple: boolean, requeue: boolean): void {
    const settled = this.#settle(deliveryTag, multiple);
    for (const [q, entries] of byQueue(settled)) {
      if (requeue) this.#broker.requeue(q, entries);
      else this.#broker.finish(q, entries);
    }
  }

  /** Basic.Recover: every unacknowledged message back to its queue. `requeue=false` is refused, as RabbitMQ does. */
  recover(requeue: boolean): void {
    if (!requeue) throw new AmqpError(540, 'requeue=false');
    this.#requeueAll();
  }

  /** The channel closed (by either side, or with its connection): unacked messages go back, consumers go. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#requeueAll();
    for (const tag of [...this.#consumers.keys()]) this.cancel(tag);
    this.session.forget(this);
  }

  #requeueAll(): void {
    const all = [...this.#unacked.values()];
    this.#unacked.clear();
    for (const u of all) if (u.consumer) u.consumer.unacked--;
    for (const [q, entries] of byQueue(all)) this.#broker.requeue(q, entries);
    for (const c of this.#consumers.values()) this.#broker.markDirty(c.queue);
  }

  /**
   * Takes the acknowledged deliveries out of the unacked set: the one tag, or with `multiple` every tag up to it
   * (all of them for tag 0). A tag that is not outstanding is a channel error, as in RabbitMQ.
   */
  #settle(deliveryTag: number, multiple: boolean): Unacked[] {
    const all = multiple && deliveryTag === 0;
    if (!all && !this.#unacked.has(deliveryTag)) throw new AmqpError(406, `unknown delivery tag ${deliveryTag}`);
    const settled: Unacked[] = [];
    if (multiple) {
      for (const [tag, u] of this.#unacked) {
        if (!all && tag > deliveryTag) break;
        settled.push(u);
        this.#unacked.delete(tag);
      }
    } else {
      settled.push(this.#unacked.get(deliveryTag)!);
      this.#unacked.delete(deliveryTag);
    }
    for (const u of settled) {
      if (u.consumer) u.consumer.unacked--;
      this.#broker.markDirty(u.queue);
    }
    // A channel-wide prefetch frees room for every consumer of the channel.
    if (this.#channelPrefetch > 0) for (const c of this.#consumers.values()) this.#broker.markDirty(c.queue);
    return settled;
  }

  /** The empty queue name stands for the last queue declared on this channel (spec); none yet is a 404, as in RabbitMQ. */
  #queueName(name: string): string {
    if (name !== '') return name;
    if (this.#lastQueue === undefined) throw new AmqpError(404, 'no previously declared queue');
    return this.#lastQueue;
  }
}

function byQueue(unacked: readonly Unacked[]): Map<Queue, Entry[]> {
  const groups = new Map<Queue, Entry[]>();
  for (const u of unacked) {
    const list = groups.get(u.queue) ?? [];
    list.push(u.entry);
    groups.set(u.queue, list);
  }
  return groups;
}
