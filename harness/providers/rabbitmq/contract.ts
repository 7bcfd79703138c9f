import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfirmPublisher, ReconnectingConsumer } from '../../live/pipeline/amqp.ts';

/** What the contract needs of a broker: its URL (for a wrong login) and amqplib connections. */
export interface AmqpBroker {
  readonly url: string;
  connect(): Promise<ChannelModel>;
}

/**
 * The AMQP 0-9-1 behaviour the twin relies on, asserted against a real RabbitMQ node and against the embedded broker
 * alike, through the real amqplib client: if the embedded broker passes what the node passes, the services cannot
 * tell them apart. Error codes and texts are RabbitMQ 3.10's.
 *
 * `open` is called once; the caller owns the broker's lifecycle. Every case uses fresh names, so cases never see
 * each other's queues.
 */
export function describeRabbitMQContract(label: string, open: () => Promise<AmqpBroker>): void {
  describe(`AMQP contract: ${label}`, () => {
    let broker: AmqpBroker;
    const opened: ChannelModel[] = [];
    const name = (what: string) => `contract-${what}-${randomBytes(4).toString('hex')}`;
    const connect = async () => {
      const conn = await broker.connect();
      conn.on('error', () => undefined);
      opened.push(conn);
      return conn;
    };
    const channel = async () => quiet(await (await connect()).createChannel());
    const confirmChannel = async () => quiet(await (await connect()).createConfirmChannel());

    beforeAll(async () => {
      broker = await open();
    });
    afterAll(async () => {
      await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
    });

    it('round-trips a message through the default exchange with its properties intact', async () => {
      const ch = await confirmChannel();
      const q = name('props');
      await ch.assertQueue(q, { durable: false });
      ch.sendToQueue(q, Buffer.from('build 42'), { persistent: true, contentType: 'application/json', messageId: 'm-1', correlationId: 'c-1', timestamp: 1_700_000_000, headers: { 'x-attempt': 3, source: 'frontend' } });
      await ch.waitForConfirms();
      const msg = await ch.get(q, { noAck: true });
      expect(msg && msg.content.toString()).toBe('build 42');
      expect(msg && msg.fields).toMatchObject({ exchange: '', routingKey: q, redelivered: false, messageCount: 0 });
      expect(msg && msg.properties).toMatchObject({ deliveryMode: 2, contentType: 'application/json', messageId: 'm-1', correlationId: 'c-1', timestamp: 1_700_000_000, headers: { 'x-attempt': 3, source: 'frontend' } });
    });

    it('declare answers the ready-message and consumer counts; an empty name gets a server-named amq.gen- queue', async () => {
      const ch = await channel();
      const q = name('counts');
      await ch.assertQueue(q, { durable: false });
      ch.sendToQueue(q, Buffer.from('a'));
      ch.sendToQueue(q, Buffer.from('b'));
      await waitFor(async () => (await ch.checkQueue(q)).messageCount === 2);
      await ch.consume(q, () => undefined, { noAck: false });
      // Both are delivered and unacknowledged now: they are no longer "ready".
      await waitFor(async () => (await ch.checkQueue(q)).messageCount === 0);
      expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 1 });
      const server = await ch.assertQueue('', { exclusive: true });
      expect(server.queue).toMatch(/^amq\.gen-[\w-]{22}$/);
    });

    it('a passive declare of a missing queue closes the channel with 404 NOT_FOUND naming the queue', async () => {
      const ch = await channel();
      const q = name('missing');
      await expect(ch.checkQueue(q)).rejects.toThrow(`404 (NOT-FOUND) with message "NOT_FOUND - no queue '${q}' in vhost '/'"`);
      await expect(ch.checkQueue('x')).rejects.toThrow(/closed/i);
      await expect((await channel()).checkExchange(name('nox'))).rejects.toThrow(/404 \(NOT-FOUND\).*no exchange/);
    });

    it('redeclaring a queue with another durable flag is 406 PRECONDITION_FAILED, inequivalent arg durable', async () => {
      const ch = await channel();
      const q = name('durable');
      await ch.assertQueue(q, { durable: true });
      await expect(ch.assertQueue(q, { durable: false })).rejects.toThrow(`PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'false' but current is 'true'`);
      await (await channel()).deleteQueue(q);
    });

    it('an exclusive queue is locked (405 RESOURCE_LOCKED) for other connections, and deleted with its connection', async () => {
      const owner = await connect();
      const q = name('exclusive');
      await quiet(await owner.createChannel()).assertQueue(q, { exclusive: true });
      await expect((await channel()).consume(q, () => undefined)).rejects.toThrow(/405 \(RESOURCE-LOCKED\).*cannot obtain exclusive access to locked queue/);
      await expect((await channel()).checkQueue(q)).rejects.toThrow(/RESOURCE_LOCKED/);
      await owner.close();
      await expect((await channel()).checkQueue(q)).rejects.toThrow(/NOT_FOUND/);
    });

    it('routes through direct, fanout and topic exchanges by their bindings; unbinding stops the routing', async () => {
      const ch = await confirmChannel();
      const [direct, fanout, topic] = [name('direct'), name('fanout'), name('topic')];
      const [a, b, c] = [name('qa'), name('qb'), name('qc')];
      await ch.assertExchange(direct, 'direct', { durable: false });
      await ch.assertExchange(fanout, 'fanout', { durable: false });
      await ch.assertExchange(topic, 'topic', { durable: false });
      for (const q of [a, b, c]) await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(a, direct, 'build');
      await ch.bindQueue(a, fanout, '');
      await ch.bindQueue(b, fanout, '');
      await ch.bindQueue(b, topic, 'jobs.*.done');
      await ch.bindQueue(c, topic, 'jobs.#');
      ch.publish(direct, 'build', Buffer.from('d1'));
      ch.publish(direct, 'other', Buffer.from('d2'));
      ch.publish(fanout, 'ignored', Buffer.from('f1'));
      ch.publish(topic, 'jobs.7.done', Buffer.from('t1'));
      ch.publish(topic, 'jobs.7.step.done', Buffer.from('t2'));
      await ch.waitForConfirms();
      expect(await drain(ch, a)).toEqual(['d1', 'f1']);
      expect(await drain(ch, b)).toEqual(['f1', 't1']);
      expect(await drain(ch, c)).toEqual(['t1', 't2']);
      await ch.unbindQueue(c, topic, 'jobs.#');
      ch.publish(topic, 'jobs.8.done', Buffer.from('t3'));
      await ch.waitForConfirms();
      expect(await drain(ch, b)).toEqual(['t3']);
      expect(await drain(ch, c)).toEqual([]);
    });

    it('returns an unroutable mandatory message with 312 NO_ROUTE, and still confirms it', async () => {
      const ch = await confirmChannel();
      const returned: Array<{ replyCode: number; replyText: string; routingKey: string; body: string }> = [];
      ch.on('return', (m: ConsumeMessage) => returned.push({ ...(m.fields as unknown as { replyCode: number; replyText: string; routingKey: string }), body: m.content.toString() }));
      const key = name('nowhere');
      const confirmed = new Promise<unknown>((resolve) => ch.publish('amq.direct', key, Buffer.from('lost'), { mandatory: true }, (err) => resolve(err)));
      expect(await confirmed).toBeNull();
      await waitFor(async () => returned.length === 1);
      expect(returned[0]).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', routingKey: key, body: 'lost' });
    });

    it('prefetch bounds the unacknowledged deliveries of a consumer; each ack lets the next one through', async () => {
      const ch = await channel();
      const q = name('prefetch');
      await ch.assertQueue(q, { durable: false });
      for (let i = 1; i <= 5; i++) ch.sendToQueue(q, Buffer.from(String(i)));
      await ch.prefetch(2);
      const got: ConsumeMessage[] = [];
      await ch.consume(q, (m) => m && got.push(m), { noAck: false });
      await waitFor(async () => got.length === 2);
      await sleep(150);
      expect(got.map((m) => m.content.toString())).toEqual(['1', '2']);
      ch.ack(got[0]!);
      await waitFor(async () => got.length === 3);
      await sleep(100);
      expect(got.length).toBe(3);
      expect(got[2]!.content.toString()).toBe('3');
      expect(got.map((m) => m.fields.deliveryTag)).toEqual([1, 2, 3]);
    });

    it('delivers round-robin across the consumers of a queue', async () => {
      const ch = await channel();
      const q = name('rr');
      await ch.assertQueue(q, { durable: false });
      const byConsumer: Record<string, string[]> = { a: [], b: [] };
      await ch.consume(q, (m) => m && byConsumer.a!.push(m.content.toString()), { noAck: true, consumerTag: 'a' });
      await ch.consume(q, (m) => m && byConsumer.b!.push(m.content.toString()), { noAck: true, consumerTag: 'b' });
      for (let i = 1; i <= 6; i++) ch.sendToQueue(q, Buffer.from(String(i)));
      await waitFor(async () => byConsumer.a!.length + byConsumer.b!.length === 6);
      expect(byConsumer.a!.length).toBe(3);
      expect(byConsumer.b!.length).toBe(3);
    });

    it('nack with requeue puts messages back in their original order, flagged redelivered; nack without requeue drops it', async () => {
      const ch = await channel();
      const q = name('nack');
      await ch.assertQueue(q, { durable: false });
      for (const body of ['1', '2', '3', '4']) ch.sendToQueue(q, Buffer.from(body));
      await waitFor(async () => (await ch.checkQueue(q)).messageCount === 4);
      const first = taken(await ch.get(q));
      const second = taken(await ch.get(q));
      const third = taken(await ch.get(q));
      ch.nack(second, false, true);
      ch.nack(first, false, true);
      ch.nack(third, false, false);
      const after = await drain(ch, q, true);
      expect(after).toEqual([
        ['1', true],
        ['2', true],
        ['4', false],
      ]);
    });

    it('acknowledging an unknown delivery tag closes the channel with 406 PRECONDITION_FAILED', async () => {
      const ch = await channel();
      const closed = new Promise<Error>((resolve) => ch.once('error', resolve));
      ch.ack({ fields: { deliveryTag: 7 } } as ConsumeMessage);
      expect((await closed).message).toContain('PRECONDITION_FAILED - unknown delivery tag 7');
    });

    it('unacknowledged messages go back to their queue, redelivered, when their channel or connection closes', async () => {
      const ch = await channel();
      const q = name('unacked');
      await ch.assertQueue(q, { durable: false });
      ch.sendToQueue(q, Buffer.from('one'));
      ch.sendToQueue(q, Buffer.from('two'));
      const worker = await channel();
      await worker.prefetch(1);
      const seen: string[] = [];
      await worker.consume(q, (m) => m && seen.push(m.content.toString()), { noAck: false });
      await waitFor(async () => seen.length === 1);
      await worker.close();
      const conn = await connect();
      const other = quiet(await conn.createChannel());
      const again: ConsumeMessage[] = [];
      await other.consume(q, (m) => m && again.push(m), { noAck: false });
      await waitFor(async () => again.length === 2);
      expect(again.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
        ['one', true],
        ['two', false],
      ]);
      await conn.close();
      expect(await drain(ch, q, true)).toEqual([
        ['one', true],
        ['two', true],
      ]);
    });

    it('get, purge and delete answer message counts; delete refuses a queue in use or not empty with 406', async () => {
      const ch = await channel();
      const q = name('counts2');
      await ch.assertQueue(q, { durable: false });
      expect(await ch.get(q)).toBe(false);
      for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(String(i)));
      await waitFor(async () => (await ch.checkQueue(q)).messageCount === 3);
      expect(taken(await ch.get(q, { noAck: true })).fields).toMatchObject({ messageCount: 2 });
      await expect(ch.deleteQueue(q, { ifEmpty: true })).rejects.toThrow(`PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`);
      const ch2 = await channel();
      expect(await ch2.purgeQueue(q)).toEqual({ messageCount: 2 });
      await ch2.consume(q, () => undefined);
      await expect(ch2.deleteQueue(q, { ifUnused: true })).rejects.toThrow(`PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`);
      const ch3 = await channel();
      ch3.sendToQueue(q, Buffer.from('x'));
      await waitFor(async () => (await ch3.checkQueue(q)).messageCount === 1);
      expect(await ch3.deleteQueue(q)).toEqual({ messageCount: 1 });
      expect(await ch3.deleteQueue(q)).toEqual({ messageCount: 0 });
    });

    it("deleting a queue cancels its consumers: amqplib hands the consumer null", async () => {
      const ch = await channel();
      const q = name('cancelled');
      await ch.assertQueue(q, { durable: false });
      const cancelled = new Promise<ConsumeMessage | null>((resolve) => void ch.consume(q, (m) => m === null && resolve(m)));
      await sleep(50);
      await (await channel()).deleteQueue(q);
      expect(await cancelled).toBeNull();
    });

    it('basic.recover puts every unacknowledged message back, redelivered', async () => {
      const ch = await channel();
      const q = name('recover');
      await ch.assertQueue(q, { durable: false });
      ch.sendToQueue(q, Buffer.from('r'));
      const got: ConsumeMessage[] = [];
      await ch.consume(q, (m) => m && got.push(m), { noAck: false });
      await waitFor(async () => got.length === 1);
      await ch.recover();
      await waitFor(async () => got.length === 2);
      expect(got.map((m) => [m.fields.deliveryTag, m.fields.redelivered])).toEqual([
        [1, false],
        [2, true],
      ]);
    });

    it('an auto-delete queue goes with its last consumer', async () => {
      const ch = await channel();
      const q = name('autodelete');
      await ch.assertQueue(q, { durable: false, autoDelete: true });
      const { consumerTag } = await ch.consume(q, () => undefined);
      await ch.cancel(consumerTag);
      await expect((await channel()).checkQueue(q)).rejects.toThrow(/NOT_FOUND/);
    });

    it('exchange declarations: 406 on another type, 403 on the reserved amq. prefix', async () => {
      const x = name('x');
      const ch = await channel();
      await ch.assertExchange(x, 'direct', { durable: false });
      await expect(ch.assertExchange(x, 'fanout', { durable: false })).rejects.toThrow(`PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'fanout' but current is 'direct'`);
      await expect((await channel()).assertExchange('amq.twin', 'direct')).rejects.toThrow("ACCESS_REFUSED - exchange name 'amq.twin' contains reserved prefix 'amq.*'");
      await (await channel()).deleteExchange(x);
    });

    it('confirms every publish of a confirm channel, and a message larger than frame_max arrives whole', async () => {
      const ch = await confirmChannel();
      const q = name('confirms');
      await ch.assertQueue(q, { durable: true });
      for (let i = 0; i < 500; i++) ch.sendToQueue(q, Buffer.from(String(i)), { persistent: true });
      const big = randomBytes(300_000);
      ch.sendToQueue(q, big, { persistent: true });
      await ch.waitForConfirms();
      expect((await ch.checkQueue(q)).messageCount).toBe(501);
      expect(await ch.purgeQueue(q)).toEqual({ messageCount: 501 });
      ch.sendToQueue(q, big);
      await ch.waitForConfirms();
      expect(taken(await ch.get(q, { noAck: true })).content.equals(big)).toBe(true);
      await ch.deleteQueue(q);
    });

    it('refuses guest with a wrong password: 403 ACCESS_REFUSED', async () => {
      const url = new URL(broker.url);
      url.password = 'not-the-password';
      await expect(amqp.connect(url.toString())).rejects.toThrow(/403 \(ACCESS-REFUSED\).*Login was refused/);
    });

    it("serves the twin's own publisher and consumer (live/pipeline/amqp.ts): confirmed publishes, acks, nack(msg,false,false)", async () => {
      const q = name('pipeline');
      const publisher = new ConfirmPublisher(connect, [q], new Set([q]));
      const seen: string[] = [];
      const consumer = new (class extends ReconnectingConsumer {
        protected override readonly durable = true;
        protected async handle(_ch: Channel, content: Buffer, ack: () => void, nack: () => void): Promise<void> {
          const { n } = JSON.parse(content.toString()) as { n: number };
          seen.push(String(n));
          if (n % 2 === 0) ack();
          else nack();
        }
      })(connect, q, 16);
      await consumer.start();
      for (let n = 1; n <= 20; n++) await publisher.publish(q, { n });
      await waitFor(async () => seen.length === 20);
      expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
      const ch = await channel();
      expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 1 });
      await consumer.stop();
      await publisher.close();
      await ch.deleteQueue(q);
    });
  });
}

/** A channel closed by the broker emits `error`; the rejected call tells the test, the listener keeps the process alive. */
function quiet<C extends Channel>(ch: C): C {
  ch.on('error', () => undefined);
  return ch;
}

/** The message `get` returned; amqplib's `false` (the queue was empty) fails the case. */
export function taken(m: GetMessage | false): GetMessage {
  if (m === false) throw new Error('basic.get found the queue empty');
  return m;
}

/** Everything ready in the queue, taken with no-ack (bodies, or bodies with the redelivered flag). */
async function drain(ch: Channel, queue: string): Promise<string[]>;
async function drain(ch: Channel, queue: string, withRedelivered: true): Promise<Array<[string, boolean]>>;
async function drain(ch: Channel, queue: string, withRedelivered = false): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) out.push(withRedelivered ? [m.content.toString(), m.fields.redelivered] : m.content.toString());
  return out;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
