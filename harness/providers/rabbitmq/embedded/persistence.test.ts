import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker, type ChannelSink } from './broker.ts';
import { encodeProperties } from './codec.ts';
import { openJournal, type MessageRecord } from './persistence.ts';

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'twin-journal-test-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const PERSISTENT = encodeProperties({ deliveryMode: 2, messageId: 'kept' });
const message = (id: number, body: string): MessageRecord => ({ id, exchange: '', routingKey: 'q', properties: PERSISTENT, body: Buffer.from(body) });
const bodies = (dir: string, queue: string) =>
  openJournal(dir)
    .recovered.queues.find((q) => q.name === queue)
    ?.messages.map((m) => [m.message.body.toString(), m.redelivered]);

const SILENT: ChannelSink = { deliver: () => undefined, returnUnroutable: () => undefined, confirm: () => undefined, cancelConsumer: () => undefined };

describe('the journal', () => {
  it('starts empty in a new data dir', () => {
    expect(openJournal(dataDir()).recovered).toEqual({ exchanges: [], queues: [], bindings: [] });
  });

  it('replays what was written before a kill (no clean close): every recovered message counts as possibly delivered', () => {
    const dir = dataDir();
    const { journal } = openJournal(dir);
    journal.exchangeDeclared({ name: 'events', type: 'topic', autoDelete: false, internal: false, arguments: {} });
    journal.queueDeclared({ name: 'q', autoDelete: false, arguments: { 'x-queue-mode': 'lazy' } });
    journal.queueDeclared({ name: 'gone', autoDelete: false, arguments: {} });
    journal.bound({ exchange: 'events', queue: 'q', routingKey: 'jobs.#', arguments: {} });
    journal.bound({ exchange: 'events', queue: 'gone', routingKey: '#', arguments: {} });
    journal.enqueued(message(1, 'one'), ['q', 'gone']);
    journal.enqueued(message(2, 'two'), ['q']);
    journal.enqueued(message(3, 'three'), ['q']);
    journal.removed('q', [2]);
    journal.queueDeleted('gone');
    journal.flush();

    const { recovered } = openJournal(dir);
    expect(recovered.exchanges.map((x) => x.name)).toEqual(['events']);
    expect(recovered.bindings).toEqual([{ exchange: 'events', queue: 'q', routingKey: 'jobs.#', arguments: {} }]);
    expect(recovered.queues.map((q) => [q.name, q.arguments])).toEqual([['q', { 'x-queue-mode': 'lazy' }]]);
    const [first] = recovered.queues[0]!.messages;
    expect(first!.message.properties.equals(PERSISTENT)).toBe(true);
    expect(bodies(dir, 'q')).toEqual([
      ['one', true],
      ['three', true],
    ]);
  });

  it('loses message records that were never flushed, and keeps declarations, which are written at once', () => {
    const dir = dataDir();
    const { journal } = openJournal(dir);
    journal.queueDeclared({ name: 'q', autoDelete: false, arguments: {} });
    journal.enqueued(message(1, 'unflushed'), ['q']);
    expect(bodies(dir, 'q')).toEqual([]);
  });

  it('after a clean close restores exactly the redelivered flags it recorded', () => {
    const dir = dataDir();
    const { journal } = openJournal(dir);
    journal.queueDeclared({ name: 'q', autoDelete: false, arguments: {} });
    journal.enqueued(message(1, 'delivered before'), ['q']);
    journal.enqueued(message(2, 'never delivered'), ['q']);
    journal.close([{ queue: 'q', id: 1 }]);
    expect(bodies(dir, 'q')).toEqual([
      ['delivered before', true],
      ['never delivered', false],
    ]);
  });

  it('drops a torn record at the end (a kill mid-write) and compacts the log to the live state on open', () => {
    const dir = dataDir();
    const log = join(dir, 'journal.log');
    const { journal } = openJournal(dir);
    journal.queueDeclared({ name: 'q', autoDelete: false, arguments: {} });
    for (let i = 1; i <= 200; i++) journal.enqueued(message(i, `m${i}`), ['q']);
    journal.removed('q', Array.from({ length: 199 }, (_, i) => i + 1));
    journal.flush();
    const torn = Buffer.from([0, 0, 0, 40, 0, 0, 0, 0, 0x7b]);
    appendFileSync(log, torn);
    const before = statSync(log).size;

    expect(bodies(dir, 'q')).toEqual([['m200', true]]);
    const after = readFileSync(log);
    expect(after.length).toBeLessThan(before / 10);
    expect(after.subarray(after.length - torn.length).equals(torn)).toBe(false);
    expect(bodies(dir, 'q')).toEqual([['m200', true]]);
  });

  it('through the broker: a kill keeps persistent messages of durable queues (acked ones excepted, unacked ones included), nothing else', () => {
    const dir = dataDir();
    const { journal, recovered } = openJournal(dir);
    const broker = new Broker(journal, recovered);
    const ch = broker.connect().openChannel(SILENT);
    ch.declareQueue({ queue: 'runs', durable: true });
    ch.declareQueue({ queue: 'scratch', durable: false });
    ch.declareQueue({ queue: 'mine', durable: true, exclusive: true });
    const send = (queue: string, body: string, persistent: boolean) => ch.publish({ exchange: '', routingKey: queue }, encodeProperties(persistent ? { deliveryMode: 2 } : {}), Buffer.from(body));
    send('runs', 'acked', true);
    send('runs', 'in flight', true);
    send('runs', 'transient', false);
    send('runs', 'waiting', true);
    send('scratch', 'not durable', true);
    send('mine', 'exclusive', true);
    broker.settle();
    ch.ack(ch.get('runs', false)!.deliveryTag, false);
    ch.get('runs', false);
    broker.settle();

    const after = openJournal(dir).recovered;
    expect(after.queues.map((q) => q.name)).toEqual(['runs']);
    expect(after.queues[0]!.messages.map((m) => m.message.body.toString())).toEqual(['in flight', 'waiting']);
  });
});
