import { SILENT_LOG, type ServiceLog } from '../service-logs-writer.ts';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';

/** Opens an AMQP connection (a provider handle's `connect()`, or `amqp.connect(url)`). */
export type AmqpConnect = () => Promise<ChannelModel>;

/**
 * Closes the TCP socket under a connection at once: no `connection.close`, no acks, no cancels. The socket is
 * destroyed with an error so that amqplib notices and emits `close` (a plain destroy leaves it believing the
 * connection open, and a later `close()` would wait for ever).
 */
export function destroyConnection(conn: ChannelModel | null | undefined): void {
  if (!conn) return;
  const stream = (conn as unknown as { connection?: { stream?: { destroy(err?: Error): void } } }).connection?.stream;
  if (stream) stream.destroy(new Error('connection killed by the twin'));
  else void conn.close().catch(() => undefined);
}

export type { Channel, ChannelModel, ConfirmChannel };

/**
 * Publishes to a queue on a confirm channel, opened on first use and again after the connection was lost:
 * `publish` resolves once the broker confirmed the message, and rejects when it cannot be delivered (the broker
 * is down, refused it, or the connection broke), so the caller can answer with an error.
 */
export class ConfirmPublisher {
  private conn: ChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private opening: Promise<ConfirmChannel> | null = null;

  constructor(
    private readonly connect: AmqpConnect,
    /** Queues declared when the channel opens: non-durable, except those named in `durable`. */
    private readonly queues: readonly string[],
    private readonly durable: ReadonlySet<string> = new Set(),
  ) {}

  private channelFor(): Promise<ConfirmChannel> {
    if (this.channel) return Promise.resolve(this.channel);
    this.opening ??= (async () => {
      try {
        const conn = await this.connect();
        conn.on('error', () => undefined);
        const ch = await conn.createConfirmChannel();
        ch.on('error', () => undefined);
        for (const q of this.queues) await ch.assertQueue(q, { durable: this.durable.has(q) });
        conn.once('close', () => {
          if (this.conn === conn) {
            this.conn = null;
            this.channel = null;
          }
        });
        this.conn = conn;
        this.channel = ch;
        return ch;
      } finally {
        this.opening = null;
      }
    })();
    return this.opening;
  }

  async publish(queue: string, msg: unknown): Promise<void> {
    const ch = await this.channelFor();
    await new Promise<void>((resolve, reject) => {
      try {
        // Messages to a durable queue are persistent: they survive a restart of the broker with the queue.
        ch.sendToQueue(queue, Buffer.from(JSON.stringify(msg)), { contentType: 'application/json', persistent: this.durable.has(queue) }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  async close(): Promise<void> {
    const c = this.conn;
    this.conn = null;
    this.channel = null;
    if (c) await c.close().catch(() => undefined);
  }

  /** The socket destroyed at once (the owning stage was killed). */
  kill(): void {
    destroyConnection(this.conn);
    this.conn = null;
    this.channel = null;
  }
}

/** What every queue consumer of the pipeline takes. */
export interface ConsumerOptions {
  connect: AmqpConnect;
  /**
   * Wall ms between attempts to reach the broker again (default 250). A live replay scales it with its time scale:
   * at 240×, 250 ms is a minute of scenario time, and consumers in series each wait their own.
   */
  reconnectMs?: number;
}

/**
 * A queue consumer that reconnects: `start()` connects, declares and consumes; an unexpected connection loss
 * (broker killed or restarted) retries every `retryMs` until `stop()`/`kill()`.
 */
export abstract class ReconnectingConsumer {
  protected conn: ChannelModel | null = null;
  protected channel: Channel | null = null;
  private running = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private consumerTag: string | null = null;
  /** Connection attempts that failed, and connections lost, since construction. */
  connectFailures = 0;
  connectionsLost = 0;
  /** The service's own log (`cannot reach rabbitmq` while the broker is gone); silent outside a stage worker. */
  log: ServiceLog = SILENT_LOG;

  constructor(
    protected readonly connect: AmqpConnect,
    protected readonly queue: string,
    protected readonly prefetch = 16,
    private readonly retryMs = 250,
  ) {}

  /** Whether the consumed queue is durable (survives a broker restart); the pipeline's work queues are not. */
  protected readonly durable: boolean = false;

  /** Handles one message; resolve after ack/nack. */
  protected abstract handle(channel: Channel, content: Buffer, ack: () => void, nack: () => void): Promise<void>;

  get connected(): boolean {
    return this.channel !== null;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.open();
  }

  private async open(): Promise<void> {
    if (!this.running) return;
    let conn: ChannelModel | null = null;
    try {
      conn = await this.connect();
      conn.on('error', () => undefined);
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await ch.prefetch(this.prefetch);
      await ch.assertQueue(this.queue, { durable: this.durable });
      await this.declare(ch);
      if (!this.running) {
        await conn.close().catch(() => undefined);
        return;
      }
      conn.once('close', () => {
        if (this.conn !== conn) return;
        this.conn = null;
        this.channel = null;
        if (this.running) {
          this.connectionsLost++;
          this.log.cannotReach('rabbitmq');
          this.scheduleRetry();
        }
      });
      this.conn = conn;
      this.channel = ch;
      this.log.reached('rabbitmq');
      const { consumerTag } = await ch.consume(
        this.queue,
        (msg) => {
          if (msg === null) return;
          let settled = false;
          const ack = () => {
            if (settled) return;
            settled = true;
            try {
              ch.ack(msg);
            } catch {
              /* channel gone: the broker requeues it */
            }
          };
          const nack = () => {
            if (settled) return;
            settled = true;
            try {
              ch.nack(msg, false, false);
            } catch {
              /* channel gone */
            }
          };
          this.handle(ch, msg.content, ack, nack).catch(() => nack());
        },
        { noAck: false },
      );
      this.consumerTag = consumerTag;
    } catch {
      this.connectFailures++;
      if (this.running) this.log.cannotReach('rabbitmq');
      if (conn && this.conn !== conn) destroyConnection(conn);
      if (this.running && this.conn === null) this.scheduleRetry();
    }
  }

  /** Extra declarations (queues it publishes to). */
  protected async declare(_ch: Channel): Promise<void> {}

  private scheduleRetry(): void {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, this.retryMs);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Graceful: cancels the consumer and closes the connection; unacked messages go back to the queue. */
  async stop(): Promise<void> {
    this.running = false;
    this.clearRetry();
    const conn = this.conn;
    const ch = this.channel;
    this.conn = null;
    this.channel = null;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => undefined);
    this.consumerTag = null;
    if (conn) await conn.close().catch(() => undefined);
  }

  /** Abrupt: the socket is destroyed, nothing is acked or cancelled. */
  kill(): void {
    this.running = false;
    this.clearRetry();
    const conn = this.conn;
    this.conn = null;
    this.channel = null;
    this.consumerTag = null;
    destroyConnection(conn);
  }
}
