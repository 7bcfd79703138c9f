import { describe, expect, it } from 'vitest';
import { AmqpError, Broker, headersMatch, topicMatches, type BrokerChannel, type ChannelSink, type Message } from './broker.ts';
import { encodeProperties } from './codec.ts';
import type { Journal } from './persistence.ts';

/** What a channel sent its client, in order. */
interface Sent {
  deliveries: Array<{ consumerTag: string; deliveryTag: number; redelivered: boolean; body: string }>;
  returned: string[];
  confirms: Array<[number, boolean]>;
  cancelled: string[];
}

/** `log`, if given, also gets the confirms, to order them against the journal's calls. */
function recordingSink(log?: string[]): { sink: ChannelSink; sent: Sent } {
  const sent: Sent = { deliveries: [], returned: [], confirms: [], cancelled: [] };
  const sink: ChannelSink = {
    deliver: (consumerTag, deliveryTag, redelivered, m) => sent.deliveries.push({ consumerTag, deliveryTag, redelivered, body: m.body.toString() }),
    returnUnroutable: (m: Message) => sent.returned.push(m.body.toString()),
    confirm: (tag, multiple) => {
      sent.confirms.push([tag, multiple]);
      log?.push(`confirm ${tag}`);
    },
    cancelConsumer: (tag) => sent.cancelled.push(tag),
  };
  return { sink, sent };
}

const TRANSIENT = encodeProperties({});
const PERSISTENT = encodeProperties({ deliveryMode: 2 });

function setup(journal?: Journal, log?: string[]) {
  const broker = new Broker(journal);
  const session = broker.connect();
  const open = () => {
    const { sink, sent } = recordingSink(log);
    return { ch: session.openChannel(sink), sent };
  };
  return { broker, session, open, ...open() };
}

function publish(ch: BrokerChannel, routingKey: string, body: string, opts: { exchange?: string; mandatory?: boolean; persistent?: boolean } = {}): void {
  ch.publish({ exchange: opts.exchange ?? '', routingKey, mandatory: opts.mandatory ?? false }, opts.persistent ? PERSISTENT : TRANSIENT, Buffer.from(body));
}

function expectAmqpError(fn: () => unknown, code: number, text: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(AmqpError);
  expect(thrown).toMatchObject({ code, message: text });
}

describe('Broker routing', () => {
  it('the default exchange routes by queue name; an unroutable mandatory message is returned, an optional one dropped', () => {
    const { broker, ch, sent } = setup();
    ch.declareQueue({ queue: 'run-queue' });
    publish(ch, 'run-queue', 'a');
    publish(ch, 'nowhere', 'b', { mandatory: true });
    publish(ch, 'nowhere', 'c');
    broker.settle();
    expect(sent.returned).toEqual(['b']);
    expect(ch.get('run-queue', true)?.message.body.toString()).toBe('a');
    expect(ch.get('run-queue', true)).toBeUndefined();
  });

  it('direct, fanout, topic and headers exchanges route by their bindings, each queue once', () => {
    const { ch } = setup();
    for (const q of ['a', 'b', 'c', 'd']) ch.declareQueue({ queue: q });
    ch.declareExchange({ exchange: 'events', type: 'topic' });
    ch.bindQueue('a', 'amq.direct', 'build');
    ch.bindQueue('b', 'amq.fanout', '');
    ch.bindQueue('c', 'events', 'jobs.*.done');
    ch.bindQueue('c', 'events', 'jobs.#');
    ch.bindQueue('d', 'amq.headers', '', { 'x-match': 'any', os: 'linux', arch: 'arm64' });
    publish(ch, 'build', 'direct', { exchange: 'amq.direct' });
    publish(ch, 'build', 'fanout', { exchange: 'amq.fanout' });
    publish(ch, 'jobs.1.done', 'topic', { exchange: 'events' });
    ch.publish({ exchange: 'amq.headers', routingKey: '' }, encodeProperties({ headers: { os: 'linux' } }), Buffer.from('headers'));
    const bodies = (q: string) => [...Array(3)].map(() => ch.get(q, true)?.message.body.toString()).filter(Boolean);
    expect(bodies('a')).toEqual(['direct']);
    expect(bodies('b')).toEqual(['fanout']);
    expect(bodies('c')).toEqual(['topic']);
    expect(bodies('d')).toEqual(['headers']);
  });

  it('topic patterns: * is one word, # is zero or more', () => {
    const m = (pattern: string, key: string) => topicMatches(pattern.split('.'), key.split('.'));
    expect(m('jobs.*', 'jobs.1')).toBe(true);
    expect(m('jobs.*', 'jobs.1.done')).toBe(false);
    expect(m('jobs.#', 'jobs')).toBe(true);
    expect(m('jobs.#', 'jobs.1.done')).toBe(true);
    expect(m('#.done', 'jobs.1.done')).toBe(true);
    expect(m('*.1.#', 'jobs.2.done')).toBe(false);
    expect(m('#', 'anything.at.all')).toBe(true);
  });

  it('headers binding: all by default, any on request, a void value matches presence', () => {
    expect(headersMatch({ os: 'linux', arch: 'x64' }, { os: 'linux', arch: 'x64', extra: 1 })).toBe(true);
    expect(headersMatch({ os: 'linux', arch: 'x64' }, { os: 'linux' })).toBe(false);
    expect(headersMatch({ 'x-match': 'any', os: 'linux', arch: 'x64' }, { os: 'linux' })).toBe(true);
    expect(headersMatch({ os: null }, { os: 'mac' })).toBe(true);
  });

  it('unbinding stops routing, and an auto-delete exchange goes with its last binding', () => {
    const { ch } = setup();
    ch.declareQueue({ queue: 'q' });
    ch.declareExchange({ exchange: 'x', type: 'direct', autoDelete: true });
    ch.bindQueue('q', 'x', 'k');
    ch.unbindQueue('q', 'x', 'k');
    expectAmqpError(() => ch.declareExchange({ exchange: 'x', type: 'direct', passive: true }), 404, "NOT_FOUND - no exchange 'x' in vhost '/'");
  });
});

describe('Broker declarations', () => {
  it('declares, redeclares equivalently, and refuses an inequivalent durable flag or argument with 406', () => {
    const { ch } = setup();
    expect(ch.declareQueue({ queue: 'q', durable: true })).toEqual({ queue: 'q', messageCount: 0, consumerCount: 0 });
    expect(ch.declareQueue({ queue: 'q', durable: true }).queue).toBe('q');
    expectAmqpError(() => ch.declareQueue({ queue: 'q', durable: false }), 406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'");
    expectAmqpError(
      () => ch.declareQueue({ queue: 'q', durable: true, arguments: { 'x-message-ttl': 1000 } }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received the value '1000' of type 'short' but current is none",
    );
  });

  it('names a queue declared without a name amq.gen-…, refuses the amq. prefix, and 404s a passive declare of a missing queue', () => {
    const { ch } = setup();
    expect(ch.declareQueue({ queue: '', exclusive: true }).queue).toMatch(/^amq\.gen-[\w-]{22}$/);
    expectAmqpError(() => ch.declareQueue({ queue: 'amq.mine' }), 403, "ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq.*'");
    expectAmqpError(() => ch.declareQueue({ queue: 'gone', passive: true }), 404, "NOT_FOUND - no queue 'gone' in vhost '/'");
  });

  it('an exclusive queue is locked for other sessions (405) and deleted when its session closes', () => {
    const { broker, session, ch } = setup();
    ch.declareQueue({ queue: 'mine', exclusive: true });
    const other = broker.connect().openChannel(recordingSink().sink);
    const locked = "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'mine' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.";
    expectAmqpError(() => other.declareQueue({ queue: 'mine', passive: true }), 405, locked);
    expectAmqpError(() => other.consume({ queue: 'mine' }), 405, locked);
    expectAmqpError(() => other.purgeQueue('mine'), 405, locked);
    session.close();
    expectAmqpError(() => other.declareQueue({ queue: 'mine', passive: true }), 404, "NOT_FOUND - no queue 'mine' in vhost '/'");
  });

  it('exchanges: unknown type is a 503 connection error, the default exchange and system exchanges are untouchable', () => {
    const { ch } = setup();
    const unknown = (() => {
      try {
        ch.declareExchange({ exchange: 'x', type: 'x-delayed' });
      } catch (err) {
        return err as AmqpError;
      }
    })();
    expect(unknown).toMatchObject({ code: 503, closesConnection: true });
    expectAmqpError(() => ch.declareExchange({ exchange: '', type: 'direct' }), 403, 'ACCESS_REFUSED - operation not permitted on the default exchange');
    expectAmqpError(() => ch.deleteExchange('amq.topic'), 403, "ACCESS_REFUSED - deletion of system exchange 'amq.topic' in vhost '/' not allowed");
    ch.declareExchange({ exchange: 'events', type: 'fanout' });
    expectAmqpError(() => ch.declareExchange({ exchange: 'events', type: 'topic' }), 406, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'events' in vhost '/': received 'topic' but current is 'fanout'");
    ch.deleteExchange('nothing-here');
  });

  it('delete refuses a queue in use or not empty, and otherwise answers its ready count and cancels its consumers', () => {
    const { broker, ch, sent } = setup();
    ch.declareQueue({ queue: 'q' });
    publish(ch, 'q', 'x');
    broker.settle();
    expectAmqpError(() => ch.deleteQueue('q', { ifEmpty: true }), 406, "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty");
    expect(ch.purgeQueue('q')).toBe(1);
    const tag = ch.consume({ queue: 'q' });
    expectAmqpError(() => ch.deleteQueue('q', { ifUnused: true }), 406, "PRECONDITION_FAILED - queue 'q' in vhost '/' in use");
    publish(ch, 'q', 'y');
    expect(ch.deleteQueue('q')).toBe(1);
    expect(sent.cancelled).toEqual([tag]);
    expect(ch.deleteQueue('q')).toBe(0);
  });
});

describe('Broker consumers and acknowledgements', () => {
  it('a consumer prefetch of 2 holds the third delivery until an ack', () => {
    const { broker, ch, sent } = setup();
    ch.declareQueue({ queue: 'q' });
    ch.qos(0, 2, false);
    const tag = ch.consume({ queue: 'q' });
    for (const b of ['1', '2', '3', '4']) publish(ch, 'q', b);
    broker.settle();
    expect(sent.deliveries.map((d) => [d.consumerTag, d.deliveryTag, d.body])).toEqual([
      [tag, 1, '1'],
      [tag, 2, '2'],
    ]);
    ch.ack(1, false);
    broker.settle();
    expect(sent.deliveries.map((d) => d.body)).toEqual(['1', '2', '3']);
    ch.ack(3, true);
    broker.settle();
    expect(sent.deliveries.map((d) => d.body)).toEqual(['1', '2', '3', '4']);
    expect(ch.declareQueue({ queue: 'q', passive: true })).toEqual({ queue: 'q', messageCount: 0, consumerCount: 1 });
  });

  it('a channel-wide (global) prefetch is shared by all consumers of the channel', () => {
    const { broker, ch, sent } = setup();
    ch.declareQueue({ queue: 'a' });
    ch.declareQueue({ queue: 'b' });
    ch.qos(0, 1, true);
    ch.consume({ queue: 'a' });
    ch.consume({ queue: 'b' });
    publish(ch, 'a', 'a1');
    publish(ch, 'b', 'b1');
    broker.settle();
    expect(sent.deliveries).toHaveLength(1);
    ch.ack(1, false);
    broker.settle();
    expect(sent.deliveries).toHaveLength(2);
  });

  it('delivers round-robin across consumers, with delivery tags counted per channel', () => {
    const { broker, ch, sent, open } = setup();
    const second = open();
    ch.declareQueue({ queue: 'q' });
    ch.consume({ queue: 'q', noAck: true });
    second.ch.consume({ queue: 'q', noAck: true });
    for (const b of ['1', '2', '3', '4']) publish(ch, 'q', b);
    broker.settle();
    expect(sent.deliveries.map((d) => [d.deliveryTag, d.body])).toEqual([
      [1, '1'],
      [2, '3'],
    ]);
    expect(second.sent.deliveries.map((d) => [d.deliveryTag, d.body])).toEqual([
      [1, '2'],
      [2, '4'],
    ]);
  });

  it('nack with requeue puts messages back in their original places, redelivered; without requeue drops them', () => {
    const { broker, ch } = setup();
    ch.declareQueue({ queue: 'q' });
    for (const b of ['1', '2', '3', '4']) publish(ch, 'q', b);
    broker.settle();
    const [one, two, three] = [ch.get('q', false)!, ch.get('q', false)!, ch.get('q', false)!];
    ch.nack(two.deliveryTag, false, true);
    ch.nack(one.deliveryTag, false, true);
    ch.nack(three.deliveryTag, false, false);
    const rest = [...Array(4)].map(() => ch.get('q', true)).map((g) => g && [g.message.body.toString(), g.redelivered]);
    expect(rest).toEqual([['1', true], ['2', true], ['4', false], undefined]);
  });

  it('a requeued message newer than the head of the queue is merged back into its own place', () => {
    const { broker, ch } = setup();
    ch.declareQueue({ queue: 'q' });
    for (const b of ['1', '2', '3', '4']) publish(ch, 'q', b);
    broker.settle();
    const [one, , three] = [ch.get('q', false)!, ch.get('q', false)!, ch.get('q', false)!];
    ch.nack(one.deliveryTag, false, true);
    ch.nack(three.deliveryTag, false, true);
    expect([...Array(3)].map(() => ch.get('q', true)?.message.body.toString())).toEqual(['1', '3', '4']);
  });

  it('an unknown delivery tag is 406; multiple acks up to the tag, and tag 0 with multiple acks everything', () => {
    const { broker, ch } = setup();
    ch.declareQueue({ queue: 'q' });
    for (const b of ['1', '2', '3', '4']) publish(ch, 'q', b);
    broker.settle();
    for (let i = 0; i < 4; i++) ch.get('q', false);
    expectAmqpError(() => ch.ack(9, false), 406, 'PRECONDITION_FAILED - unknown delivery tag 9');
    ch.ack(2, true);
    expectAmqpError(() => ch.ack(1, false), 406, 'PRECONDITION_FAILED - unknown delivery tag 1');
    ch.ack(0, true);
    expectAmqpError(() => ch.ack(4, false), 406, 'PRECONDITION_FAILED - unknown delivery tag 4');
  });

  it('closing a channel requeues its unacknowledged messages and removes its consumers; an auto-delete queue goes with its last consumer', () => {
    const { broker, ch, open } = setup();
    ch.declareQueue({ queue: 'work' });
    ch.declareQueue({ queue: 'temp', autoDelete: true });
    const worker = open();
    worker.ch.consume({ queue: 'work' });
    worker.ch.consume({ queue: 'temp' });
    publish(ch, 'work', 'job');
    broker.settle();
    expect(worker.sent.deliveries.map((d) => d.body)).toEqual(['job']);
    worker.ch.close();
    expect(ch.declareQueue({ queue: 'work', passive: true })).toEqual({ queue: 'work', messageCount: 1, consumerCount: 0 });
    expect(ch.get('work', true)).toMatchObject({ redelivered: true });
    expectAmqpError(() => ch.declareQueue({ queue: 'temp', passive: true }), 404, "NOT_FOUND - no queue 'temp' in vhost '/'");
  });

  it('recover(true) requeues every unacknowledged delivery; recover(false) is refused as in RabbitMQ', () => {
    const { broker, ch, sent } = setup();
    ch.declareQueue({ queue: 'q' });
    ch.consume({ queue: 'q' });
    publish(ch, 'q', 'r');
    broker.settle();
    ch.recover(true);
    broker.settle();
    expect(sent.deliveries.map((d) => [d.deliveryTag, d.redelivered])).toEqual([
      [1, false],
      [2, true],
    ]);
    expectAmqpError(() => ch.recover(false), 540, 'NOT_IMPLEMENTED - requeue=false');
  });

  it('refuses a reused consumer tag (530, a connection error) and a second consumer beside an exclusive one (403)', () => {
    const { ch, open } = setup();
    ch.declareQueue({ queue: 'q' });
    ch.consume({ queue: 'q', consumerTag: 'mine', exclusive: true });
    expectAmqpError(() => ch.consume({ queue: 'q', consumerTag: 'mine' }), 530, "NOT_ALLOWED - attempt to reuse consumer tag 'mine'");
    expectAmqpError(() => open().ch.consume({ queue: 'q' }), 403, "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use");
  });
});

describe('Broker publisher confirms and the journal', () => {
  /** A journal that records its calls, to check what is written and that confirms wait for the flush. */
  function recordingJournal() {
    const calls: string[] = [];
    const journal: Journal = {
      exchangeDeclared: (x) => calls.push(`x+ ${x.name}`),
      exchangeDeleted: (n) => calls.push(`x- ${n}`),
      queueDeclared: (q) => calls.push(`q+ ${q.name}`),
      queueDeleted: (n) => calls.push(`q- ${n}`),
      bound: (b) => calls.push(`b+ ${b.exchange}->${b.queue}`),
      unbound: (b) => calls.push(`b- ${b.exchange}->${b.queue}`),
      enqueued: (m, qs) => calls.push(`m ${m.body.toString()} ${qs.join(',')}`),
      removed: (q, ids) => calls.push(`r ${q} ${ids.length}`),
      flush: () => calls.push('flush'),
      close: (r) => calls.push(`close ${r.length}`),
    };
    return { journal, calls };
  }

  it('journals persistent messages of durable queues only, and confirms (multiple) only after the flush', () => {
    const { journal, calls } = recordingJournal();
    const { broker, ch, sent } = setup(journal, calls);
    ch.declareQueue({ queue: 'durable', durable: true });
    ch.declareQueue({ queue: 'transient', durable: false });
    ch.declareExchange({ exchange: 'all', type: 'fanout', durable: true });
    ch.bindQueue('durable', 'all', '');
    ch.bindQueue('transient', 'all', '');
    ch.confirmSelect();
    publish(ch, '', 'p1', { exchange: 'all', persistent: true });
    publish(ch, '', 'p2', { exchange: 'all' });
    publish(ch, 'transient', 'p3', { persistent: true });
    expect(sent.confirms).toEqual([]);
    broker.settle();
    expect(sent.confirms).toEqual([[3, true]]);
    expect(calls).toEqual(['q+ durable', 'x+ all', 'b+ all->durable', 'm p1 durable', 'flush', 'confirm 3']);
    publish(ch, 'transient', 'p4');
    broker.settle();
    expect(sent.confirms).toEqual([
      [3, true],
      [4, false],
    ]);
  });

  it('strikes a journaled message when it is acked or purged, not when it is requeued', () => {
    const { journal, calls } = recordingJournal();
    const { broker, ch } = setup(journal);
    ch.declareQueue({ queue: 'q', durable: true });
    for (const b of ['a', 'b', 'c']) publish(ch, 'q', b, { persistent: true });
    const a = ch.get('q', false)!;
    const b = ch.get('q', false)!;
    ch.ack(a.deliveryTag, false);
    ch.nack(b.deliveryTag, false, true);
    expect(ch.purgeQueue('q')).toBe(2);
    broker.settle();
    expect(calls.filter((c) => c.startsWith('r '))).toEqual(['r q 1', 'r q 2']);
  });

  it('rebuilds durable exchanges, queues, bindings and messages (order and redelivered flags) from a recovered state', () => {
    const m = (id: number, body: string) => ({ id, exchange: '', routingKey: 'q', properties: PERSISTENT, body: Buffer.from(body) });
    const broker = new Broker(undefined, {
      exchanges: [{ name: 'events', type: 'topic', autoDelete: false, internal: false, arguments: {} }],
      queues: [{ name: 'q', autoDelete: false, arguments: {}, messages: [{ message: m(4, 'first'), redelivered: true }, { message: m(9, 'second'), redelivered: false }] }],
      bindings: [{ exchange: 'events', queue: 'q', routingKey: 'jobs.#', arguments: {} }],
    });
    const ch = broker.connect().openChannel(recordingSink().sink);
    publish(ch, 'jobs.1', 'third', { exchange: 'events', persistent: true });
    const got = [...Array(3)].map(() => ch.get('q', true)).map((g) => g && [g.message.id, g.message.body.toString(), g.redelivered]);
    expect(got).toEqual([
      [4, 'first', true],
      [9, 'second', false],
      [10, 'third', false],
    ]);
  });
});
