import type http from 'node:http';
import type pg from 'pg';
import { verifyWebhookSignature } from '../../github/client.ts';
import { ConfirmPublisher, type AmqpConnect } from './amqp.ts';
import type { AuditPublisher } from './audit-log-service.ts';
import type { DocumentStore } from '../../providers/index.ts';
import { sendJson as send, type HttpRequest, type HttpRoutes } from '../../http/index.ts';
import { HttpStage } from './http-util.ts';
import { ACTION_LOGS, buildSlug, PUSH_EVENTS, RUN_QUEUE, type RunMessage } from './schema.ts';
import { LOG_LINES } from '../../../sim/symptoms/log-lines.ts';
import { SILENT_LOG, type ServiceLog } from '../service-logs-writer.ts';

export interface FrontendOptions {
  pool: pg.Pool;
  connect: AmqpConnect;
  /** The hook's secret: `X-Hub-Signature-256` is checked against it. */
  webhookSecret: string;
  port?: number;
  /** Where `workflow.start` audit events go. */
  audit?: AuditPublisher;
  /** The queue a new build is published to: `usage-queue` where a dispatcher stage forwards it; default `run-queue`. */
  entryQueue?: string;
  /** MongoDB, which the UI's build pages read and where each push taken is recorded. */
  documents?: DocumentStore;
}

/**
 * The UI and API requests people make (the simulation's `UiTraffic` kinds), each answered from the stores it
 * reads: 200, or 500 naming the store that failed. Services the live pipeline does not run (api-service,
 * domain-service, permissions-service, contexts-service) are taken as up.
 */
export const UI_REQUESTS: Readonly<Record<string, { path: string; reads: readonly ('postgres' | 'mongo')[] }>> = {
  'builds page': { path: '/ui/builds', reads: ['postgres', 'mongo'] },
  'REST API: build details': { path: '/api/v1.1/builds/latest', reads: ['mongo'] },
  'GraphQL: contexts and settings': { path: '/graphql-unstable', reads: ['postgres'] },
  'workflows view': { path: '/ui/workflows', reads: ['postgres'] },
  login: { path: '/login', reads: ['postgres'] },
};

/**
 * frontend: `POST /hooks/github`. A signed `push` is recorded in MongoDB (`push_events`) and becomes a workflow
 * and the `builds` row of its first job (`queued`) and a message on the non-durable `run-queue`; 200 only when all
 * of it happened. A MongoDB, PostgreSQL or RabbitMQ failure answers 500 (and the rows are removed again), so GHE
 * logs the delivery as failed: the push is not triggered (the seeds: frontend needs postgres, mongo, rabbitmq).
 * `POST /api/v2/project/gh/:owner/:repo/pipeline` (`{ "sha": … }`) triggers a pipeline the same way without a
 * webhook, as cron-service's scheduled workflows do.
 */
export class Frontend {
  private readonly http: HttpStage;
  private readonly publisher: ConfirmPublisher;
  /** Answers by status, for the test and the README's numbers. */
  readonly answers = new Map<number, number>();
  /** Its own log (a push accepted or refused, and why); silent outside a stage worker. */
  log: ServiceLog = SILENT_LOG;

  constructor(private readonly opts: FrontendOptions) {
    this.http = new HttpStage('frontend', (routes) => this.routes(routes), opts.port ?? 0);
    this.publisher = new ConfirmPublisher(opts.connect, [opts.entryQueue ?? RUN_QUEUE]);
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
    await this.publisher.close();
    await this.opts.audit?.close();
  }

  kill(): void {
    this.http.kill();
    this.publisher.kill();
    this.opts.audit?.kill();
  }

  private answer(res: http.ServerResponse, status: number, body: unknown): void {
    this.answers.set(status, (this.answers.get(status) ?? 0) + 1);
    send(res, status, body);
  }

  private routes(routes: HttpRoutes): HttpRoutes {
    routes.get('/health-check', ({ res }) => this.answer(res, 200, { ok: true }));
    for (const ui of Object.values(UI_REQUESTS)) routes.get(ui.path, ({ res }) => this.serveUi(res, ui.reads));
    return routes.post('/api/v2/project/gh/:owner/:repo/pipeline', (r) => this.trigger(r)).post('/hooks/github', (r) => this.hook(r));
  }

  /** Malformed JSON is the caller's mistake: the layer answers it with a 400 naming where it broke. */
  private async trigger(r: HttpRequest): Promise<void> {
    const { res, params } = r;
    const body = ((await r.json()) ?? {}) as { sha?: unknown };
    if (typeof body.sha !== 'string' || body.sha === '') return this.answer(res, 400, { message: 'sha is required' });
    return this.startWorkflow(res, `${params.owner}/${params.repo}`, body.sha, null, 'scheduled');
  }

  private async hook(r: HttpRequest): Promise<void> {
    const { req, res } = r;
    const raw = await r.buffer();
    if (!verifyWebhookSignature(raw, req.headers['x-hub-signature-256'] as string | undefined, this.opts.webhookSecret)) {
      return this.answer(res, 401, { error: 'bad signature' });
    }
    const event = req.headers['x-github-event'];
    if (event !== 'push') return this.answer(res, 200, { ignored: event });
    const payload = ((await r.json()) ?? {}) as { after?: string; repository?: { full_name?: string } };
    const repo = payload.repository?.full_name;
    const sha = payload.after;
    if (!repo || !sha) return this.answer(res, 400, { error: 'push without repository or after' });
    const guid = (req.headers['x-github-delivery'] as string | undefined) ?? null;
    try {
      await this.opts.documents?.collection(PUSH_EVENTS).updateOne({ delivery: guid ?? sha }, { $set: { repo, sha, at: new Date() } }, { upsert: true });
    } catch (err) {
      return this.refuse(res, `${repo}@${sha.slice(0, 7)}`, `mongo: ${err instanceof Error ? err.message : String(err)}`);
    }
    return this.startWorkflow(res, repo, sha, guid, 'push');
  }

  /** A push or trigger that did not become a build: 500 with the store that failed, and a line in its log. */
  private refuse(res: http.ServerResponse, what: string, error: string): void {
    this.log.write(LOG_LINES.pushRefused(what, error));
    return this.answer(res, 500, { error });
  }

  private async serveUi(res: http.ServerResponse, reads: readonly ('postgres' | 'mongo')[]): Promise<void> {
    for (const store of reads) {
      try {
        if (store === 'postgres') await this.opts.pool.query('SELECT id, status FROM workflows ORDER BY id DESC LIMIT 20');
        else await this.opts.documents?.collection(ACTION_LOGS).find({}, { limit: 1 });
      } catch (err) {
        return send(res, 500, { error: `${store}: ${err instanceof Error ? err.message : String(err)}` });
      }
    }
    return send(res, 200, { ok: true });
  }

  private async startWorkflow(res: http.ServerResponse, repo: string, sha: string, guid: string | null, source: 'push' | 'scheduled'): Promise<void> {
    let buildId: number;
    let workflowId: number;
    try {
      const r = await this.opts.pool.query<{ id: string; workflow_id: string }>(
        `WITH w AS (INSERT INTO workflows (repo, sha, source) VALUES ($1, $2, $4) RETURNING id)
         INSERT INTO builds (repo, sha, delivery_guid, status, workflow_id, job_index) SELECT $1, $2, $3, 'queued', w.id, 0 FROM w RETURNING id, workflow_id`,
        [repo, sha, guid, source],
      );
      buildId = Number(r.rows[0]!.id);
      workflowId = Number(r.rows[0]!.workflow_id);
    } catch (err) {
      return this.refuse(res, `${repo}@${sha.slice(0, 7)}`, `postgres: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      await this.publisher.publish(this.opts.entryQueue ?? RUN_QUEUE, { buildId, repo, sha, jobIndex: 0 } satisfies RunMessage);
    } catch (err) {
      await this.opts.pool.query('WITH b AS (DELETE FROM builds WHERE id = $1) DELETE FROM workflows WHERE id = $2', [buildId, workflowId]).catch(() => undefined);
      return this.refuse(res, `${repo}@${sha.slice(0, 7)}`, `rabbitmq: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.log.write(LOG_LINES.pushAccepted(repo, buildSlug({ repo, buildId })));
    await this.opts.audit?.record('workflow.start', { workflow_id: workflowId, build_id: buildId });
    return this.answer(res, 200, { buildId, workflowId });
  }
}
