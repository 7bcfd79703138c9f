import type http from 'node:http';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { HttpStage, readBody, send } from './http-util.ts';

export interface OutputProcessorOptions {
  pool: pg.Pool;
  redis: Redis;
  port?: number;
}

export const outputKey = (id: number | string) => `output:${id}`;
const finishedKey = (id: number | string) => `finished:${id}`;

/**
 * output-processor: `POST /builds/:id/start` (row `running`, `started_at` once), `/output` (`{ lines }`,
 * RPUSHed to `output:<id>`), `/finish` (`{ parallelism }`; when every parallel container finished: the Redis
 * lines are copied to `step_output`, the row becomes `succeeded` with `finished_at`, the keys are deleted).
 */
export class OutputProcessor {
  private readonly http: HttpStage;

  constructor(private readonly opts: OutputProcessorOptions) {
    this.http = new HttpStage((req, res) => this.route(req, res), opts.port ?? 0);
  }

  get url(): string {
    return this.http.url;
  }

  start(): Promise<void> {
    return this.http.start();
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  kill(): void {
    this.http.kill();
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && path === '/health-check') return send(res, 200, { ok: true });
    const m = /^\/builds\/(\d+)\/(start|output|finish)$/.exec(path);
    if (req.method !== 'POST' || !m) return send(res, 404, { error: 'not found' });
    const id = Number(m[1]);
    const raw = await readBody(req);
    const body = (raw.length ? JSON.parse(raw.toString('utf8')) : {}) as { lines?: string[]; parallelism?: number };
    const { pool, redis } = this.opts;
    if (m[2] === 'start') {
      await pool.query("UPDATE builds SET status = 'running', started_at = COALESCE(started_at, clock_timestamp()) WHERE id = $1 AND status IN ('queued', 'scheduled')", [id]);
      return send(res, 200, { ok: true });
    }
    if (m[2] === 'output') {
      const lines = body.lines ?? [];
      if (lines.length) await redis.rpush(outputKey(id), ...lines);
      return send(res, 200, { ok: true });
    }
    const done = await redis.incr(finishedKey(id));
    if (done < (body.parallelism ?? 1)) return send(res, 200, { ok: true, finished: done });
    const lines = await redis.lrange(outputKey(id), 0, -1);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      if (lines.length) {
        await client.query('INSERT INTO step_output (build_id, seq, line) SELECT $1, s.ord, s.line FROM unnest($2::text[]) WITH ORDINALITY AS s(line, ord) ON CONFLICT DO NOTHING', [id, lines]);
      }
      await client.query("UPDATE builds SET status = 'succeeded', finished_at = clock_timestamp() WHERE id = $1", [id]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    await redis.del(outputKey(id), finishedKey(id));
    return send(res, 200, { ok: true, succeeded: true, lines: lines.length });
  }
}
