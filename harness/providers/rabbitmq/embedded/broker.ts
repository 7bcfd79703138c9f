import { Session, type BrokerChannel, type Publish } from './channel.ts';
import { decodeProperties } from './codec.ts';
import { AmqpError, exchangeName, queueName, serverName } from './errors.ts';
import { BUILT_IN_EXCHANGES, EXCHANGE_TYPES, Exchange, sameValue, type ExchangeDeclare, type ExchangeType } from './exchange.ts';
import { NO_JOURNAL, type BindingRecord, type Journal, type RecoveredState } from './persistence.ts';
import { Queue, type Entry, type Message, type QueueDeclare, type QueueStats } from './queue.ts';

/**
 * The embedded broker's state: one vhost (`/`) with its exchanges, queues, bindings, consumers and unacknowledged
 * deliveries, following RabbitMQ 3.10's semantics and error texts. No sockets here: `amqp-connection.ts` turns frames
 * into calls on a `BrokerChannel` and the `ChannelSink` calls back into frames, so the rules are testable on their own.
 *
 * Work is settled in turns: a connection handles everything a socket read brought, then calls `settle()`, which
 * dispatches to consumers, writes the journal and only then sends publisher confirms.
 */

// The broker's parts, under the names the rest of the embedded server (and its tests) import from here.
export { AmqpError } from './errors.ts';
export { headersMatch, topicMatches, type ExchangeDeclare, type ExchangeType } from './exchange.ts';
export { Queue, type Message, type QueueDeclare, type QueueStats } from './queue.ts';
export { BrokerChannel, Session, type ChannelSink, type Consume, type GetOk, type Publish } from './channel.ts';

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
