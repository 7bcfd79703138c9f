import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ConsumeMessage } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { privateDataRoot } from '../temp-dir.ts';
import { expectCleanStop } from '../stop-contract.ts';
import { waitForPortClosed } from '../wait.ts';
import { describeRabbitMQContract, taken } from './contract.ts';
import { LOCAL_PROGRAMS, missingPackagesReason } from '../missing-packages.ts';
import { RabbitMQProvider } from './rabbitmq-provider.ts';
import type { StartedRabbitMQ } from './started-rabbitmq.ts';

const localAvailable = missingPackagesReason('local RabbitMQ node (AMQP contract)', [LOCAL_PROGRAMS.rabbitmq()]) === undefined;

/** A node takes seconds to boot: one per file, shared by its contract and its freeze case. */
describe.skipIf(!localAvailable)('the AMQP contract on a real RabbitMQ node (local backend)', () => {
  let node: StartedRabbitMQ | undefined;
  afterAll(async () => {
    await node?.stop();
  });
  describeRabbitMQContract('local RabbitMQ node', async () => (node = await new RabbitMQProvider().withBackend('local').start()));
  it('SIGSTOP holds back a publisher confirm until SIGCONT', async () => {
    await expectConfirmHeldWhileStopped(node!);
  });
});

describe('RabbitMQProvider, embedded backend (the twin’s AMQP broker in a child process)', () => {
  let mq: StartedRabbitMQ | undefined;
  afterAll(async () => {
    await mq?.stop();
  });

  describeRabbitMQContract('embedded broker (child process)', async () => (mq = await new RabbitMQProvider().withBackend('embedded').start()));

  it('runs as a child Node process on a free port, with its journal in a private temp dir', () => {
    const started = mq!;
    expect(started.backend).toBe('embedded');
    expect(started.backendDetail).toMatch(/^the twin's embedded AMQP 0-9-1 broker \(a child Node process\) on 127\.0\.0\.1:\d+, journal in .*\(embedded backend requested\)$/);
    expect(started.port).not.toBe(5672);
    expect(started.nodeName).toBeUndefined();
    expect(started.dataDir!.startsWith(privateDataRoot()) || started.dataDir!.startsWith(tmpdir())).toBe(true);
    expect(readFileSync(`/proc/${started.pid}/comm`, 'utf8').trim()).toMatch(/^node/);
  });

  // About 0.8 s here (0.5 s of it the tsx loader), where a node takes 5 to 7 s; the bound leaves room for a loaded machine.
  it('is ready within 3 s', async () => {
    const t0 = performance.now();
    await using quick = await new RabbitMQProvider().withBackend('embedded').start();
    const bootMs = performance.now() - t0;
    expect(quick.backend).toBe('embedded');
    expect(bootMs).toBeLessThan(3_000);
  });

  it('a graceful restart keeps durable queues, their persistent messages and delivered flags; transient messages and non-durable queues are gone', async () => {
    const started = mq!;
    const conn = await started.connect();
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('usage-queue', { durable: true });
    await ch.assertQueue('transient-queue', { durable: false });
    ch.sendToQueue('usage-queue', Buffer.from('durable build'), { persistent: true });
    ch.sendToQueue('usage-queue', Buffer.from('transient message'), { persistent: false });
    ch.sendToQueue('usage-queue', Buffer.from('never delivered'), { persistent: true });
    ch.sendToQueue('transient-queue', Buffer.from('transient build'), { persistent: false });
    await ch.waitForConfirms();
    // Delivered once and requeued: it must come back flagged redelivered, the undelivered one must not.
    const first = taken(await ch.get('usage-queue'));
    ch.nack(first, false, true);
    await conn.close();

    const before = started.pid;
    await started.restart();
    expect(started.pid).not.toBe(before);

    const after = await started.connect();
    const ch2 = await after.createChannel();
    ch2.on('error', () => undefined);
    const got = [await ch2.get('usage-queue', { noAck: true }), await ch2.get('usage-queue', { noAck: true }), await ch2.get('usage-queue', { noAck: true })];
    expect(got.map((m) => m && [m.content.toString(), m.fields.redelivered])).toEqual([['durable build', true], ['never delivered', false], false]);
    await expect(ch2.checkQueue('transient-queue')).rejects.toThrow(/NOT_FOUND/);
    await after.close().catch(() => undefined);
  });

  it('dies for real on SIGKILL: connections close, the port closes; restart() brings back confirmed persistent messages, unacked ones included', async () => {
    const started = mq!;
    const conn = await started.connect();
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('run-queue', { durable: true });
    ch.sendToQueue('run-queue', Buffer.from('confirmed before the crash'), { persistent: true });
    ch.sendToQueue('run-queue', Buffer.from('delivered, never acked'), { persistent: true });
    await ch.waitForConfirms();
    const worker = await conn.createChannel();
    await worker.prefetch(1);
    const inFlight = new Promise<ConsumeMessage>((resolve) => void worker.consume('run-queue', (m) => m && resolve(m), { noAck: false }));
    expect((await inFlight).content.toString()).toBe('confirmed before the crash');

    const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
    const killedPid = started.pid!;
    process.kill(killedPid, 'SIGKILL');
    await closed;
    expect(await waitForPortClosed(started.host, started.port, 5_000)).toBe(true);
    await expect(started.connect({ timeoutMs: 1_000 })).rejects.toThrow();

    await started.restart();
    expect(started.pid).not.toBe(killedPid);
    const after = await started.connect();
    const ch2 = await after.createChannel();
    const recovered = [await ch2.get('run-queue', { noAck: true }), await ch2.get('run-queue', { noAck: true })];
    // After a crash RabbitMQ cannot know what was delivered: every recovered message is flagged redelivered.
    expect(recovered.map((m) => m && [m.content.toString(), m.fields.redelivered])).toEqual([
      ['confirmed before the crash', true],
      ['delivered, never acked', true],
    ]);
    await after.close();
  });

  it('SIGSTOP holds back a publisher confirm until SIGCONT', async () => {
    await expectConfirmHeldWhileStopped(mq!);
  });

  it('stop() closes the port and removes the temp dir; await using does the same', async () => {
    const started = mq!;
    const tempDir = started.dataDir!.replace(/\/data$/, '');
    await expectCleanStop(started, tempDir, () => new RabbitMQProvider().withBackend('embedded').start());
  });
});

/** A frozen broker keeps its sockets open but answers nothing: the confirm arrives only once it runs again. */
async function expectConfirmHeldWhileStopped(started: StartedRabbitMQ): Promise<void> {
  const conn = await started.connect();
  const ch = await conn.createConfirmChannel();
  const q = `freeze-${started.port}`;
  await ch.assertQueue(q, { durable: true });
  process.kill(started.pid!, 'SIGSTOP');
  try {
    let confirmed = false;
    const confirm = new Promise<void>((resolve, reject) => ch.sendToQueue(q, Buffer.from('while frozen'), { persistent: true }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve())));
    void confirm.then(() => (confirmed = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(confirmed).toBe(false);
    process.kill(started.pid!, 'SIGCONT');
    await confirm;
  } finally {
    process.kill(started.pid!, 'SIGCONT');
  }
  expect((await ch.checkQueue(q)).messageCount).toBe(1);
  await ch.deleteQueue(q);
  await conn.close();
}
