import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { StartedFileserved, StartedMongo, StartedPostgres, StartedRabbitMQ, StartedRedis, StartedS3, type Doc, type DocumentStore, type ObjectStore, type StartedComponent } from '../providers/index.ts';
import { StartedFakeGithub } from '../github/server.ts';
import { GithubClient } from '../github/client.ts';
import { NomadClient } from '../nomad/client.ts';
import { AuditLogService, AuditPublisher, BuildAgentRunner, Frontend, OutputProcessor, PicardDispatcher, PIPELINE_DB, PIPELINE_MIGRATIONS, Schedulerer, WorkflowsConductor } from './pipeline/index.ts';
import type { AmqpConnect, ReconnectingConsumer } from './pipeline/amqp.ts';
import { StageHealth, type HealthCheck } from './stage-health.ts';
import type { ServiceContext, ServiceFactory, ServiceHandle } from './stack.ts';

/** The project `twin up` follows, so that pushes to it are built: the one picard-dispatcher builds in the operations guide's log. */
export const FOLLOWED_REPO = 'GERey/realitycheck';
/** Who followed it: the token CircleCI calls GitHub Enterprise with for the project. */
const FOLLOWER = 'GERey';
const BACKEND = 'twin pipeline stage (in-process)';
/**
 * How long each close of a stopping stage may take: a broker that stopped answering (SIGSTOP, or Erlang's break
 * handler after a terminal's Ctrl-C) never confirms a cancel or a close. What is left open then ends with the broker.
 */
const CLOSE_GRACE_MS = 3_000;

export interface PipelineServicesOptions {
  /** Scenario ms per wall ms of the build agents: 1 for `twin up`, a scenario's `time_scale` with `--scenario`. */
  timeScale: number;
  /** Where objects go (`topology.storage`): the `s3` external system, or the `fileserved` container. */
  storage: 's3' | 'fileserved';
}

/** A stage that started, before its owner adds the graceful stop (which closes everything it opened). */
type Running = Omit<ServiceHandle, 'stop'>;

/**
 * The live pipeline's stages as `twin up`'s frontend, picard-dispatcher, schedulerer, output-processor,
 * workflows-conductor and audit-log-service, wired onto the stack's PostgreSQL, Redis, RabbitMQ, MongoDB, object
 * storage, Nomad API and GitHub Enterprise as `ReplayStack.boot` wires them for a replay. Each stage opens its own
 * pool and clients, as a container of its own would, so that each stops and dies alone.
 */
export class PipelineServices {
  /** The Nomad clients' build agent, for the Nomad API (`withTaskRunner`): it reports to output-processor wherever that listens. */
  readonly runner: BuildAgentRunner;
  /** By container name, for `LiveStack`'s `services`. */
  readonly factories: Readonly<Record<string, ServiceFactory>>;
  private outputProcessorUrl: string | undefined;
  private migrated: Promise<unknown> | undefined;
  /** The secret of frontend's hook on the followed project: one per stack, known to GHE and frontend only. */
  private readonly hookSecret = randomBytes(20).toString('hex');

  constructor(private readonly opts: PipelineServicesOptions) {
    this.runner = new BuildAgentRunner({ outputProcessorUrl: () => this.outputUrl(), timeScale: opts.timeScale });
    const { storage } = opts;
    const stage = (needs: readonly string[], start: (ctx: ServiceContext, own: Owned) => Promise<Running>): ServiceFactory => ({
      backend: BACKEND,
      needs,
      start: (ctx) => opened((own) => start(ctx, own)),
    });
    this.factories = {
      frontend: stage(['postgres', 'rabbitmq', 'github'], (ctx, own) => this.frontend(ctx, own)),
      'output-processor': stage(['postgres', 'redis', 'rabbitmq', storage], (ctx, own) => this.outputProcessor(ctx, own)),
      'picard-dispatcher': stage(['postgres', 'redis', 'rabbitmq', 'github'], (ctx, own) => this.picardDispatcher(ctx, own)),
      schedulerer: stage(['postgres', 'rabbitmq', 'nomad_server'], (ctx, own) => this.schedulerer(ctx, own)),
      'workflows-conductor': stage(['postgres', 'rabbitmq'], (ctx, own) => this.workflowsConductor(ctx, own)),
      'audit-log-service': stage(['rabbitmq', storage], (ctx, own) => this.auditLogService(ctx, own)),
    };
  }

  /** output-processor's URL; until it listens, the build agents' calls fail (and are counted) as when it is down. */
  private outputUrl(): string {
    if (this.outputProcessorUrl === undefined) throw new Error('output-processor has not started');
    return this.outputProcessorUrl;
  }

  private async frontend(ctx: ServiceContext, own: Owned): Promise<Running> {
    const connect = amqp(ctx);
    const frontend = new Frontend({ pool: await this.pool(ctx, own), connect, webhookSecret: this.hookSecret, audit: new AuditPublisher(connect), documents: mongoOnUse(ctx), port: ctx.port });
    await frontend.start();
    own.add(frontend, (f) => f.stop());
    // Following the project: CircleCI adds a push hook pointing at frontend, on whatever port it got.
    const [owner, repo] = FOLLOWED_REPO.split('/') as [string, string];
    await github(ctx).createHook(owner, repo, { url: frontend.hookUrl, secret: this.hookSecret });
    return { port: portOf(frontend.url), healthUrl: `${frontend.url}${ctx.healthPath}`, kill: () => frontend.kill() };
  }

  private async outputProcessor(ctx: ServiceContext, own: Owned): Promise<Running> {
    const connect = amqp(ctx);
    const redis = own.add(need(ctx, 'redis', StartedRedis).client(), quit);
    const output = new OutputProcessor({ pool: await this.pool(ctx, own), redis, documents: mongoOnUse(ctx), objects: this.objects(ctx), connect, audit: new AuditPublisher(connect), port: ctx.port });
    await output.start();
    own.add(output, (o) => o.stop());
    this.outputProcessorUrl = output.url;
    // The profile documents no health endpoint for output-processor: the row probes the stage's own.
    return { port: portOf(output.url), healthUrl: `${output.url}/health-check`, kill: () => output.kill() };
  }

  private async picardDispatcher(ctx: ServiceContext, own: Owned): Promise<Running> {
    const pool = await this.pool(ctx, own);
    // Its Redis client for the GitHub API cache fails at once while Redis is down, and within 0.5 s while it hangs.
    const cache = own.add(need(ctx, 'redis', StartedRedis).client({ enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 }), quit);
    const dispatcher = new PicardDispatcher({ connect: amqp(ctx), github: github(ctx), pool, cache });
    return this.consumer(ctx, own, dispatcher, [postgresCheck(pool), { name: 'redis', ok: () => cache.ping().then(() => true) }]);
  }

  private async schedulerer(ctx: ServiceContext, own: Owned): Promise<Running> {
    const pool = await this.pool(ctx, own);
    const connect = amqp(ctx);
    // The twin's Nomad API, or a real Nomad (NOMAD_ADDR, a `nomad` binary): either speaks the same HTTP API.
    const nomad = new NomadClient({ address: need(ctx, 'nomad_server').url, timeoutMs: 3_000 });
    const schedulerer = new Schedulerer({ connect, pool, nomad, audit: new AuditPublisher(connect) });
    return this.consumer(ctx, own, schedulerer, [postgresCheck(pool), { name: 'nomad_server', ok: () => nomad.request('GET', '/v1/status/leader').then(() => true) }]);
  }

  private async workflowsConductor(ctx: ServiceContext, own: Owned): Promise<Running> {
    const pool = await this.pool(ctx, own);
    return this.consumer(ctx, own, new WorkflowsConductor({ connect: amqp(ctx), pool }), [postgresCheck(pool)]);
  }

  private auditLogService(ctx: ServiceContext, own: Owned): Promise<Running> {
    return this.consumer(ctx, own, new AuditLogService({ connect: amqp(ctx), objects: this.objects(ctx) }), []);
  }

  private objects(ctx: ServiceContext): ObjectStore {
    return (this.opts.storage === 's3' ? need(ctx, 's3', StartedS3) : need(ctx, 'fileserved', StartedFileserved)).store();
  }

  /** A queue consumer and its health endpoint, which also names RabbitMQ while the consumer has no broker connection. */
  private async consumer(ctx: ServiceContext, own: Owned, stage: ReconnectingConsumer, checks: readonly HealthCheck[]): Promise<Running> {
    await stage.start();
    own.add(stage, (s) => s.stop());
    const health = new StageHealth({ service: ctx.name, path: ctx.healthPath, port: ctx.port, checks: [{ name: 'rabbitmq', ok: async () => stage.connected }, ...checks] });
    await health.start();
    own.add(health, (h) => h.stop());
    return {
      port: health.port,
      healthUrl: health.url,
      kill: () => {
        health.kill();
        stage.kill();
      },
    };
  }

  /** A pool of the stage's own on the `circle` database, whose tables are migrated once for all six stages. */
  private async pool(ctx: ServiceContext, own: Owned): Promise<pg.Pool> {
    const postgres = need(ctx, 'postgres', StartedPostgres);
    // The first stage to start applies the migrations; the others wait for that same run (or fail with it).
    this.migrated ??= postgres.runMigrations(PIPELINE_DB, PIPELINE_MIGRATIONS);
    await this.migrated;
    const pool = own.add(new pg.Pool({ connectionString: postgres.urlFor(PIPELINE_DB), max: 4, connectionTimeoutMillis: 2_000 }), (p) => p.end());
    // Connections of a server that died error out of the pool; the queries on them reject on their own.
    pool.on('error', () => undefined);
    return pool;
  }
}

/**
 * What one stage opened (pools, clients, the stage, its health server), closed last first when it stops; each
 * close has `CLOSE_GRACE_MS`, so one that hangs holds up neither the others nor the stack's `down`.
 */
class Owned {
  private readonly closers: (() => Promise<unknown>)[] = [];

  add<T>(thing: T, close: (t: T) => Promise<unknown>): T {
    this.closers.push(() => close(thing));
    return thing;
  }

  async close(): Promise<void> {
    for (const c of this.closers.splice(0).reverse()) await settledOrAfter(c(), CLOSE_GRACE_MS);
  }
}

/** Starts a stage; if it fails (a port taken, a component refusing), what it opened so far is closed again. */
async function opened(start: (own: Owned) => Promise<Running>): Promise<ServiceHandle> {
  const own = new Owned();
  try {
    const running = await start(own);
    return { port: running.port, healthUrl: running.healthUrl, kill: running.kill, stop: () => own.close() };
  } catch (err) {
    await own.close();
    throw err;
  }
}

/** Resolves once `p` settled (resolved or rejected), or after `ms` if it has not; `p` keeps running either way. */
function settledOrAfter(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}

/** A started component the stage connects to, of the class the stage takes (any, without one). */
function need<T extends StartedComponent>(ctx: ServiceContext, name: string, type?: abstract new (...args: never[]) => T): T {
  const c = ctx.components.get(name);
  if (c === undefined) throw new Error(`${ctx.name} needs ${name}, which this stack did not start`);
  if (type !== undefined && !(c instanceof type)) throw new Error(`${ctx.name} needs ${name} as the twin starts it, not ${c.backendDetail}`);
  return c as T;
}

/**
 * MongoDB as frontend and output-processor reach it: looked up on each use, as a driver connects on first use. They
 * list no startup dependency on mongo, which may come up after them; until it does, what reads or writes it fails
 * naming it.
 */
function mongoOnUse(ctx: ServiceContext): DocumentStore {
  const store = () => need(ctx, 'mongo', StartedMongo).store(PIPELINE_DB);
  return {
    get kind() {
      return store().kind;
    },
    collection: <T extends Doc = Doc>(name: string) => store().collection<T>(name),
  };
}

function amqp(ctx: ServiceContext): AmqpConnect {
  const rabbitmq = need(ctx, 'rabbitmq', StartedRabbitMQ);
  return () => rabbitmq.connect({ timeoutMs: 2_000 });
}

/** The GHE client of the project's follower (config fetches, hooks). */
function github(ctx: ServiceContext): GithubClient {
  const ghe = need(ctx, 'github', StartedFakeGithub);
  return new GithubClient({ apiUrl: ghe.apiUrl, token: ghe.tokenFor(FOLLOWER) });
}

function postgresCheck(pool: pg.Pool): HealthCheck {
  return { name: 'postgres', ok: () => pool.query('SELECT 1').then(() => true) };
}

function quit(redis: Redis): Promise<unknown> {
  return redis.quit().catch(() => redis.disconnect());
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}
