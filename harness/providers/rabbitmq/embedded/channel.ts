import type { Broker } from './broker.ts';
import { AmqpError, queueName, serverName } from './errors.ts';
import type { ExchangeDeclare } from './exchange.ts';
import type { Entry, Message, Queue, QueueDeclare, QueueStats } from './queue.ts';

/**
 * Channels and consumers: a connection's `Session` and its channels, each with its consumers, prefetch limits,
 * delivery tags, unacknowledged deliveries (acks, nacks, requeues) and publisher confirms.
 */

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

export class Consumer {
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
