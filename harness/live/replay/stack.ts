import pg from 'pg';
import type { MongoClient } from 'mongodb';
import type { Redis } from 'ioredis';
import type { Chosen } from '../backend-choice.ts';
import type { SettledScenario } from '../../../sim/scenario/settled.ts';
import { FileservedProvider, MongoProvider, PostgresProvider, RabbitMQProvider, RedisProvider, S3Provider, mongoDocumentStore, type BackendChoice, type DocumentStore, type ObjectStore, type StartedMongo, type StartedPostgres, type StartedRabbitMQ, type StartedRedis, type StartedS3, type StartedFileserved } from '../../providers/index.ts';
import { FakeGithub, type StartedFakeGithub } from '../../github/server.ts';
import { defaultSeedData } from '../../github/state.ts';
import { GithubClient } from '../../github/client.ts';
import { NomadApiServer, type StartedNomadApiServer } from '../../nomad/server.ts';
import { NomadClient } from '../../nomad/client.ts';
import { Frontend, PicardDispatcher, Schedulerer, OutputProcessor, BuildAgentRunner, WorkflowsConductor, AuditLogService, AuditPublisher, PIPELINE_DB, PIPELINE_MIGRATIONS, RUN_QUEUE, SCHEDULERER_QUEUE, WORKFLOW_EVENTS_QUEUE, AUDIT_QUEUE } from '../pipeline/index.ts';
import type { Channel, ChannelModel } from '../pipeline/amqp.ts';
import { configured } from '../backends.ts';
import { TcpProxy } from '../proxy/tcp-proxy.ts';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Ec2Api, type StartedEc2Api } from '../../ec2/server.ts';
import { scaledClock } from '../../ec2/clock.ts';
import { VmService } from '../pipeline/vm-service.ts';
import { ContextsService, VaultCci, contextSecretPath } from '../pipeline/contexts.ts';
import { CONTEXT } from './config.ts';
import { TIMINGS } from '../../../sim/models/timings.ts';
import type { Profile } from '../../../fixtures/schema.ts';
import { ClientLiveness, HEARTBEAT_TIMEOUT_MS } from '../../../sim/models/fleet/client-liveness.ts';
import { buildIdOfJob } from '../pipeline/lost-allocations.ts';
import { LiveFaultAdapter, nomadApiTarget, type LiveFaultSurface, type LiveFleet } from '../fault-adapter.ts';
import { liveKind, LIVE_GROUPS } from '../../../sim/faults/catalogue.ts';
import type { FaultOrder } from '../../../sim/faults/port.ts';

/**
 * Connects a driver client before the replay uses it, retrying until `withinMs`. The driver connects on first use
 * otherwise, and a first connect that fails (server selection gives up after 30 s of scenario time: 125 ms at 240x,
 * which a loaded machine misses) leaves its topology closed for good: every later operation, the accounting's
 * included, fails with MongoTopologyClosedError (seen in 2 of 3 kill-rabbitmq replays at a load average of 15-24).
 * Once connected, an unreachable server fails operations by server selection and the topology stays.
 */
async function connectEagerly(client: MongoClient, withinMs: number): Promise<void> {
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

/** The repository pushes go to (its hook points at frontend) and the one scheduled workflows run from (no hook). */
export const PUSH_REPO = 'twin/app';
export const SCHEDULED_REPO = 'twin/scheduled';
const HOOK_SECRET = 'twin-replay-hook';

/** A pipeline stage: a service of the twin with a graceful stop, an abrupt kill and a start after either. */
interface Stage {
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): void;
}

export interface ReplayStackOptions {
  scenario: SettledScenario;
  /** The version profile: vm-service's instance boot time. */
  profile: Profile;
  timeScale: number;
  /** Backend per component (default `auto`: private local processes here). */
  choice?: Partial<Record<Chosen, BackendChoice>>;
  urls?: Partial<Record<Chosen, string>>;
  log?: (line: string) => void;
  /** A live mutant's hook for picard-dispatcher (`mutants.ts`'s `dispatcherHook`). */
  dispatcherHook?: () => Promise<'drop' | undefined>;
}

/**
 * What a live replay runs on: private PostgreSQL, Redis and RabbitMQ processes, the twin's Nomad API with the
 * scenario's clients (on the simulation's scheduler), the fake GitHub Enterprise with the two repositories,
 * and the pipeline stages (frontend, picard-dispatcher, schedulerer, output-processor, workflows-conductor,
 * and build-agent on every Nomad client) connected over HTTP, AMQP and SQL.
 */
export class ReplayStack {
  pgh!: StartedPostgres;
  redisH!: StartedRedis;
  mq!: StartedRabbitMQ;
  mongo!: StartedMongo;
  documents!: DocumentStore;
  /** S3 (`storage: s3`) or fileserved (`storage: fileserved`): step output logs, artifacts, test results, audit logs. */
  objects!: ObjectStore;
  objectsDetail = '';
  /** The services' audit publishers, for the accounting (events recorded and lost). */
  readonly audit: AuditPublisher[] = [];
  auditLog!: AuditLogService;
  nomad!: StartedNomadApiServer;
  ghe!: StartedFakeGithub;
  /** The EC2 endpoint vm-service launches instances on, and vm-service itself. */
  ec2!: StartedEc2Api;
  vmService!: VmService;
  pool!: pg.Pool;
  redis!: Redis;
  runner!: BuildAgentRunner;
  frontend!: Frontend;
  stages = new Map<string, Stage>();
  /** The build agents' path to output-processor: cut by a partition of the Services machine from the fleet. */
  fleetLink!: TcpProxy;
  /** Builds whose Nomad job a wipe of the server's state destroyed (they show Running, or queued, for ever). */
  readonly wipedBuilds = new Set<number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * What the Nomad server decides when clients stop heartbeating (the simulation's own module): the twin's Nomad API
   * marks silent clients down after the heartbeat timeout, scaled to wall time.
   */
  private liveness: ClientLiveness | undefined;
  /** Milliseconds each part took to start, for the report. */
  readonly bootMs: Record<string, number> = {};
  private monitorConn: ChannelModel | null = null;
  private monitorChannel: Channel | null = null;
  /** How to stop what started, last started first. */
  private readonly cleanup: (() => Promise<unknown>)[] = [];

  constructor(private readonly opts: ReplayStackOptions) {}

  /** Backend details, for the report: what ran where. */
  backends(): Record<string, string> {
    return { postgres: this.pgh.backendDetail, redis: this.redisH.backendDetail, rabbitmq: this.mq.backendDetail, mongo: this.mongo.backendDetail, [this.opts.scenario.topology.storage === 'fileserved' ? 'fileserved' : 's3']: this.objectsDetail, nomad_server: this.nomad.backendDetail, github: this.ghe.backendDetail, ec2: this.ec2.backendDetail };
  }

  /** Boots everything; on failure stops what started and rethrows. */
  async up(): Promise<void> {
    try {
      await this.boot();
    } catch (err) {
      await this.down();
      throw err;
    }
  }

  private timed<T>(name: string, p: Promise<T>): Promise<T> {
    const t0 = Date.now();
    return p.then((v) => {
      this.bootMs[name] = Date.now() - t0;
      return v;
    });
  }

  private async boot(): Promise<void> {
    const { scenario, log } = this.opts;
    log?.(`starting postgres, redis, rabbitmq, mongo and ${scenario.topology.storage === 'fileserved' ? 'fileserved' : 'S3'} …`);
    const [pgh, redisH, mq, mongo, objects] = await Promise.allSettled([
      this.timed('postgres', configured(new PostgresProvider().withDatabases([PIPELINE_DB]), 'postgres', this.opts).start()),
      this.timed('redis', configured(new RedisProvider(), 'redis', this.opts).start()),
      this.timed('rabbitmq', configured(new RabbitMQProvider(), 'rabbitmq', this.opts).start()),
      // MongoDB: a system mongod or Docker when there is one, else the twin's embedded MongoDB (a wire-protocol server).
      this.timed('mongo', configured(new MongoProvider(), 'mongo', this.opts).start()),
      // Object storage: LocalStack with Docker, else the embedded S3 server; or fileserved on local disk.
      this.timed<StartedS3 | StartedFileserved>('objects', scenario.topology.storage === 'fileserved' ? configured(new FileservedProvider(), 'fileserved', this.opts).start() : configured(new S3Provider(), 's3', this.opts).start()),
    ]);
    const all = [pgh, redisH, mq, mongo, objects] as const;
    for (const r of all) if (r.status === 'fulfilled') this.cleanup.push(() => r.value.stop());
    for (const r of all) if (r.status === 'rejected') throw r.reason;
    const store = (objects as PromiseFulfilledResult<StartedS3 | StartedFileserved>).value;
    this.objects = store.store();
    this.objectsDetail = store.backendDetail;
    this.pgh = (pgh as PromiseFulfilledResult<StartedPostgres>).value;
    this.redisH = (redisH as PromiseFulfilledResult<StartedRedis>).value;
    this.mq = (mq as PromiseFulfilledResult<StartedRabbitMQ>).value;
    this.mongo = (mongo as PromiseFulfilledResult<StartedMongo>).value;
    // The services' MongoDB client gives up after 30 s of scenario time without a server, as a driver's default
    // server selection does: a write while mongo is down fails (frontend answers 500, a status update is lost).
    const giveUpMs = Math.max(100, 30_000 / this.opts.timeScale);
    const documentsClient = this.mongo.client({ serverSelectionTimeoutMS: giveUpMs, socketTimeoutMS: Math.max(1_000, giveUpMs) });
    await this.timed('mongo-client', connectEagerly(documentsClient, 15_000));
    this.documents = mongoDocumentStore(documentsClient.db(PIPELINE_DB));
    await this.timed('migrations', this.pgh.runMigrations(PIPELINE_DB, PIPELINE_MIGRATIONS));
    this.pool = new pg.Pool({ connectionString: this.pgh.urlFor(PIPELINE_DB), max: 12, connectionTimeoutMillis: 2_000 });
    this.pool.on('error', () => undefined);
    this.cleanup.unshift(() => this.pool.end());
    this.redis = this.redisH.client();
    this.redis.on('error', () => undefined);
    this.cleanup.unshift(() => this.redis.quit().catch(() => this.redis.disconnect()));
    const connect = () => this.mq.connect({ timeoutMs: 2_000 });

    log?.(`starting the pipeline: Nomad API with ${scenario.topology.nomadClients.count} clients, GitHub Enterprise, 6 services …`);
    const t0 = Date.now();
    const auditFor = () => {
      const a = new AuditPublisher(connect);
      this.audit.push(a);
      return a;
    };
    // Running builds' status goes to MongoDB every scenario minute.
    const statusFlushMs = Math.max(50, 60_000 / this.opts.timeScale);
    const output = new OutputProcessor({ pool: this.pool, redis: this.redis, documents: this.documents, objects: this.objects, connect, audit: auditFor(), statusFlushMs });
    // Build agents reach output-processor through a TCP proxy, the network a partition cuts.
    this.runner = new BuildAgentRunner({
      outputProcessorUrl: () => `http://${this.fleetLink.host}:${this.fleetLink.port}`,
      vmServiceUrl: () => this.vmService.url,
      timeScale: this.opts.timeScale,
      startDelayMs: 5,
    });
    const nc = scenario.topology.nomadClients;
    this.nomad = await new NomadApiServer()
      .withPort(0)
      .withSeed(scenario.seed)
      .withClients(Array.from({ length: nc.count }, (_, i) => ({ name: `ip-10-0-${(i >> 8) & 255}-${i & 255}`, cpus: nc.cpus, memoryGb: nc.memoryGb })))
      .withTaskRunner(this.runner)
      .start();
    this.cleanup.unshift(() => this.nomad.stop());
    this.frontend = new Frontend({ pool: this.pool, connect, webhookSecret: HOOK_SECRET, audit: auditFor(), documents: this.documents });
    await output.start();
    this.cleanup.unshift(() => output.stop());
    this.fleetLink = await TcpProxy.start({ name: 'output-processor', target: { host: '127.0.0.1', port: Number(new URL(output.url).port) } });
    this.cleanup.unshift(() => this.fleetLink.close());
    await this.frontend.start();
    this.cleanup.unshift(() => this.frontend.stop());
    const seed = defaultSeedData();
    const hookless = { default_branch: 'master', files: { 'README.md': 'scheduled workflows\n' } };
    this.ghe = await new FakeGithub()
      .withPort(0)
      .withSeedData({
        ...seed,
        orgs: [...(seed.orgs ?? []), { login: 'twin', members: ['GERey'] }],
        repos: [
          ...(seed.repos ?? []),
          { owner: 'twin', name: 'app', default_branch: 'master', files: { 'README.md': 'replayed pushes\n' }, hooks: [{ url: this.frontend.hookUrl, secret: HOOK_SECRET, content_type: 'json', events: ['push'] }] },
          { owner: 'twin', name: 'scheduled', ...hookless },
        ],
      })
      .start();
    this.cleanup.unshift(() => this.ghe.stop());
    const github = new GithubClient({ apiUrl: this.ghe.apiUrl, token: this.ghe.tokenFor('GERey') });
    const resourceClasses = Object.fromEntries(Object.entries(scenario.topology.resourceClasses).map(([k, v]) => [k, { cpuMilli: v.cpuMilli, memoryMb: v.memoryMb }]));
    // picard-dispatcher's own Redis client for its GitHub API cache: it fails at once while Redis is down, and
    // within half a second while Redis hangs (paused).
    const cache = this.redisH.client({ enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 });
    this.cleanup.unshift(() => cache.quit().catch(() => cache.disconnect()));
    // The context jobs name: a row in PostgreSQL, its secrets in vault-cci.
    const vault = new VaultCci();
    vault.put(contextSecretPath(CONTEXT), { DEPLOY_TOKEN: 'twin-secret', AWS_REGION: 'us-east-1' });
    await this.pool.query('INSERT INTO contexts (name, vault_path) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [CONTEXT, contextSecretPath(CONTEXT)]);
    const contexts = new ContextsService({ pool: this.pool, vaultUrl: () => vault.url });
    await Promise.all([vault.start(), contexts.start()]);
    this.cleanup.unshift(() => vault.stop(), () => contexts.stop());
    this.stages.set('vault-cci', vault);
    this.stages.set('contexts-service', contexts);
    // Consumers try to reach a broker that went away every 5 s of scenario time (at most every 250 ms of wall time):
    // with 250 ms at 240×, a build queued as RabbitMQ came back waited a minute per consumer on its way.
    const reconnectMs = Math.min(250, Math.max(20, 5_000 / this.opts.timeScale));
    const dispatcher = new PicardDispatcher({ connect, github, pool: this.pool, resourceClasses, cache, contextsUrl: () => contexts.url, reconnectMs, ...(this.opts.dispatcherHook ? { beforeHandle: this.opts.dispatcherHook } : {}) });
    const schedulerer = new Schedulerer({ connect, pool: this.pool, nomad: new NomadClient({ address: this.nomad.url, timeoutMs: 3_000 }), audit: auditFor(), reconnectMs });
    const conductor = new WorkflowsConductor({ connect, pool: this.pool, reconnectMs });
    // Audit files every second of wall time: at 60× a minute of scenario time.
    this.auditLog = new AuditLogService({ connect, objects: this.objects, flushMs: 1_000, reconnectMs });
    this.stages.set('frontend', this.frontend);
    this.stages.set('output-processor', output);
    this.stages.set('picard-dispatcher', dispatcher);
    this.stages.set('schedulerer', schedulerer);
    this.stages.set('workflows-conductor', conductor);
    this.stages.set('audit-log-service', this.auditLog);
    // vm-service on the twin's EC2 endpoint, whose instances boot in the profile's mean boot time of scenario time.
    const vm = this.opts.profile.vm_service;
    this.ec2 = await new Ec2Api()
      .withPort(0)
      .withSeed(scenario.seed)
      .withClock(scaledClock(this.opts.timeScale))
      .withTimings({ bootMs: (vm.boot_min_ms + vm.boot_max_ms) / 2 })
      .start();
    this.cleanup.unshift(() => this.ec2.stop());
    const ec2 = new EC2Client({ endpoint: this.ec2.url, region: 'us-east-1', credentials: { accessKeyId: 'twin', secretAccessKey: 'twin' }, maxAttempts: 1 });
    this.cleanup.unshift(async () => ec2.destroy());
    const v = scenario.topology.vmService;
    this.vmService = new VmService({
      ec2,
      preallocated: { machine: v.preallocatedMachine, remote_docker: v.preallocatedRemoteDocker },
      timeScale: this.opts.timeScale,
      scaleIntervalMs: TIMINGS.vmScalerIntervalMs,
      assignMs: TIMINGS.preallocatedAssignMs,
    });
    this.stages.set('vm-service', this.vmService);
    await Promise.all([dispatcher.start(), schedulerer.start(), conductor.start(), this.auditLog.start(), this.vmService.start()]);
    for (const s of [dispatcher, schedulerer, conductor, this.auditLog, this.vmService]) this.cleanup.unshift(() => s.stop());
    this.bootMs.pipeline = Date.now() - t0;
  }

  /** Messages waiting in the pipeline's queues, or undefined while RabbitMQ cannot be asked. */
  async queueDepths(): Promise<Record<string, number> | undefined> {
    try {
      if (this.monitorConn === null) {
        const conn = await this.mq.connect({ timeoutMs: 1_000 });
        conn.on('error', () => undefined);
        conn.once('close', () => {
          if (this.monitorConn === conn) this.monitorConn = null;
        });
        this.monitorConn = conn;
      }
      const out: Record<string, number> = {};
      for (const q of [RUN_QUEUE, SCHEDULERER_QUEUE, WORKFLOW_EVENTS_QUEUE, AUDIT_QUEUE]) {
        if (this.monitorChannel === null) {
          const ch = await this.monitorConn.createChannel();
          ch.on('error', () => undefined);
          ch.once('close', () => {
            if (this.monitorChannel === ch) this.monitorChannel = null;
          });
          this.monitorChannel = ch;
        }
        try {
          out[q] = (await this.monitorChannel.checkQueue(q)).messageCount;
        } catch {
          // Not declared (yet): nothing waits in it. The broker closed the channel; the next check opens one.
          out[q] = 0;
          this.monitorChannel = null;
        }
      }
      return out;
    } catch {
      await this.closeMonitor();
      return undefined;
    }
  }

  private async closeMonitor(): Promise<void> {
    const c = this.monitorConn;
    this.monitorConn = null;
    this.monitorChannel = null;
    await c?.close().catch(() => undefined);
  }

  /** Backends killed or stopped by a fault and not started since. */
  private readonly deadBackends = new Set<string>();

  private backend(name: string): StartedPostgres | StartedRedis | StartedRabbitMQ | StartedMongo {
    if (name === 'postgres') return this.pgh;
    if (name === 'redis') return this.redisH;
    if (name === 'rabbitmq') return this.mq;
    if (name === 'mongo') return this.mongo;
    throw new Error(`${name} is not a backend of the live replay`);
  }

  /** The fault port on this stack: the catalogue's live mechanics, on the surface below. */
  private readonly faults = new LiveFaultAdapter(this.surface());

  /** Carries out one fault operation (an action, or the undo of one) on its target; resolves when it took effect. */
  async act(order: FaultOrder): Promise<string> {
    const what = await this.faults.apply(order);
    if (this.backendNames.has(order.target)) {
      if (order.action === 'kill' || order.action === 'stop') this.deadBackends.add(order.target);
      if (order.action === 'start' || order.action === 'restart') this.deadBackends.delete(order.target);
    }
    return what;
  }

  private readonly backendNames = new Set<string>(LIVE_GROUPS.process);

  /** What the live adapter acts on: the real processes, the stages, the twin's Nomad API, its clients, the fleet's network. */
  private surface(): LiveFaultSurface {
    return {
      kindOf: liveKind,
      process: (name) => this.backend(name),
      service: (name) => {
        const stage = this.stages.get(name);
        if (stage === undefined) throw new Error(`${name} is not a stage of the live replay`);
        return stage;
      },
      // A wipe (the seeds' `rm -rf /opt/nomad` and restart) destroys the builds' jobs: they show Running, or queued, for ever.
      nomadServer: () =>
        nomadApiTarget(this.nomad, (jobs) => {
          for (const job of jobs) {
            const id = buildIdOfJob(job);
            if (id !== undefined) this.wipedBuilds.add(id);
          }
        }),
      fleet: () => this.clientFaults(),
      network: () => ({ partition: (on) => this.partition(on) }),
    };
  }

  /** Client liveness on the twin's Nomad API, with the heartbeat timeout scaled to wall time. */
  private clients(): ClientLiveness {
    this.liveness ??= new ClientLiveness(
      {
        // The twin's Nomad server keeps its state in memory: it decides even while its API is halted.
        isRunning: () => true,
        whenReachable: (op) => op(),
        isDown: (id) => this.nomad.scheduler.node(id)?.status === 'down',
        setStatus: (id, status) => void this.nomad.state.setNodeStatus(id, status),
      },
      (ms, fn) => this.later(ms / this.opts.timeScale, fn),
    );
    return this.liveness;
  }

  /**
   * The Services machine loses the network to the Nomad clients (or gets it back). The build agents' TCP path to
   * output-processor is blackholed (open connections hang, new ones get no byte) and the clients hold what they
   * would report; the clients' heartbeats stop, so past Nomad's heartbeat timeout (scaled) the server marks them
   * down and their allocations are lost. On heal the clients re-register and send what they held.
   */
  private partition(on: boolean): string {
    const liveness = this.clients();
    if (on === liveness.partitioned) return on ? 'already partitioned' : 'not partitioned';
    const nodes = () => this.nomad.state.nodeIds().filter((id) => !liveness.isGone(id));
    if (on) {
      liveness.setPartitioned(true, nodes);
      this.fleetLink.cut('blackhole');
      this.runner.setPartitioned(true);
      return `build agents' traffic to output-processor blackholed (TCP proxy); the ${nodes().length} clients' heartbeats stop: marked down after ${Math.round(HEARTBEAT_TIMEOUT_MS / this.opts.timeScale)} ms (${HEARTBEAT_TIMEOUT_MS / 1000} s of scenario time)`;
    }
    // Clients re-register first: the server tells them which allocations it declared lost, and they stop them.
    const down = liveness.setPartitioned(false, nodes);
    const held = this.runner.heldReports;
    this.fleetLink.heal();
    this.runner.setPartitioned(false);
    return `network back; ${down.length} clients had been marked down and re-registered; ${held} starts and reports had been held`;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /**
   * Faults on `count` Nomad clients (those that are up, in registration order; `start` and the undo of a drain
   * take the first `count`), as the simulation's fleet applies them.
   */
  private clientFaults(): LiveFleet {
    const liveness = this.clients();
    const all = () => this.nomad.state.nodeIds();
    const up = (count: number) => all().filter((id) => !liveness.isGone(id) && this.nomad.scheduler.node(id)?.status === 'ready').slice(0, count);
    const names = (ids: string[]) => ids.map((id) => this.nomad.scheduler.node(id)?.name ?? id).join(', ') || 'none';
    const timeoutMs = Math.round(HEARTBEAT_TIMEOUT_MS / this.opts.timeScale);
    return {
      agentDown: (count) => {
        const ids = up(count);
        for (const id of ids) {
          liveness.agentDown(id);
          this.runner.setAgentDown(id, true);
        }
        return `Nomad agent down on ${names(ids)}: tasks run on, nothing reported; marked down after ${timeoutMs} ms unless back`;
      },
      agentBack: (count) => {
        const back = liveness.agentsBack(all().slice(0, count));
        for (const id of back) this.runner.setAgentDown(id, false);
        return `Nomad agent back on ${names(back)}`;
      },
      terminate: (count) => {
        const ids = up(count);
        for (const id of ids) {
          liveness.terminate(id);
          this.runner.terminate(id);
        }
        const { cpus, memoryGb, bootTimeMs } = this.opts.scenario.topology.nomadClients;
        // The Auto Scaling Group launches replacements; they register once booted.
        this.later(bootTimeMs / this.opts.timeScale, () => {
          for (let i = 0; i < ids.length; i++) {
            const n = this.nomad.state.nodeIds().length;
            this.nomad.state.addClient({ name: `ip-10-0-${(n >> 8) & 255}-${n & 255}`, cpus, memoryGb });
          }
        });
        return `instances of ${names(ids)} terminated (build agents killed); marked down after ${timeoutMs} ms; ${ids.length} replacements join after ${Math.round(bootTimeMs / this.opts.timeScale)} ms`;
      },
      drain: (count, enable) => {
        const ids = enable ? up(count) : all().slice(0, count);
        for (const id of ids) this.nomad.state.drain(id, { enable, form: 'legacy' });
        return enable ? `drain enabled on ${names(ids)}: running allocations finish, nothing new is placed there` : `drain disabled on ${names(ids)}`;
      },
    };
  }

  /**
   * Before the accounting: MongoDB left dead by a fault without `for:` is started again on its data dir, so that the
   * ledger can read what it acknowledged (an operator would do the same to count the builds).
   */
  async readyForAccounting(): Promise<void> {
    if (this.deadBackends.has('mongo')) await this.act({ action: 'start', target: 'mongo', count: 1 });
  }

  /** Stops everything that started, the pipeline first; never throws. */
  async down(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.closeMonitor();
    for (const stop of this.cleanup.splice(0)) await stop().catch(() => undefined);
  }
}
