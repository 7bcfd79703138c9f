import type http from 'node:http';
import type pg from 'pg';
import { verifyWebhookSignature } from '../../github/client.ts';
import { destroyConnection, type AmqpConnect, type ChannelModel, type ConfirmChannel } from './amqp.ts';
import { HttpStage, readBody, send } from './http-util.ts';
import { RUN_QUEUE, type RunMessage } from './schema.ts';

export interface FrontendOptions {
  pool: pg.Pool;
  connect: AmqpConnect;
  /** The hook's secret: `X-Hub-Signature-256` is checked against it. */
  webhookSecret: string;
  port?: number;
}

/**
 * frontend: `POST /hooks/github`. A signed `push` becomes a `builds` row (`queued`) and a message on the
 * non-durable `run-queue`; 200 only when both happened. A PostgreSQL or RabbitMQ failure answers 500 (and
 * the row is removed again), so GHE logs the delivery as failed: the push is not triggered.
 */
export class Frontend {
  private readonly http: HttpStage;
  private conn: ChannelModel | null = null;
  private channel: ConfirmChannel | null = null;
  private opening: Promise<ConfirmChannel> | null = null;
  /** Answers by status, for the test and the README's numbers. */
  readonly answers = new Map<number, number>();

  constructor(private readonly opts: FrontendOptions) {
    this.http = new HttpStage((req, res) => this.route(req, res), opts.port ?? 0);
  }

  get url(): string {
    return this.http.url;
  }

  get hookUrl(): string {
    return `${this.http.url}/hooks/github`;
  }

  async start(): Promise<void> {
    await this.http.start();
  }

  async stop(): Promise<void> {
    await this.http.stop();
    const c = this.conn;
    this.conn = null;
    this.channel = null;
    if (c) await c.close().catch(() => undefined);
  }

  kill(): void {
    this.http.kill();
    destroyConnection(this.conn);
    this.conn = null;
    this.channel = null;
  }

  private answer(res: http.ServerResponse, status: number, body: unknown): void {
    this.answers.set(status, (this.answers.get(status) ?? 0) + 1);
    send(res, status, body);
  }

  private channelFor(): Promise<ConfirmChannel> {
    if (this.channel) return Promise.resolve(this.channel);
    this.opening ??= (async () => {
      try {
        const conn = await this.opts.connect();
        conn.on('error', () => undefined);
        const ch = await conn.createConfirmChannel();
        ch.on('error', () => undefined);
        await ch.assertQueue(RUN_QUEUE, { durable: false });
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

  private async publish(msg: RunMessage): Promise<void> {
    const ch = await this.channelFor();
    await new Promise<void>((resolve, reject) => {
      try {
        ch.sendToQueue(RUN_QUEUE, Buffer.from(JSON.stringify(msg)), { contentType: 'application/json' }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health-check') return this.answer(res, 200, { ok: true });
    if (req.method !== 'POST' || path !== '/hooks/github') return this.answer(res, 404, { error: 'not found' });
    const raw = await readBody(req);
    if (!verifyWebhookSignature(raw, req.headers['x-hub-signature-256'] as string | undefined, this.opts.webhookSecret)) {
      return this.answer(res, 401, { error: 'bad signature' });
    }
    const event = req.headers['x-github-event'];
    if (event !== 'push') return this.answer(res, 200, { ignored: event });
    const payload = JSON.parse(raw.toString('utf8')) as { after?: string; repository?: { full_name?: string } };
    const repo = payload.repository?.full_name;
    const sha = payload.after;
    if (!repo || !sha) return this.answer(res, 400, { error: 'push without repository or after' });
    const guid = (req.headers['x-github-delivery'] as string | undefined) ?? null;
    let buildId: number;
    try {
      const r = await this.opts.pool.query<{ id: string }>("INSERT INTO builds (repo, sha, delivery_guid, status) VALUES ($1, $2, $3, 'queued') RETURNING id", [repo, sha, guid]);
      buildId = Number(r.rows[0]!.id);
    } catch (err) {
      return this.answer(res, 500, { error: `postgres: ${err instanceof Error ? err.message : String(err)}` });
    }
    try {
      await this.publish({ buildId, repo, sha });
    } catch (err) {
      await this.opts.pool.query('DELETE FROM builds WHERE id = $1', [buildId]).catch(() => undefined);
      return this.answer(res, 500, { error: `rabbitmq: ${err instanceof Error ? err.message : String(err)}` });
    }
    return this.answer(res, 200, { buildId });
  }
}
