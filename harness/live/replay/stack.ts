import pg from 'pg';
import type { Chosen } from '../backend-choice.ts';
import type { SettledScenario } from '../../../sim/scenario/settled.ts';
import { ProviderError, StartedFileserved, StartedMongo, StartedPostgres, StartedRabbitMQ, StartedS3, mongoDocumentStore, type BackendChoice, type DocumentStore, type ObjectStore } from '../../providers/index.ts';
import { StartedFakeGithub } from '../../github/server.ts';
import { defaultSeedData } from '../../github/state.ts';
import { StartedNomadApiServer } from '../../nomad/server.ts';
import { NomadClient } from '../../nomad/client.ts';
import { PIPELINE_DB, RUN_QUEUE, SCHEDULERER_QUEUE, WORKFLOW_EVENTS_QUEUE, AUDIT_QUEUE, type BuildAgentRunner } from '../pipeline/index.ts';
import type { Channel, ChannelModel } from '../pipeline/amqp.ts';
import { liveBackends } from '../backends.ts';
import { GAUGE_FLUSH_POLLS, LiveStack, METRICS_POLL_MS, type LiveRow } from '../stack.ts';
import type { PipelineServices } from '../pipeline-services.ts';
import { connectEagerly, stageTimings } from '../stage-worker.ts';
import type { StartedComponent } from '../../providers/types.ts';
import { REPLAY_CONTEXTS } from './config.ts';
import type { LiveMutant } from './mutants.ts';
import type { Profile } from '../../../fixtures/schema.ts';
import { LIVE_GROUPS } from '../../../sim/faults/catalogue.ts';
import type { FaultOrder } from '../../../sim/faults/port.ts';

/** The repository pushes go to (the project the stack follows: frontend's hook is on it) and the one scheduled workflows run from (no hook). */
export const PUSH_REPO = 'twin/app';
export const SCHEDULED_REPO = 'twin/scheduled';

/**
 * Documented ports at 16000 + port for the replay (frontend's 80 at 16080): apart from `twin up`'s 10000 and the
 * live tests' offsets; a port found in use falls back to a free one, as in `twin up`.
 */
export const REPLAY_PORT_OFFSET = 16_000;

export interface ReplayStackOptions {
  scenario: SettledScenario;
  /** The version profile: its containers, vm-service's instance boot time. */
  profile: Profile;
  timeScale: number;
  /** Backend per component (default `auto`: private local processes here). */
  choice?: Partial<Record<Chosen, BackendChoice>>;
  urls?: Partial<Record<Chosen, string>>;
  log?: (line: string) => void;
  /** `real`: the builds run on a real Nomad agent (`twin up --nomad real`), when one is found; default the twin's API. */
  nomad?: 'real' | 'twin';
  /** A deliberate defect of picard-dispatcher (`mutants.ts`), carried into its worker. */
  mutant?: LiveMutant;
  /** Where documented ports are published (default `REPLAY_PORT_OFFSET`): a drill on the live stack takes its own. */
  portOffset?: number;
}

/**
 * What a live replay runs on: `twin up`'s stack (`LiveStack`, every container of the profile in the table's order,
 * the pipeline's stages in worker threads of their own from `PipelineServices`), booted from the settled scenario:
 * its Nomad clients on the twin's Nomad API, its resource classes, its storage, its time scale (the stages' timings
 * and the EC2 endpoint's clock), GitHub Enterprise with the replay's two repositories (`twin/app` followed, so
 * frontend's hook is on it; `twin/scheduled` without a hook), the context the replay's jobs use. What is the
 * replay's own: its clients for the accounting (PostgreSQL, MongoDB, object storage), the queue depths, and
 * starting a store a fault left dead before the accounting.
 */
export class ReplayStack {
  private stack: LiveStack | undefined;
  pipeline!: PipelineServices;
  pool!: pg.Pool;
  documents!: DocumentStore;
  /** S3 (`storage: s3`) or fileserved (`storage: fileserved`): step output logs, artifacts, test results, audit logs. */
  objects!: ObjectStore;
  /** The Nomad server: the twin's API, or a real agent (`nomad: 'real'`). */
  nomad!: StartedComponent;
  /** The twin's Nomad API when the server is the twin's (its scheduler counts jobs without a request). */
  private nomadTwin: StartedNomadApiServer | undefined;
  /** Nomad clients registered when the stack came up. */
  nomadClients = 0;
  ghe!: StartedFakeGithub;
  private mq!: StartedRabbitMQ;
  /** Milliseconds each part took to start (from its row's `starting` to `healthy`), for the report. */
  readonly bootMs: Record<string, number> = {};
  private monitorConn: ChannelModel | null = null;
  private monitorChannel: Channel | null = null;
  /** How to stop what this replay opened on the stack (its own clients), last opened first. */
  private readonly cleanup: (() => Promise<unknown>)[] = [];

  constructor(private readonly opts: ReplayStackOptions) {}

  /** What the stack's twin services wrote in their logs (`LiveStack.logEntries`), for the run's symptoms. */
  logEntries(): ReturnType<LiveStack['logEntries']> {
    return this.stack?.logEntries() ?? [];
  }

  /** What telegraf wrote at each flush of its series (`LiveStack.gaugeFlushes`), and how often it flushes (wall ms). */
  gauges(): { flushes: ReturnType<LiveStack['gaugeFlushes']>; periodMs: number } {
    return { flushes: this.stack?.gaugeFlushes() ?? [], periodMs: this.stack?.gaugePeriodMs ?? GAUGE_FLUSH_POLLS * METRICS_POLL_MS };
  }

  /** The build agents on the Nomad clients (in this process). */
  get runner(): BuildAgentRunner {
    return this.pipeline.runner;
  }

  /** The stack underneath (its rows, health, lifecycle), once up. */
  get live(): LiveStack {
    if (this.stack === undefined) throw new Error('the live stack is not up');
    return this.stack;
  }

  /** frontend's base URL. */
  get frontendUrl(): string {
    return this.pipeline.frontendUrl;
  }

  /** Builds whose Nomad job a wipe of the server's state destroyed (they show Running, or queued, for ever). */
  get wipedBuilds(): ReadonlySet<number> {
    return this.pipeline.wipedBuilds;
  }

  /** Backend details, for the report: what ran where. */
  backends(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of ['postgres', 'redis', 'rabbitmq', 'mongo', 's3', 'fileserved', 'nomad_server', 'github', 'ec2']) {
      const c = this.stack?.components.get(name);
      if (c !== undefined) out[name] = c.backendDetail;
    }
    return out;
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

  private async boot(): Promise<void> {
    const { scenario, profile, timeScale, log } = this.opts;
    const nc = scenario.topology.nomadClients;
    const v = scenario.topology.vmService;
    const vm = profile.vm_service;
    const seed = defaultSeedData();
    const { backends, externals, migrate, services, pipeline } = liveBackends(profile, {
      ...(this.opts.choice ? { choice: this.opts.choice } : {}),
      ...(this.opts.urls ? { urls: this.opts.urls } : {}),
      auth: scenario.topology.auth,
      storage: scenario.topology.storage,
      timeScale,
      resourceClasses: scenario.topology.resourceClasses,
      nomad: this.opts.nomad ?? 'twin',
      fleet: { count: nc.count, cpus: nc.cpus, memoryGb: nc.memoryGb, bootTimeMs: nc.bootTimeMs, seed: scenario.seed },
      // vm-service's instances boot in the profile's mean boot time of scenario time.
      ec2BootMs: (vm.boot_min_ms + vm.boot_max_ms) / 2,
      github: {
        seed: {
          ...seed,
          orgs: [...(seed.orgs ?? []), { login: 'twin', members: ['GERey'] }],
          repos: [
            ...(seed.repos ?? []),
            { owner: 'twin', name: 'app', default_branch: 'master', files: { 'README.md': 'replayed pushes\n' } },
            { owner: 'twin', name: 'scheduled', default_branch: 'master', files: { 'README.md': 'scheduled workflows\n' } },
          ],
        },
        followedRepo: PUSH_REPO,
      },
      pipeline: {
        // The context the replay's jobs name: a row in PostgreSQL, its secrets in vault-cci.
        contexts: REPLAY_CONTEXTS,
        preallocated: { machine: v.preallocatedMachine, remote_docker: v.preallocatedRemoteDocker },
        ...(this.opts.mutant ? { mutant: this.opts.mutant } : {}),
      },
    });
    this.pipeline = pipeline;
    const started = new Map<string, number>();
    const onChange = (row: LiveRow) => {
      if (row.state === 'starting' || row.state === 'migrating') started.set(row.name, Date.now());
      else if ((row.state === 'healthy' || row.state === 'exited') && started.has(row.name) && this.bootMs[row.name] === undefined) this.bootMs[row.name] = Date.now() - started.get(row.name)!;
      else if (row.state === 'failed') log?.(`  ${row.name} failed: ${row.reason ?? 'did not start'}`);
    };
    // nomad-metrics polls at the profile's statsd interval at the time scale (between 1 and 10 wall seconds), so a
    // gauge gap of a few minutes of scenario time shows in telegraf's series.
    const metricsPollMs = Math.min(METRICS_POLL_MS, Math.max(1_000, Math.round(profile.metrics.statsd_interval_ms / timeScale)));
    // tutum/logrotate says it rotated once an hour of the scenario's time.
    const logrotateLineMs = Math.max(1_000, Math.round(3_600_000 / timeScale));
    this.stack = new LiveStack({ profile, portOffset: this.opts.portOffset ?? REPLAY_PORT_OFFSET, backends, externals, services, migrate, systems: pipeline.systems, onChange, metricsPollMs, logrotateLineMs });
    log?.(`starting twin up's stack: ${profile.containers.length} containers (the pipeline's ${Object.keys(services).length} stages in worker threads), ${this.opts.nomad === 'real' ? 'Nomad (--nomad real)' : `Nomad API with ${nc.count} clients`}, GitHub Enterprise, ${scenario.topology.storage === 'fileserved' ? 'fileserved' : 'S3'}, EC2 …`);
    const t0 = Date.now();
    const failed = await this.stack.up();
    if (failed.length > 0) {
      const what = failed.map((f) => `${f.name} (${f.reason ?? 'failed'})`).join('; ');
      throw new ProviderError('START_FAILED', `${failed.length} containers did not start: ${what}`, 'a timeout here is a machine too loaded to start a process in time: run again when it is quieter; `twin up` boots the same stack and shows each row');
    }
    this.bootMs.stack = Date.now() - t0;
    const components = this.stack.components;
    const nomad = components.get('nomad_server');
    if (nomad === undefined) throw new Error('the live replay needs nomad_server: it did not start');
    this.nomad = nomad;
    if (nomad instanceof StartedNomadApiServer) {
      this.nomadTwin = nomad;
      this.nomadClients = nomad.state.nodeIds().length;
    } else {
      this.nomadClients = (await new NomadClient({ address: nomad.url }).nodes()).length;
      log?.(`  nomad_server: ${nomad.backendDetail}: the builds run on its ${this.nomadClients} client${this.nomadClients === 1 ? '' : 's'} (the scenario's ${nc.count} Nomad clients of ${nc.cpus} vCPU apply to the twin's Nomad API only)`);
    }
    this.ghe = component(components, 'github', StartedFakeGithub);
    this.mq = component(components, 'rabbitmq', StartedRabbitMQ);
    // The replay's own clients, for the accounting: as an operator's queries would be, apart from the stages'.
    const postgres = component(components, 'postgres', StartedPostgres);
    this.pool = new pg.Pool({ connectionString: postgres.urlFor(PIPELINE_DB), max: 4, connectionTimeoutMillis: 2_000 });
    this.pool.on('error', () => undefined);
    this.cleanup.unshift(() => this.pool.end());
    const giveUpMs = stageTimings(timeScale).mongoGiveUpMs;
    const mongoClient = component(components, 'mongo', StartedMongo).client({ serverSelectionTimeoutMS: giveUpMs, socketTimeoutMS: Math.max(1_000, giveUpMs) });
    this.cleanup.unshift(() => mongoClient.close());
    await connectEagerly(mongoClient, 15_000);
    this.documents = mongoDocumentStore(mongoClient.db(PIPELINE_DB));
    const store = components.get(scenario.topology.storage === 'fileserved' ? 'fileserved' : 's3');
    if (!(store instanceof StartedS3 || store instanceof StartedFileserved)) throw new Error(`the live stack has no ${scenario.topology.storage} the replay can read`);
    this.objects = store.store();
  }

  /**
   * The Nomad server's jobs by status (nomad-metrics' `circle.nomad.server_agent.jobs.*`): the twin's scheduler
   * counts them; a real agent is asked (`GET /v1/jobs`; undefined when it does not answer).
   */
  async nomadJobCounts(): Promise<{ pending: number; running: number; complete: number; dead: number } | undefined> {
    if (this.nomadTwin !== undefined) return this.nomadTwin.scheduler.counts();
    try {
      const jobs = await new NomadClient({ address: this.nomad.url, timeoutMs: 2_000 }).jobs();
      const count = (status: string) => jobs.filter((j) => j.Status === status).length;
      // A real Nomad has no `complete` job status: a finished batch job is dead.
      return { pending: count('pending'), running: count('running'), complete: 0, dead: count('dead') };
    } catch {
      return undefined;
    }
  }

  /** Audit events the services recorded and lost, over every worker they had. */
  auditCounts(): Promise<{ recorded: number; lost: number }> {
    return this.pipeline.auditCounts();
  }

  /** vm-service's counters over every worker it had: instances launched, terminated, preallocated used, waits. */
  async vmCounts(): Promise<{ launched: number; terminated: number; preallocatedUsed: number; meanWaitMs: number }> {
    const c = await this.pipeline.counters('vm-service');
    return { launched: c['launched'] ?? 0, terminated: c['terminated'] ?? 0, preallocatedUsed: c['preallocatedUsed'] ?? 0, meanWaitMs: Math.round((c['waitMsTotal'] ?? 0) / Math.max(1, c['waits'] ?? 0)) };
  }

  /** audit-log-service writes what it received (before the accounting reads object storage). */
  flushAuditLog(): Promise<void> {
    return this.pipeline.flushAuditLog();
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
  private readonly backendNames = new Set<string>(LIVE_GROUPS.process);

  /** Carries out one fault operation (an action, or the undo of one) on its target through the stack's fault port; resolves when it took effect. */
  async act(order: FaultOrder): Promise<string> {
    if (this.stack === undefined) throw new Error('the live stack is not up');
    const what = await this.stack.act(order);
    if (this.backendNames.has(order.target)) {
      if (order.action === 'kill' || order.action === 'stop') this.deadBackends.add(order.target);
      if (order.action === 'start' || order.action === 'restart') this.deadBackends.delete(order.target);
    }
    return what;
  }

  /**
   * Before the accounting: MongoDB left dead by a fault without `for:` is started again on its data dir, so that the
   * ledger can read what it acknowledged (an operator would do the same to count the builds).
   */
  async readyForAccounting(): Promise<void> {
    if (this.deadBackends.has('mongo')) await this.act({ action: 'start', target: 'mongo', count: 1 });
  }

  /** Stops everything that started, the replay's clients first; never throws. */
  async down(): Promise<void> {
    await this.closeMonitor();
    for (const stop of this.cleanup.splice(0)) await stop().catch(() => undefined);
    await this.stack?.down().catch(() => undefined);
    this.stack = undefined;
  }
}

/** A started component of the stack, of the class the replay reads it as. */
function component<T extends StartedComponent>(components: ReadonlyMap<string, StartedComponent>, name: string, type: abstract new (...args: never[]) => T): T {
  const c = components.get(name);
  if (!(c instanceof type)) throw new Error(`the live replay needs ${name} as the twin starts it${c ? `, not ${c.backendDetail}` : ': it did not start'}`);
  return c;
}
