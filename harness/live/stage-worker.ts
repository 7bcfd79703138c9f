/**
 * One pipeline stage of `twin up` (frontend, picard-dispatcher, schedulerer, output-processor, workflows-conductor,
 * audit-log-service) in a worker thread of its own, as a container of its own: it opens its own pool and clients
 * from URLs, listens on its port, and dies alone. The stack terminates the worker to kill it (its sockets close
 * with it, nothing acknowledged), blocks its thread to pause it (its sockets stay open and nothing answers), and
 * asks it to stop gracefully. `stage-host.ts` is the stack's side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { Redis, RedisOptions } from 'ioredis';
import type pg from 'pg';
import type { DocumentStore } from '../providers/mongo/document-store.ts';
import type { ObjectStore } from '../providers/s3/object-store.ts';
import type { AmqpConnect, ReconnectingConsumer } from './pipeline/amqp.ts';
import type { HealthCheck } from './stage-health.ts';
import type { RawExecBuildAgentOptions } from '../nomad/build-agent-task.ts';
import { Owned } from './owned.ts';

/**
 * The modules a stage uses, imported on demand: a worker loads only its stage's (the S3 SDK and the MongoDB driver
 * are the heavy ones), and a prepared worker has loaded them before it is asked to start.
 */
const load = {
  pg: () => import('pg').then((m) => m.default),
  amqp: () => import('amqplib').then((m) => m.default),
  redis: () => import('ioredis').then((m) => m.Redis),
  mongo: () => Promise.all([import('mongodb'), import('../providers/mongo/mongo-document-store.ts')]),
  s3: () => Promise.all([import('@aws-sdk/client-s3'), import('../providers/s3/s3-object-store.ts'), import('../providers/s3/fileserved-object-store.ts')]),
  github: () => import('../github/client.ts'),
  nomad: () => import('../nomad/client.ts'),
  buildAgent: () => import('../nomad/build-agent-task.ts'),
  health: () => import('./stage-health.ts'),
  frontend: () => import('./pipeline/frontend.ts'),
  output: () => import('./pipeline/output-processor.ts'),
  picard: () => import('./pipeline/picard-dispatcher.ts'),
  schedulerer: () => import('./pipeline/schedulerer.ts'),
  conductor: () => import('./pipeline/workflows-conductor.ts'),
  audit: () => import('./pipeline/audit-log-service.ts'),
};

/** What each stage loads. */
const NEEDS: Readonly<Record<WorkerStage, readonly (keyof typeof load)[]>> = {
  frontend: ['pg', 'amqp', 'mongo', 'frontend', 'audit'],
  'output-processor': ['pg', 'amqp', 'redis', 'mongo', 's3', 'output', 'audit'],
  'picard-dispatcher': ['pg', 'amqp', 'redis', 'github', 'picard', 'health'],
  schedulerer: ['pg', 'amqp', 'nomad', 'schedulerer', 'audit', 'health'],
  'workflows-conductor': ['pg', 'amqp', 'conductor', 'health'],
  'audit-log-service': ['amqp', 's3', 'audit', 'health'],
};

/** Imports what `stage` uses (the worker does it as soon as it exists, while the stack boots the rest). */
export async function preload(stage: WorkerStage): Promise<void> {
  await Promise.all(NEEDS[stage].map((m) => load[m]()));
}

/** The stages that run in a worker. */
export const WORKER_STAGES = ['frontend', 'output-processor', 'picard-dispatcher', 'schedulerer', 'workflows-conductor', 'audit-log-service'] as const;
export type WorkerStage = (typeof WORKER_STAGES)[number];

/** Where a stage's objects go: S3 (the SDK's settings for the endpoint) or fileserved. */
export type ObjectsConfig = { readonly kind: 's3'; readonly client: S3ClientConfig; readonly bucket: string } | { readonly kind: 'fileserved'; readonly url: string };

/** Everything a stage needs, as plain data (it crosses to the worker): URLs of what it connects to. */
export interface StageConfig {
  readonly stage: WorkerStage;
  readonly port: number;
  readonly healthPath: string;
  /** The `circle` database. */
  readonly postgresUrl: string;
  readonly amqpUrl: string;
  readonly redisUrl?: string;
  readonly mongoUrl?: string;
  readonly objects?: ObjectsConfig;
  readonly github?: { readonly apiUrl: string; readonly token: string };
  readonly nomadAddress?: string;
  /** With a real Nomad: its build agents run as raw_exec tasks (`rawExecBuildAgentTask`). */
  readonly buildAgent?: RawExecBuildAgentOptions;
  /** frontend's webhook secret. */
  readonly hookSecret?: string;
  /** picard-dispatcher's resource classes (`executor:name` → size): the settled scenario's, or the profile's. */
  readonly resourceClasses?: Readonly<Record<string, { readonly cpuMilli: number; readonly memoryMb: number }>>;
}

/** What the worker tells the host. */
export type StageMessage =
  | { readonly type: 'ready'; readonly port: number; readonly healthUrl: string; readonly url: string; readonly hookUrl?: string }
  | { readonly type: 'failed'; readonly message: string; readonly code?: string }
  | { readonly type: 'stopped' };

/** A stage that started: where it answers. */
interface Running {
  readonly port: number;
  readonly healthUrl: string;
  readonly url: string;
  readonly hookUrl?: string;
}

/** Builds and starts a stage on its own clients; everything it opens is registered with `own`. */
export async function startStage(c: StageConfig, own: Owned): Promise<Running> {
  const PIPELINE_DB = (await import('./pipeline/schema.ts')).PIPELINE_DB;
  switch (c.stage) {
    case 'frontend': {
      const [{ Frontend }, { AuditPublisher }] = await Promise.all([load.frontend(), load.audit()]);
      const connect = await amqpConnect(c);
      const frontend = new Frontend({ pool: await pool(c, own), connect, webhookSecret: c.hookSecret ?? '', audit: new AuditPublisher(connect), documents: await documents(c, own, PIPELINE_DB), port: c.port });
      await frontend.start();
      own.add(frontend, (f) => f.stop());
      return { port: portOf(frontend.url), healthUrl: `${frontend.url}${c.healthPath}`, url: frontend.url, hookUrl: frontend.hookUrl };
    }
    case 'output-processor': {
      const [{ OutputProcessor }, { AuditPublisher }] = await Promise.all([load.output(), load.audit()]);
      const connect = await amqpConnect(c);
      const redis = own.add(await redisClient(c), quit);
      const output = new OutputProcessor({ pool: await pool(c, own), redis, documents: await documents(c, own, PIPELINE_DB), objects: await objects(c, own), connect, audit: new AuditPublisher(connect), port: c.port });
      await output.start();
      own.add(output, (o) => o.stop());
      // The profile documents no health endpoint for output-processor: the row probes the stage's own.
      return { port: portOf(output.url), healthUrl: `${output.url}/health-check`, url: output.url };
    }
    case 'picard-dispatcher': {
      const [{ PicardDispatcher }, { GithubClient }] = await Promise.all([load.picard(), load.github()]);
      const db = await pool(c, own);
      // Its Redis client for the GitHub API cache fails at once while Redis is down, and within 0.5 s while it hangs.
      const cache = own.add(await redisClient(c, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 }), quit);
      // Without an offline queue, a call before its first connection fails as if Redis were down: the stage consumes
      // (and answers its health check) once connected. Started again after a kill, it met the backlog of run-queue
      // with no connection and failed builds "redis down"; and `twin up`'s health check right after the boot failed.
      await untilReady(cache, REDIS_READY_MS);
      const g = required(c, 'github');
      const dispatcher = new PicardDispatcher({ connect: await amqpConnect(c), github: new GithubClient({ apiUrl: g.apiUrl, token: g.token }), pool: db, cache, resourceClasses: required(c, 'resourceClasses') });
      return consumer(c, own, dispatcher, [postgresCheck(db), { name: 'redis', ok: () => cache.ping().then(() => true) }]);
    }
    case 'schedulerer': {
      const [{ Schedulerer }, { AuditPublisher }, { NomadClient }] = await Promise.all([load.schedulerer(), load.audit(), load.nomad()]);
      const db = await pool(c, own);
      const connect = await amqpConnect(c);
      // The twin's Nomad API, or a real Nomad (NOMAD_ADDR, a `nomad` binary): either speaks the same HTTP API.
      const nomad = new NomadClient({ address: required(c, 'nomadAddress'), timeoutMs: 3_000 });
      // A real agent's datacenter is its own (a dev agent's `dc1`); its builds run as raw_exec build agents.
      const real = c.buildAgent === undefined ? {} : await (await load.buildAgent()).realNomadJobs(nomad, c.buildAgent);
      const schedulerer = new Schedulerer({ connect, pool: db, nomad, audit: new AuditPublisher(connect), ...real });
      return consumer(c, own, schedulerer, [postgresCheck(db), { name: 'nomad_server', ok: () => nomad.request('GET', '/v1/status/leader').then(() => true) }]);
    }
    case 'workflows-conductor': {
      const { WorkflowsConductor } = await load.conductor();
      const db = await pool(c, own);
      return consumer(c, own, new WorkflowsConductor({ connect: await amqpConnect(c), pool: db }), [postgresCheck(db)]);
    }
    case 'audit-log-service': {
      const { AuditLogService } = await load.audit();
      return consumer(c, own, new AuditLogService({ connect: await amqpConnect(c), objects: await objects(c, own) }), []);
    }
  }
}

/** How long a stage waits for its Redis client's first connection before it starts anyway (Redis may be down). */
const REDIS_READY_MS = 10_000;

/** Resolves once the client is connected, or after `withinMs` (a Redis that is down is the stage's to handle). */
function untilReady(redis: Redis, withinMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, withinMs);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    }
    redis.once('ready', done);
  });
}

/** A queue consumer and its health endpoint, which also names RabbitMQ while the consumer has no broker connection. */
async function consumer(c: StageConfig, own: Owned, stage: ReconnectingConsumer, checks: readonly HealthCheck[]): Promise<Running> {
  const { StageHealth } = await load.health();
  await stage.start();
  own.add(stage, (s) => s.stop());
  const health = new StageHealth({ service: c.stage, path: c.healthPath, port: c.port, checks: [{ name: 'rabbitmq', ok: async () => stage.connected }, ...checks] });
  await health.start();
  own.add(health, (h) => h.stop());
  return { port: health.port, healthUrl: health.url, url: health.url };
}

function required<K extends keyof StageConfig>(c: StageConfig, key: K): NonNullable<StageConfig[K]> {
  const v = c[key];
  if (v === undefined || v === null) throw new Error(`${c.stage}: no ${String(key)} was given to the stage`);
  return v as NonNullable<StageConfig[K]>;
}

/** The stage's own pool on the `circle` database (migrated by the stack before any stage starts). */
async function pool(c: StageConfig, own: Owned): Promise<pg.Pool> {
  const { Pool } = await load.pg();
  const p = own.add(new Pool({ connectionString: c.postgresUrl, max: 4, connectionTimeoutMillis: 2_000 }), (x) => x.end());
  // Connections of a server that died error out of the pool; the queries on them reject on their own.
  p.on('error', () => undefined);
  return p;
}

async function amqpConnect(c: StageConfig): Promise<AmqpConnect> {
  const amqp = await load.amqp();
  return async () => {
    const conn = await amqp.connect(c.amqpUrl, { timeout: 2_000 });
    // A broker that dies emits `error`; without a listener it would end the worker. Channel calls still fail.
    conn.on('error', () => undefined);
    return conn;
  };
}

async function redisClient(c: StageConfig, options: RedisOptions = {}): Promise<Redis> {
  const Redis = await load.redis();
  const r = new Redis(required(c, 'redisUrl'), options);
  r.on('error', () => undefined);
  return r;
}

/** MongoDB through the driver; it connects on first use, so a mongo that comes up later is found then. */
async function documents(c: StageConfig, own: Owned, db: string): Promise<DocumentStore> {
  const [{ MongoClient }, { mongoDocumentStore }] = await load.mongo();
  const client = own.add(new MongoClient(required(c, 'mongoUrl'), { serverSelectionTimeoutMS: 2_000 }), (m) => m.close());
  return mongoDocumentStore(client.db(db));
}

async function objects(c: StageConfig, own: Owned): Promise<ObjectStore> {
  const o = required(c, 'objects');
  const [{ S3Client }, { S3ObjectStore }, { FileservedObjectStore }] = await load.s3();
  if (o.kind === 'fileserved') return new FileservedObjectStore(o.url);
  const client = own.add(new S3Client(o.client), async (s) => s.destroy());
  return new S3ObjectStore(client, o.bucket);
}

function postgresCheck(p: pg.Pool): HealthCheck {
  return { name: 'postgres', ok: () => p.query('SELECT 1').then(() => true) };
}

function quit(redis: Redis): Promise<unknown> {
  return redis.quit().catch(() => redis.disconnect());
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * The worker's main: it loads its stage's modules at once (the stack prepares workers while it boots the rest), then
 * starts the stage when the host sends the config, reports, and waits for `stop` (graceful) or `pause` (the thread
 * blocks until resumed).
 */
async function main(): Promise<void> {
  const port = parentPort!;
  const { stage, pauseFlag } = workerData as { stage: WorkerStage; pauseFlag: SharedArrayBuffer };
  const flag = new Int32Array(pauseFlag);
  const own = new Owned();
  const loaded = preload(stage);
  port.on('message', (m: string | { type: 'start'; config: StageConfig }) => {
    if (m === 'pause') {
      // Blocks this thread (timers, sockets, everything) while the host keeps the flag at 1: a hung process.
      while (Atomics.load(flag, 0) === 1) Atomics.wait(flag, 0, 1);
    } else if (m === 'stop') {
      void own.close().then(() => {
        port.postMessage({ type: 'stopped' } satisfies StageMessage);
        port.close();
      });
    } else if (typeof m === 'object' && m.type === 'start') {
      void loaded.then(() => startStage(m.config, own)).then(
        (running) => port.postMessage({ type: 'ready', ...running } satisfies StageMessage),
        async (err: unknown) => {
          await own.close();
          const e = err as NodeJS.ErrnoException;
          port.postMessage({ type: 'failed', message: e.message ?? String(err), ...(e.code ? { code: e.code } : {}) } satisfies StageMessage);
          port.close();
        },
      );
    }
  });
}

if (parentPort && (workerData as { stage?: unknown } | null)?.stage !== undefined) void main();
