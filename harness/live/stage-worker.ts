/**
 * One pipeline stage of `twin up` (frontend, picard-dispatcher, schedulerer, output-processor, workflows-conductor,
 * audit-log-service) in a worker thread of its own, as a container of its own: it opens its own pool and clients
 * from URLs, listens on its port, and dies alone. The stack terminates the worker to kill it (its sockets close
 * with it, nothing acknowledged), blocks its thread to pause it (its sockets stay open and nothing answers), and
 * asks it to stop gracefully. `stage-host.ts` is the stack's side.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import amqp from 'amqplib';
import { Redis, type RedisOptions } from 'ioredis';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { GithubClient } from '../github/client.ts';
import { NomadClient } from '../nomad/client.ts';
import { FileservedObjectStore } from '../providers/s3/fileserved-object-store.ts';
import { mongoDocumentStore } from '../providers/mongo/mongo-document-store.ts';
import type { ObjectStore } from '../providers/s3/object-store.ts';
import { S3ObjectStore } from '../providers/s3/s3-object-store.ts';
import type { AmqpConnect, ReconnectingConsumer } from './pipeline/amqp.ts';
import { AuditLogService, AuditPublisher, Frontend, OutputProcessor, PicardDispatcher, PIPELINE_DB, Schedulerer, WorkflowsConductor } from './pipeline/index.ts';
import { StageHealth, type HealthCheck } from './stage-health.ts';
import { Owned } from './owned.ts';

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
  /** frontend's webhook secret. */
  readonly hookSecret?: string;
  /** Int32 flag the host sets to 1 while the stage is paused (the thread waits on it). */
  readonly pauseFlag: SharedArrayBuffer;
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
  switch (c.stage) {
    case 'frontend': {
      const connect = amqpConnect(c);
      const frontend = new Frontend({ pool: pool(c, own), connect, webhookSecret: c.hookSecret ?? '', audit: new AuditPublisher(connect), documents: documents(c, own), port: c.port });
      await frontend.start();
      own.add(frontend, (f) => f.stop());
      return { port: portOf(frontend.url), healthUrl: `${frontend.url}${c.healthPath}`, url: frontend.url, hookUrl: frontend.hookUrl };
    }
    case 'output-processor': {
      const connect = amqpConnect(c);
      const redis = own.add(redisClient(c), quit);
      const output = new OutputProcessor({ pool: pool(c, own), redis, documents: documents(c, own), objects: objects(c, own), connect, audit: new AuditPublisher(connect), port: c.port });
      await output.start();
      own.add(output, (o) => o.stop());
      // The profile documents no health endpoint for output-processor: the row probes the stage's own.
      return { port: portOf(output.url), healthUrl: `${output.url}/health-check`, url: output.url };
    }
    case 'picard-dispatcher': {
      const db = pool(c, own);
      // Its Redis client for the GitHub API cache fails at once while Redis is down, and within 0.5 s while it hangs.
      const cache = own.add(redisClient(c, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 }), quit);
      const dispatcher = new PicardDispatcher({ connect: amqpConnect(c), github: githubClient(c), pool: db, cache });
      return consumer(c, own, dispatcher, [postgresCheck(db), { name: 'redis', ok: () => cache.ping().then(() => true) }]);
    }
    case 'schedulerer': {
      const db = pool(c, own);
      const connect = amqpConnect(c);
      // The twin's Nomad API, or a real Nomad (NOMAD_ADDR, a `nomad` binary): either speaks the same HTTP API.
      const nomad = new NomadClient({ address: required(c, 'nomadAddress'), timeoutMs: 3_000 });
      const schedulerer = new Schedulerer({ connect, pool: db, nomad, audit: new AuditPublisher(connect) });
      return consumer(c, own, schedulerer, [postgresCheck(db), { name: 'nomad_server', ok: () => nomad.request('GET', '/v1/status/leader').then(() => true) }]);
    }
    case 'workflows-conductor': {
      const db = pool(c, own);
      return consumer(c, own, new WorkflowsConductor({ connect: amqpConnect(c), pool: db }), [postgresCheck(db)]);
    }
    case 'audit-log-service':
      return consumer(c, own, new AuditLogService({ connect: amqpConnect(c), objects: objects(c, own) }), []);
  }
}

/** A queue consumer and its health endpoint, which also names RabbitMQ while the consumer has no broker connection. */
async function consumer(c: StageConfig, own: Owned, stage: ReconnectingConsumer, checks: readonly HealthCheck[]): Promise<Running> {
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
function pool(c: StageConfig, own: Owned): pg.Pool {
  const p = own.add(new pg.Pool({ connectionString: c.postgresUrl, max: 4, connectionTimeoutMillis: 2_000 }), (x) => x.end());
  // Connections of a server that died error out of the pool; the queries on them reject on their own.
  p.on('error', () => undefined);
  return p;
}

function amqpConnect(c: StageConfig): AmqpConnect {
  return async () => {
    const conn = await amqp.connect(c.amqpUrl, { timeout: 2_000 });
    // A broker that dies emits `error`; without a listener it would end the worker. Channel calls still fail.
    conn.on('error', () => undefined);
    return conn;
  };
}

function redisClient(c: StageConfig, options: RedisOptions = {}): Redis {
  const r = new Redis(required(c, 'redisUrl'), options);
  r.on('error', () => undefined);
  return r;
}

/** MongoDB through the driver; it connects on first use, so a mongo that comes up later is found then. */
function documents(c: StageConfig, own: Owned) {
  const client = own.add(new MongoClient(required(c, 'mongoUrl'), { serverSelectionTimeoutMS: 2_000 }), (m) => m.close());
  return mongoDocumentStore(client.db(PIPELINE_DB));
}

function objects(c: StageConfig, own: Owned): ObjectStore {
  const o = required(c, 'objects');
  if (o.kind === 'fileserved') return new FileservedObjectStore(o.url);
  const client = own.add(new S3Client(o.client), async (s) => s.destroy());
  return new S3ObjectStore(client, o.bucket);
}

/** The GHE client of the project's follower (config fetches). */
function githubClient(c: StageConfig): GithubClient {
  const g = required(c, 'github');
  return new GithubClient({ apiUrl: g.apiUrl, token: g.token });
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

/** The worker's main: start, report, then wait for `stop` (graceful) or `pause` (the thread blocks until resumed). */
async function main(): Promise<void> {
  const port = parentPort!;
  const config = workerData as StageConfig;
  const flag = new Int32Array(config.pauseFlag);
  const own = new Owned();
  port.on('message', (m: string) => {
    if (m === 'pause') {
      // Blocks this thread (timers, sockets, everything) while the host keeps the flag at 1: a hung process.
      while (Atomics.load(flag, 0) === 1) Atomics.wait(flag, 0, 1);
    } else if (m === 'stop') {
      void own.close().then(() => {
        port.postMessage({ type: 'stopped' } satisfies StageMessage);
        port.close();
      });
    }
  });
  try {
    const running = await startStage(config, own);
    port.postMessage({ type: 'ready', ...running } satisfies StageMessage);
  } catch (err) {
    await own.close();
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ type: 'failed', message: e.message ?? String(err), ...(e.code ? { code: e.code } : {}) } satisfies StageMessage);
    port.close();
  }
}

if (parentPort && (workerData as { stage?: unknown } | null)?.stage !== undefined) void main();
