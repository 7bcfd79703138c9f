/**
 * One pipeline stage of `twin up` (frontend, picard-dispatcher, schedulerer, output-processor, workflows-conductor,
 * audit-log-service) in a worker thread of its own, as a container of its own: it opens its own pool and clients
 * from URLs, listens on its port, and dies alone. The stack terminates the worker to kill it (its sockets close
 * with it, nothing acknowledged), blocks its thread to pause it (its sockets stay open and nothing answers), and
 * asks it to stop gracefully. `stage-host.ts` is the stack's side.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, resourceLimits, workerData } from 'node:worker_threads';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { Redis, RedisOptions } from 'ioredis';
import type pg from 'pg';
import type { DocumentStore } from '../providers/mongo/document-store.ts';
import type { ObjectStore } from '../providers/s3/object-store.ts';
import type { AmqpConnect, ReconnectingConsumer } from './pipeline/amqp.ts';
import type { HealthCheck } from './stage-health.ts';
import type { RawExecBuildAgentOptions } from '../nomad/build-agent-task.ts';
import type { NotifierTargets } from './pipeline/notifier.ts';
import { Owned } from './owned.ts';
import type { LiveMutant } from './replay/mutants.ts';
import { startLoopProbe } from './replay/loop-probe.ts';
import { enableCodeCache } from '../providers/code-cache.ts';
import { SILENT_LOG, ServiceLog } from './service-logs-writer.ts';
import { DEPENDENCY_RETRY_LOG_MS, LOG_LINES } from '../../sim/symptoms/log-lines.ts';
import { HEARTBEAT_MS } from '../../sim/symptoms/observer.ts';

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
  notifier: () => import('./pipeline/notifier.ts'),
  picard: () => import('./pipeline/picard-dispatcher.ts'),
  dispatcher: () => import('./pipeline/dispatcher.ts'),
  schedulerer: () => import('./pipeline/schedulerer.ts'),
  conductor: () => import('./pipeline/workflows-conductor.ts'),
  audit: () => import('./pipeline/audit-log-service.ts'),
  contexts: () => import('./pipeline/contexts.ts'),
  vm: () => Promise.all([import('./pipeline/vm-service.ts'), import('@aws-sdk/client-ec2')]),
  mutants: () => import('./replay/mutants.ts'),
};

/** What each stage loads. */
const NEEDS: Readonly<Record<WorkerStage, readonly (keyof typeof load)[]>> = {
  frontend: ['pg', 'amqp', 'mongo', 'frontend', 'audit'],
  'output-processor': ['pg', 'amqp', 'redis', 'mongo', 's3', 'output', 'audit', 'notifier'],
  'picard-dispatcher': ['pg', 'amqp', 'redis', 'github', 'picard', 'health', 'mutants'],
  dispatcher: ['pg', 'amqp', 'dispatcher', 'health'],
  schedulerer: ['pg', 'amqp', 'nomad', 'schedulerer', 'audit', 'health'],
  'workflows-conductor': ['pg', 'amqp', 'conductor', 'health'],
  'audit-log-service': ['amqp', 's3', 'audit', 'health'],
  'contexts-service': ['pg', 'contexts'],
  'vault-cci': ['contexts'],
  'vm-service': ['vm'],
};

/** Imports what `stage` uses (the worker does it as soon as it exists, while the stack boots the rest). */
export async function preload(stage: WorkerStage): Promise<void> {
  await Promise.all(NEEDS[stage].map((m) => load[m]()));
}

/** The stages that run in a worker. */
export const WORKER_STAGES = ['frontend', 'dispatcher', 'output-processor', 'picard-dispatcher', 'schedulerer', 'workflows-conductor', 'audit-log-service', 'contexts-service', 'vault-cci', 'vm-service'] as const;
export type WorkerStage = (typeof WORKER_STAGES)[number];

/** Where a stage's objects go: S3 (the SDK's settings for the endpoint) or fileserved. */
export type ObjectsConfig = { readonly kind: 's3'; readonly client: S3ClientConfig; readonly bucket: string } | { readonly kind: 'fileserved'; readonly url: string };

/** Everything a stage needs, as plain data (it crosses to the worker): URLs of what it connects to. */
export interface StageConfig {
  readonly stage: WorkerStage;
  readonly port: number;
  readonly healthPath: string;
  /** The `circle` database (every stage but vault-cci and vm-service). */
  readonly postgresUrl?: string;
  /** RabbitMQ (the queue consumers and publishers). */
  readonly amqpUrl?: string;
  readonly redisUrl?: string;
  readonly mongoUrl?: string;
  readonly objects?: ObjectsConfig;
  readonly github?: { readonly apiUrl: string; readonly token: string };
  readonly nomadAddress?: string;
  /** With a real Nomad: its build agents run as raw_exec tasks (`rawExecBuildAgentTask`). */
  readonly buildAgent?: RawExecBuildAgentOptions;
  /** frontend and workflows-conductor: the queue a new build goes to (`usage-queue` where the stack runs dispatcher); default `run-queue`. */
  readonly entryQueue?: string;
  /** frontend's webhook secret. */
  readonly hookSecret?: string;
  /** picard-dispatcher's resource classes (`executor:name` → size): the settled scenario's, or the profile's. */
  readonly resourceClasses?: Readonly<Record<string, { readonly cpuMilli: number; readonly memoryMb: number }>>;
  /** The timings of the stack's time scale (`stageTimings`); absent, each stage's wall-clock defaults. */
  readonly timings?: StageTimings;
  /** picard-dispatcher: contexts-service's base URL, for jobs that use contexts (without it they fail). */
  readonly contextsUrl?: string;
  /** contexts-service: vault-cci's base URL, and the contexts it seeds (name → Vault path) in the `contexts` table. */
  readonly vaultUrl?: string;
  readonly contexts?: Readonly<Record<string, string>>;
  /** vault-cci: the secrets it holds, by Vault path. */
  readonly secrets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** vm-service: the EC2 endpoint, its pools and the stack's time scale. */
  readonly vm?: { readonly ec2Url: string; readonly preallocated: { readonly machine: number; readonly remote_docker: number }; readonly timeScale: number; readonly scaleIntervalMs: number; readonly assignMs: number; readonly restarted: boolean };
  /** picard-dispatcher under a live mutant (`replay/mutants.ts`), with the time scale its delay is in. */
  readonly mutant?: { readonly mutant: LiveMutant; readonly timeScale: number };
  /** output-processor: where notifier reaches exim and slanger. */
  readonly notify?: NotifierTargets;
}

/**
 * The stages' timings at a time scale, as wall milliseconds: what is a fixed span of scenario time in the
 * simulation is that span divided by the scale here, within bounds a loaded machine keeps up with.
 */
export interface StageTimings {
  /** Consumers try a broker that went away again every 5 s of scenario time, at most every 250 ms of wall time. */
  readonly reconnectMs: number;
  /** output-processor writes running builds' status to MongoDB every scenario minute. */
  readonly statusFlushMs: number;
  /** The MongoDB client gives up after 30 s of scenario time without a server, as a driver's server selection does. */
  readonly mongoGiveUpMs: number;
  /** picard-dispatcher's `Still running...` every two minutes of scenario time. */
  readonly heartbeatMs: number;
  /** A dependency that stays unreachable is said again once a minute of scenario time. */
  readonly dependencyLogMs: number;
}

/**
 * The timings at `timeScale`. At 240× a reconnect every 250 ms would be a minute of scenario time per consumer in
 * series (a build queued as RabbitMQ came back waited that long at each), hence 5 s of scenario time.
 */
export function stageTimings(timeScale: number): StageTimings {
  return {
    reconnectMs: Math.min(250, Math.max(20, 5_000 / timeScale)),
    statusFlushMs: Math.max(50, 60_000 / timeScale),
    mongoGiveUpMs: Math.max(100, 30_000 / timeScale),
    heartbeatMs: Math.max(50, HEARTBEAT_MS / timeScale),
    dependencyLogMs: Math.max(50, DEPENDENCY_RETRY_LOG_MS / timeScale),
  };
}

/** What a stage counts for the accounting (audit events recorded and lost, vm-service's instances), by name. */
export type StageCounters = Readonly<Record<string, number>>;

/** What the worker tells the host. */
export type StageMessage =
  | { readonly type: 'ready'; readonly port: number; readonly healthUrl: string; readonly url: string; readonly hookUrl?: string }
  | { readonly type: 'failed'; readonly message: string; readonly code?: string }
  | { readonly type: 'stopped' }
  /** Sent when they changed (at most every COUNTERS_MS), and in answer to `counters`. */
  | { readonly type: 'counters'; readonly counters: StageCounters; readonly id?: number }
  /** audit-log-service wrote what it had received (the answer to `flush`). */
  | { readonly type: 'flushed'; readonly id: number }
  /** A line of the stage's own log (`LOG_LINES`), written at `atMs` (epoch). */
  | { readonly type: 'log'; readonly text: string; readonly atMs: number; readonly container?: string }
  /** The worker's own `process.env` and the heap limit it runs under (the answer to `env`). */
  | { readonly type: 'env'; readonly id: number; readonly env: Readonly<Record<string, string>>; readonly maxMemoryBytes: number };

/**
 * What the host asks a started worker: its counters now, (audit-log-service) to write what it received, or its
 * environment (`docker exec C printenv`, the REPL's `.maxMemory`).
 */
export type StageRequest = { readonly type: 'counters'; readonly id: number } | { readonly type: 'flush'; readonly id: number } | { readonly type: 'env'; readonly id: number };

/**
 * The heap limit this thread runs under, in bytes: the old generation's limit it was started with (`resourceLimits`,
 * the live stack's `JVM_HEAP_SIZE`), else V8's own limit.
 */
export function threadHeapLimitBytes(): number {
  const mb = resourceLimits.maxOldGenerationSizeMb;
  return mb !== undefined && mb > 0 ? Math.round(mb * 1024 * 1024) : getHeapStatistics().heap_size_limit;
}

/** How often a worker sends counters that changed: a killed worker's last counts are at most this old. */
export const COUNTERS_MS = 100;

/** Where a started stage answers (plain data: it crosses to the host). */
interface Endpoints {
  readonly port: number;
  readonly healthUrl: string;
  readonly url: string;
  readonly hookUrl?: string;
}

/** A stage that started: where it answers, what it counts, and (audit-log-service) how it writes what it holds. */
interface Running extends Endpoints {
  readonly counters?: () => StageCounters;
  readonly flush?: () => Promise<void>;
}

/** Builds and starts a stage on its own clients; everything it opens is registered with `own`. */
export async function startStage(c: StageConfig, own: Owned, log: ServiceLog = SILENT_LOG, logOf: (container: string) => ServiceLog = () => SILENT_LOG): Promise<Running> {
  const PIPELINE_DB = (await import('./pipeline/schema.ts')).PIPELINE_DB;
  switch (c.stage) {
    case 'frontend': {
      const [{ Frontend }, { AuditPublisher }] = await Promise.all([load.frontend(), load.audit()]);
      const connect = await amqpConnect(c);
      const audit = new AuditPublisher(connect);
      const frontend = new Frontend({ pool: await pool(c, own), connect, webhookSecret: c.hookSecret ?? '', audit, documents: await documents(c, own, PIPELINE_DB), port: c.port, ...entryQueue(c) });
      frontend.log = log;
      await frontend.start();
      own.add(frontend, (f) => f.stop());
      return { port: portOf(frontend.url), healthUrl: `${frontend.url}${c.healthPath}`, url: frontend.url, hookUrl: frontend.hookUrl, counters: auditCounters(audit) };
    }
    case 'output-processor': {
      const [{ OutputProcessor }, { AuditPublisher }] = await Promise.all([load.output(), load.audit()]);
      const connect = await amqpConnect(c);
      const redis = own.add(await redisClient(c), quit);
      const audit = new AuditPublisher(connect);
      const statusFlush = c.timings ? { statusFlushMs: c.timings.statusFlushMs } : {};
      const notifier = c.notify === undefined ? {} : { notifier: new (await load.notifier()).Notifier(c.notify, logOf('notifier')) };
      const output = new OutputProcessor({ pool: await pool(c, own), redis, documents: await documents(c, own, PIPELINE_DB), objects: await objects(c, own), connect, audit, port: c.port, ...statusFlush, ...notifier });
      output.log = log;
      await output.start();
      own.add(output, (o) => o.stop());
      // The profile documents no health endpoint for output-processor: the row probes the stage's own.
      return { port: portOf(output.url), healthUrl: `${output.url}/health-check`, url: output.url, counters: auditCounters(audit) };
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
      const contexts = c.contextsUrl === undefined ? {} : { contextsUrl: () => c.contextsUrl! };
      const hook = c.mutant === undefined ? undefined : (await load.mutants()).dispatcherHook(c.mutant.mutant, c.mutant.timeScale);
      const dispatcher = new PicardDispatcher({ connect: await amqpConnect(c), github: new GithubClient({ apiUrl: g.apiUrl, token: g.token }), pool: db, cache, resourceClasses: required(c, 'resourceClasses'), ...reconnect(c), ...contexts, ...(hook ? { beforeHandle: hook } : {}) });
      // Its heartbeat runs while its thread runs: a hung dispatcher is silent, one whose queue is empty says only this.
      const heartbeat = setInterval(() => log.write(LOG_LINES.stillRunning), c.timings?.heartbeatMs ?? HEARTBEAT_MS);
      own.add(heartbeat, async (t) => clearInterval(t));
      return consumer(c, own, dispatcher, [postgresCheck(db), { name: 'redis', ok: () => cache.ping().then(() => true) }], log);
    }
    case 'schedulerer': {
      const [{ Schedulerer }, { AuditPublisher }, { NomadClient }] = await Promise.all([load.schedulerer(), load.audit(), load.nomad()]);
      const db = await pool(c, own);
      const connect = await amqpConnect(c);
      // The twin's Nomad API, or a real Nomad (NOMAD_ADDR, a `nomad` binary): either speaks the same HTTP API.
      // A Nomad server that is down refuses the connection at once; the limit is for one that answers late. This
      // thread does not share the Nomad API's: with 3 s, a loaded machine's late answers (a 240x replay at load 25)
      // dropped builds as if the server were down, which the simulation does only when it is.
      const nomad = new NomadClient({ address: required(c, 'nomadAddress'), timeoutMs: 30_000 });
      // A real agent's datacenter is its own (a dev agent's `dc1`); its builds run as raw_exec build agents.
      const real = c.buildAgent === undefined ? {} : await (await load.buildAgent()).realNomadJobs(nomad, c.buildAgent);
      const audit = new AuditPublisher(connect);
      const schedulerer = new Schedulerer({ connect, pool: db, nomad, audit, ...reconnect(c), ...real });
      const running = await consumer(c, own, schedulerer, [postgresCheck(db), { name: 'nomad_server', ok: () => nomad.request('GET', '/v1/status/leader').then(() => true) }], log);
      return { ...running, counters: auditCounters(audit) };
    }
    case 'workflows-conductor': {
      const { WorkflowsConductor } = await load.conductor();
      const db = await pool(c, own);
      return consumer(c, own, new WorkflowsConductor({ connect: await amqpConnect(c), pool: db, ...reconnect(c), ...entryQueue(c) }), [postgresCheck(db)], log);
    }
    case 'dispatcher': {
      const { Dispatcher } = await load.dispatcher();
      const dispatcher = new Dispatcher({ connect: await amqpConnect(c), pool: await pool(c, own), ...reconnect(c) });
      return { ...(await consumer(c, own, dispatcher, [], log)), counters: () => ({ forwarded: dispatcher.forwarded }) };
    }
    case 'audit-log-service': {
      const { AuditLogService } = await load.audit();
      const auditLog = new AuditLogService({ connect: await amqpConnect(c), objects: await objects(c, own), ...reconnect(c) });
      return { ...(await consumer(c, own, auditLog, [], log)), flush: () => auditLog.flush() };
    }
    case 'vault-cci': {
      const { VaultCci } = await load.contexts();
      const vault = new VaultCci(c.port);
      for (const [path, data] of Object.entries(c.secrets ?? {})) vault.put(path, data);
      await vault.start();
      own.add(vault, (v) => v.stop());
      return { port: vault.port, healthUrl: `${vault.url}/v1/sys/health`, url: vault.url };
    }
    case 'contexts-service': {
      const { ContextsService } = await load.contexts();
      const db = await pool(c, own);
      for (const [name, path] of Object.entries(c.contexts ?? {})) await db.query('INSERT INTO contexts (name, vault_path) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, path]);
      const vaultUrl = required(c, 'vaultUrl');
      const contexts = new ContextsService({ pool: db, vaultUrl: () => vaultUrl, port: c.port });
      await contexts.start();
      own.add(contexts, (x) => x.stop());
      return { port: contexts.port, healthUrl: `${contexts.url}${c.healthPath}`, url: contexts.url, counters: () => ({ served: contexts.served, refused: contexts.refused }) };
    }
    case 'vm-service': {
      const [{ VmService }, { EC2Client }] = await load.vm();
      const v = required(c, 'vm');
      // One attempt per call: a vm-service whose EC2 endpoint is gone fails the build's request, as the simulation's does.
      const ec2 = own.add(new EC2Client({ endpoint: v.ec2Url, region: 'us-east-1', credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' }, maxAttempts: 1 }), async (e) => e.destroy());
      const vm = new VmService({ ec2, preallocated: v.preallocated, timeScale: v.timeScale, scaleIntervalMs: v.scaleIntervalMs, assignMs: v.assignMs, restarted: v.restarted, port: c.port });
      await vm.start();
      own.add(vm, (x) => x.stop());
      return {
        port: vm.port,
        healthUrl: `${vm.url}${c.healthPath}`,
        url: vm.url,
        counters: () => ({ launched: vm.launched, terminated: vm.terminated, preallocatedUsed: vm.preallocatedUsed, waits: vm.waits.length, waitMsTotal: vm.waits.reduce((a, b) => a + b, 0) }),
      };
    }
  }
}

/** An audit publisher's counts: events recorded (RabbitMQ took them) and lost (it did not). */
function auditCounters(audit: { recorded: number; lost: number }): () => StageCounters {
  return () => ({ auditRecorded: audit.recorded, auditLost: audit.lost });
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

/** A consumer's reconnect interval at the stack's time scale, when it has one. */
function reconnect(c: StageConfig): { reconnectMs?: number } {
  return c.timings ? { reconnectMs: c.timings.reconnectMs } : {};
}

/** The queue frontend and workflows-conductor publish new builds to, when the stack says. */
function entryQueue(c: StageConfig): { entryQueue?: string } {
  return c.entryQueue === undefined ? {} : { entryQueue: c.entryQueue };
}

/** A queue consumer and its health endpoint, which also names RabbitMQ while the consumer has no broker connection. */
async function consumer(c: StageConfig, own: Owned, stage: ReconnectingConsumer, checks: readonly HealthCheck[], log: ServiceLog): Promise<Running> {
  const { StageHealth } = await load.health();
  stage.log = log;
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
  const p = own.add(new Pool({ connectionString: required(c, 'postgresUrl'), max: 4, connectionTimeoutMillis: 2_000 }), (x) => x.end());
  // Connections of a server that died error out of the pool; the queries on them reject on their own.
  p.on('error', () => undefined);
  return p;
}

async function amqpConnect(c: StageConfig): Promise<AmqpConnect> {
  const amqp = await load.amqp();
  const url = required(c, 'amqpUrl');
  return async () => {
    const conn = await amqp.connect(url, { timeout: 2_000 });
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
  const giveUpMs = c.timings?.mongoGiveUpMs ?? 2_000;
  const client = own.add(new MongoClient(required(c, 'mongoUrl'), { serverSelectionTimeoutMS: giveUpMs, socketTimeoutMS: Math.max(1_000, giveUpMs) }), (m) => m.close());
  await connectEagerly(client, 15_000);
  return mongoDocumentStore(client.db(db));
}

/**
 * Connects a driver client before the stage uses it, retrying until `withinMs`. The driver connects on first use
 * otherwise, and a first connect that fails (server selection gives up after 30 s of scenario time: 125 ms at 240x,
 * which a loaded machine misses) leaves its topology closed for good: every later operation fails with
 * MongoTopologyClosedError (seen in 2 of 3 kill-rabbitmq replays at a load average of 15-24). Once connected, an
 * unreachable server fails operations by server selection and the topology stays.
 */
export async function connectEagerly(client: { connect(): Promise<unknown> }, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await client.connect();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
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
  startLoopProbe();
  // Before the stage's packages load: their compiled code from the last start.
  enableCodeCache();
  const loaded = preload(stage);
  let running: Running | undefined;
  // The stage's own log: each line to the host at once, stamped now (a killed worker's lines so far are kept there).
  let log: ServiceLog = SILENT_LOG;
  const counters = (id?: number) => {
    if (running?.counters) port.postMessage({ type: 'counters', counters: running.counters(), ...(id === undefined ? {} : { id }) } satisfies StageMessage);
  };
  port.on('message', (m: string | { type: 'start'; config: StageConfig } | StageRequest) => {
    if (typeof m === 'object' && m.type === 'counters') counters(m.id);
    else if (typeof m === 'object' && m.type === 'env') {
      const env = Object.fromEntries(Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as const])));
      port.postMessage({ type: 'env', id: m.id, env, maxMemoryBytes: threadHeapLimitBytes() } satisfies StageMessage);
    }
    else if (typeof m === 'object' && m.type === 'flush') {
      const done = () => port.postMessage({ type: 'flushed', id: m.id } satisfies StageMessage);
      void (running?.flush?.() ?? Promise.resolve()).then(done, done);
    } else if (m === 'pause') {
      // Blocks this thread (timers, sockets, everything) while the host keeps the flag at 1: a hung process.
      while (Atomics.load(flag, 0) === 1) Atomics.wait(flag, 0, 1);
    } else if (m === 'stop') {
      if (running !== undefined) log.write(LOG_LINES.sigterm(stage));
      void own.close().then(() => {
        port.postMessage({ type: 'stopped' } satisfies StageMessage);
        port.close();
      });
    } else if (typeof m === 'object' && m.type === 'start') {
      const logOf = (container: string) => new ServiceLog(container, (text, atMs) => port.postMessage({ type: 'log', text, atMs, ...(container === stage ? {} : { container }) } satisfies StageMessage), m.config.timings?.dependencyLogMs);
      log = logOf(stage);
      log.write(LOG_LINES.starting(stage));
      void loaded.then(() => startStage(m.config, own, log, logOf)).then(
        (r) => {
          running = r;
          const { port: p, healthUrl, url, hookUrl } = r;
          port.postMessage({ type: 'ready', port: p, healthUrl, url, ...(hookUrl === undefined ? {} : { hookUrl }) } satisfies StageMessage);
          // Counts that changed go to the host as they change, so that a worker killed later leaves its last ones.
          if (r.counters) {
            let last = '';
            const timer = setInterval(() => {
              const now = JSON.stringify(r.counters!());
              if (now !== last) {
                last = now;
                counters();
              }
            }, COUNTERS_MS);
            timer.unref();
            own.add(timer, async (t) => clearInterval(t));
          }
        },
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
