import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartedNomadApiServer } from '../nomad/server.ts';
import { StartedPostgres, StartedRabbitMQ, StartedS3, type StartedComponent } from '../providers/index.ts';
import { StartedFakeGithub } from '../github/server.ts';
import { GithubClient } from '../github/client.ts';
// Not the pipeline's index: that loads every stage's module (each runs in its own thread), the YAML parser and zod.
import { BuildAgentRunner } from './pipeline/build-agent-runner.ts';
import { PIPELINE_DB, PIPELINE_MIGRATIONS, USAGE_QUEUE } from './pipeline/schema.ts';
import { contextSecretPath } from './pipeline/contexts.ts';
import { PreparedStage, sameProcessOptions, type StageHandle, type StageProcessOptions } from './stage-host.ts';
import { containerEnvironment, heapLimitBytes, REPL_PORTS } from '../../sim/training/container-env.ts';
import type { ObjectsConfig, StageConfig, StageCounters, StageTimings, WorkerStage } from './stage-worker.ts';
import type { ServiceContext, ServiceFactory, ServiceHandle, StackSystems } from './stack.ts';
import { TcpProxy } from './proxy/tcp-proxy.ts';
import { makeTempDir, removeDir } from '../providers/temp-dir.ts';
import { FleetFaults } from './fleet-faults.ts';
import { buildIdOfJob } from './pipeline/lost-allocations.ts';
import { TIMINGS } from '../../sim/models/timings.ts';
import type { LiveMutant } from './replay/mutants.ts';

/** The project `twin up` follows, so that pushes to it are built: the one picard-dispatcher builds in the operations guide's log. */
export const FOLLOWED_REPO = 'GERey/realitycheck';
/** Who followed it: the token CircleCI calls GitHub Enterprise with for the project. */
const FOLLOWER = 'GERey';
const BACKEND = 'twin pipeline stage (worker thread)';

export interface PipelineServicesOptions {
  /** Scenario ms per wall ms of the build agents: 1 for `twin up`, a scenario's `time_scale` with `--scenario`. */
  timeScale: number;
  /** Where objects go (`topology.storage`): the `s3` external system, or the `fileserved` container. */
  storage: 's3' | 'fileserved';
  /**
   * picard-dispatcher's resource classes (`executor:name` → size), settled once: a scenario's
   * `topology.resourceClasses`, or the profile's (`profileResourceClassMap`), as the simulation and the replay use.
   */
  resourceClasses: Readonly<Record<string, { readonly cpuMilli: number; readonly memoryMb: number }>>;
  /** The stages' timings at the time scale (`stageTimings`); absent, each stage's wall-clock defaults (`twin up` without a scenario). */
  timings?: StageTimings;
  /** The project the stack follows (frontend's push hook is added to it); default FOLLOWED_REPO. */
  followedRepo?: string;
  /** Other projects the stack follows the same way (a live DR rehearsal's projects, `harness/dr/live-kinds/project-settings.ts`). */
  alsoFollowed?: readonly string[];
  /** Contexts seeded for contexts-service (their rows) and vault-cci (their secrets): name → secrets. */
  contexts?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** vm-service's pools (the scenario's `vm_service.preallocated_*`); default none. */
  preallocated?: { machine: number; remote_docker: number };
  /** A Nomad client the Auto Scaling Group launches in place of a terminated one (the scenario's clients). */
  replacementClient?: { cpus: number; memoryGb: number; bootTimeMs: number };
  /** picard-dispatcher under a live mutant (`replay/mutants.ts`). */
  mutant?: LiveMutant;
  /**
   * The stack runs dispatcher (the profile has the container): frontend and workflows-conductor publish new builds to
   * `usage-queue`, which dispatcher's stage forwards to `run-queue`. Without it they publish to `run-queue` directly.
   */
  usageQueue?: boolean;
}

/**
 * The live pipeline's stages as `twin up`'s frontend, dispatcher, picard-dispatcher, schedulerer, output-processor,
 * workflows-conductor and audit-log-service, each in a worker thread of its own (`stage-worker.ts`) on the stack's
 * PostgreSQL, Redis, RabbitMQ, MongoDB, object storage, Nomad API and GitHub Enterprise: each opens its own pool and
 * clients from their URLs, as a container of its own would, so that each stops, hangs and dies alone.
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
  /** The frontend URLs GitHub Enterprise already has a push hook for. */
  private readonly hookedUrls = new Set<string>();
  /**
   * The private dir (owned, so the reaper removes it whatever ends the stack; `close` removes it at `down`) of the
   * file where a real Nomad's raw_exec build agents read output-processor's URL (they start outside this process).
   */
  private outputUrlDir: Promise<string> | undefined;
  /** Workers made ready before their stage starts (see `ServiceFactory.prepare`); each starts one stage once. */
  private readonly prepared = new Map<WorkerStage, PreparedStage>();

  /** As plain sizes (the settled classes carry their names too; only the sizes cross to the worker). */
  private readonly resourceClasses: Readonly<Record<string, { cpuMilli: number; memoryMb: number }>>;
  /** Each stage's running worker, and the last counters of the workers it had before (killed, stopped). */
  private readonly handles = new Map<WorkerStage, StageHandle>();
  private readonly retired = new Map<WorkerStage, StageCounters[]>();
  /**
   * The build agents' path to output-processor: the Services machine's network as the fleet sees it, which a
   * partition cuts. Opened when output-processor first listens.
   */
  private fleetLink: TcpProxy | undefined;
  private fleetFaults: FleetFaults | undefined;
  /** The components the stages were started on (the twin's Nomad API among them), for the fleet's faults. */
  private components: ServiceContext['components'] | undefined;
  /** Builds whose Nomad job a wipe of the server's state destroyed (they show Running, or queued, for ever). */
  readonly wipedBuilds = new Set<number>();

  constructor(private readonly opts: PipelineServicesOptions) {
    this.resourceClasses = Object.fromEntries(Object.entries(opts.resourceClasses).map(([k, v]) => [k, { cpuMilli: v.cpuMilli, memoryMb: v.memoryMb }]));
    this.runner = new BuildAgentRunner({ outputProcessorUrl: () => this.outputUrl(), vmServiceUrl: () => this.handles.get('vm-service')?.url, timeScale: opts.timeScale });
    const { storage } = opts;
    const stage = (name: WorkerStage, needs: readonly string[]): ServiceFactory => ({
      backend: BACKEND,
      needs,
      start: (ctx) => this.start(name, ctx),
      // A stage already started (vault-cci can start before the other stores are up) needs no worker made ready:
      // one would sit idle until a fault, loading its modules during the boot.
      prepare: () => void (this.handles.has(name) || this.prepared.set(name, this.prepared.get(name) ?? new PreparedStage(name, stageProcessOptions(name, {})))),
      release: async () => {
        this.released.add(name);
        await this.prepared.get(name)?.discard();
        this.prepared.delete(name);
        // The fleet's network to output-processor goes with it (the stack's `down` releases every stage).
        if (name === 'output-processor') await this.close();
      },
    });
    // Each lists what it connects to; frontend and output-processor reach MongoDB too (pushes, build records).
    this.factories = {
      frontend: stage('frontend', ['postgres', 'rabbitmq', 'mongo', 'github']),
      // The frontend image in dispatcher mode: the usage queue's consumer.
      dispatcher: stage('dispatcher', ['postgres', 'rabbitmq']),
      'output-processor': stage('output-processor', ['postgres', 'redis', 'rabbitmq', 'mongo', storage]),
      // picard-dispatcher reads the environment of jobs that use contexts from contexts-service.
      'picard-dispatcher': stage('picard-dispatcher', ['postgres', 'redis', 'rabbitmq', 'github', 'contexts-service']),
      schedulerer: stage('schedulerer', ['postgres', 'rabbitmq', 'nomad_server']),
      'workflows-conductor': stage('workflows-conductor', ['postgres', 'rabbitmq']),
      'audit-log-service': stage('audit-log-service', ['rabbitmq', storage]),
      'vault-cci': stage('vault-cci', []),
      'contexts-service': stage('contexts-service', ['postgres', 'vault-cci']),
      'vm-service': stage('vm-service', ['ec2']),
    };
  }

  /** output-processor's URL as the build agents reach it (through the fleet's network); until it listens, their calls fail as when it is down. */
  outputUrl(): string {
    if (this.outputProcessorUrl === undefined) throw new Error('output-processor has not started');
    return this.outputProcessorUrl;
  }

  /** frontend's base URL (its API and webhook endpoint), once it started. */
  get frontendUrl(): string {
    const h = this.handles.get('frontend');
    if (h === undefined) throw new Error('frontend has not started');
    return h.url;
  }

  /**
   * A stage's counters over every worker it had: the last ones of those that ended, plus the running one's now
   * (its last sent, when it does not answer).
   */
  async counters(stage: WorkerStage): Promise<Record<string, number>> {
    const current = this.handles.get(stage);
    const all = [...(this.retired.get(stage) ?? []), ...(current ? [await current.counters()] : [])];
    const sum: Record<string, number> = {};
    for (const c of all) for (const [k, v] of Object.entries(c)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  }

  /** Audit events the services recorded (RabbitMQ took them) and lost: frontend's, output-processor's and schedulerer's. */
  async auditCounts(): Promise<{ recorded: number; lost: number }> {
    const each = await Promise.all((['frontend', 'output-processor', 'schedulerer'] as const).map((s) => this.counters(s)));
    return { recorded: each.reduce((a, c) => a + (c['auditRecorded'] ?? 0), 0), lost: each.reduce((a, c) => a + (c['auditLost'] ?? 0), 0) };
  }

  /** audit-log-service writes the events it received; resolves when written (or when its worker does not answer). */
  async flushAuditLog(): Promise<void> {
    await this.handles.get('audit-log-service')?.flush();
  }

  /** Fault targets beyond the containers, for `LiveStack`'s `systems`: the Nomad clients and the fleet's network. */
  readonly systems: StackSystems = {
    fleet: () => this.fleet().fleet(),
    network: () => this.fleet().network(),
    nomadWiped: (jobs) => {
      for (const job of jobs) {
        const id = buildIdOfJob(job);
        if (id !== undefined) this.wipedBuilds.add(id);
      }
    },
  };

  private fleet(): FleetFaults {
    const nomad = this.components?.get('nomad_server');
    if (!(nomad instanceof StartedNomadApiServer)) throw new Error('the Nomad clients are faulted on the twin\'s Nomad API only (a real Nomad runs its own clients)');
    this.fleetFaults ??= new FleetFaults({ nomad, runner: this.runner, fleetLink: () => this.fleetLink, timeScale: this.opts.timeScale, replacement: this.opts.replacementClient ?? { cpus: 8, memoryGb: 32, bootTimeMs: 0 } });
    return this.fleetFaults;
  }

  /** Closes the fleet's network and cancels pending fleet events; the stack's `down` releases the stages. */
  async close(): Promise<void> {
    this.fleetFaults?.dispose();
    await this.fleetLink?.close();
    this.fleetLink = undefined;
    const dir = this.outputUrlDir;
    this.outputUrlDir = undefined;
    if (dir !== undefined) await removeDir(await dir);
  }

  private async start(stage: WorkerStage, ctx: ServiceContext): Promise<ServiceHandle> {
    this.components = ctx.components;
    // vault-cci and vm-service keep nothing in PostgreSQL.
    if (stage === 'vault-cci' || stage === 'vm-service') return this.startHandle(stage, ctx, this.ownConfig(stage, ctx));
    const postgres = need(ctx, 'postgres', StartedPostgres);
    // The first stage to start applies the migrations; the others wait for that same run (or fail with it).
    this.migrated ??= postgres.runMigrations(PIPELINE_DB, PIPELINE_MIGRATIONS);
    await this.migrated;
    const outputUrlFile = join(await (this.outputUrlDir ??= makeTempDir('output-processor-url')), 'url');
    const handle = await this.startHandle(stage, ctx, {
      postgresUrl: postgres.urlFor(PIPELINE_DB),
      ...(stage === 'contexts-service' ? this.ownConfig(stage, ctx) : { amqpUrl: need(ctx, 'rabbitmq', StartedRabbitMQ).url }),
      ...optional(ctx, 'redis', (r) => ({ redisUrl: r.url })),
      ...optional(ctx, 'mongo', (m) => ({ mongoUrl: m.url })),
      // A real Nomad runs the build agent as a raw_exec task (the twin's API runs it in process: `runner`).
      ...optional(ctx, 'nomad_server', (n) => ({
        nomadAddress: n.url,
        ...(n instanceof StartedNomadApiServer ? {} : { buildAgent: { outputProcessorUrlFile: outputUrlFile, timeScale: this.opts.timeScale } }),
      })),
      ...optional(ctx, 'github', (g) => (g instanceof StartedFakeGithub ? { github: { apiUrl: g.apiUrl, token: g.tokenFor(FOLLOWER) } } : {})),
      ...this.objects(ctx),
      ...(stage === 'frontend' ? { hookSecret: this.hookSecret } : {}),
      ...((stage === 'frontend' || stage === 'workflows-conductor') && this.opts.usageQueue ? { entryQueue: USAGE_QUEUE } : {}),
      // notifier (run by output-processor's stage) mails through exim and pushes to slanger where the stack runs them.
      ...(stage === 'output-processor' ? { notify: { ...defined('eximPort', ctx.portOf?.('exim')), ...defined('slangerPort', ctx.portOf?.('slanger')) } } : {}),
      ...(stage === 'picard-dispatcher' ? { resourceClasses: this.resourceClasses, ...this.dispatcherConfig() } : {}),
    });
    if (stage === 'output-processor') {
      // The build agents reach output-processor through the fleet's network (a TCP proxy), wherever it listens.
      const target = { host: '127.0.0.1', port: handle.port };
      if (this.fleetLink === undefined) this.fleetLink = await TcpProxy.start({ name: 'output-processor', target });
      else this.fleetLink.retarget(target);
      this.outputProcessorUrl = `http://${this.fleetLink.host}:${this.fleetLink.port}`;
      writeFileSync(outputUrlFile, this.outputProcessorUrl);
    }
    // Following the project once: a frontend started again on the same URL (a restart, a restored Services machine)
    // keeps the hook GitHub Enterprise already has; a second one would deliver every push twice.
    if (stage === 'frontend' && handle.hookUrl && !this.hookedUrls.has(handle.hookUrl)) {
      this.hookedUrls.add(handle.hookUrl);
      // Following the project: CircleCI adds a push hook pointing at frontend, on whatever port it got.
      const ghe = need(ctx, 'github', StartedFakeGithub);
      const client = new GithubClient({ apiUrl: ghe.apiUrl, token: ghe.tokenFor(FOLLOWER) });
      for (const followed of [this.opts.followedRepo ?? FOLLOWED_REPO, ...(this.opts.alsoFollowed ?? [])]) {
        const [owner, repo] = followed.split('/') as [string, string];
        await client.createHook(owner, repo, { url: handle.hookUrl, secret: this.hookSecret }).catch(async (err: unknown) => {
          this.hookedUrls.delete(handle.hookUrl!);
          await handle.stop();
          throw err;
        });
      }
    }
    return handle;
  }

  /** Starts a stage's worker with `config`; the stage's earlier worker (killed, stopped) is retired with its last counters. */
  private async startHandle(stage: WorkerStage, ctx: ServiceContext, config: Omit<StageConfig, 'stage' | 'port' | 'healthPath'>): Promise<StageHandle> {
    // The container's process: its environment and, for a JVM service or one given JVM_HEAP_SIZE, its heap limit
    // (a prepared worker made for other options is not it: it is discarded).
    const options = stageProcessOptions(stage, ctx.env);
    const ready = this.prepared.get(stage);
    this.prepared.delete(stage);
    if (ready !== undefined && !sameProcessOptions(ready.options, options)) await ready.discard();
    const worker = ready !== undefined && sameProcessOptions(ready.options, options) ? ready : new PreparedStage(stage, options);
    const timings = this.opts.timings ? { timings: this.opts.timings } : {};
    const handle = await worker.start({ stage, port: ctx.port, healthPath: ctx.healthPath, ...timings, ...config }, ctx.log);
    const before = this.handles.get(stage);
    if (before !== undefined) this.retired.set(stage, [...(this.retired.get(stage) ?? []), before.lastCounters]);
    this.handles.set(stage, handle);
    // Once it is killed or stopped, the next worker loads its modules at once, as a container's image is on the
    // machine already: a start after a fault then takes what the stage's own start takes. Loading them on the start
    // itself took 12 s of a loaded machine's wall time, 50 minutes of scenario time at 240x.
    const standby = () => {
      if (!this.released.has(stage) && !this.prepared.has(stage)) this.prepared.set(stage, new PreparedStage(stage, options));
    };
    return {
      ...handle,
      get lastCounters() {
        return handle.lastCounters;
      },
      kill: () => {
        handle.kill();
        standby();
      },
      stop: async () => {
        await handle.stop();
        standby();
      },
    };
  }

  /** Stages whose factory was released (the stack is down): no standby worker is made ready for them. */
  private readonly released = new Set<WorkerStage>();

  /** The config of the stages that are not queue consumers: vault-cci's secrets, contexts-service's contexts, vm-service's pools. */
  private ownConfig(stage: 'vault-cci' | 'contexts-service' | 'vm-service', ctx: ServiceContext): Omit<StageConfig, 'stage' | 'port' | 'healthPath'> {
    const contexts = Object.entries(this.opts.contexts ?? {});
    if (stage === 'vault-cci') return { secrets: Object.fromEntries(contexts.map(([name, secrets]) => [contextSecretPath(name), secrets])) };
    if (stage === 'contexts-service') {
      const vault = this.handles.get('vault-cci');
      if (vault === undefined) throw new Error('contexts-service needs vault-cci, which has not started');
      return { vaultUrl: vault.url, contexts: Object.fromEntries(contexts.map(([name]) => [name, contextSecretPath(name)])) };
    }
    const ec2 = need(ctx, 'ec2');
    return {
      vm: {
        ec2Url: ec2.url,
        preallocated: this.opts.preallocated ?? { machine: 0, remote_docker: 0 },
        timeScale: this.opts.timeScale,
        scaleIntervalMs: TIMINGS.vmScalerIntervalMs,
        assignMs: TIMINGS.preallocatedAssignMs,
        restarted: this.handles.has('vm-service'),
      },
    };
  }

  /** picard-dispatcher's contexts-service (when it started) and mutant. */
  private dispatcherConfig(): Pick<StageConfig, 'contextsUrl' | 'mutant'> {
    const contexts = this.handles.get('contexts-service');
    return { ...(contexts ? { contextsUrl: contexts.url } : {}), ...(this.opts.mutant ? { mutant: { mutant: this.opts.mutant, timeScale: this.opts.timeScale } } : {}) };
  }

  /** Where objects go, as the stage's config: S3 (the SDK's settings for the endpoint) or fileserved. */
  private objects(ctx: ServiceContext): { objects?: ObjectsConfig } {
    if (this.opts.storage === 's3') return optional(ctx, 's3', (s) => (s instanceof StartedS3 ? { objects: { kind: 's3' as const, client: s.clientConfig(), bucket: s.bucket } } : {}));
    return optional(ctx, 'fileserved', (f) => ({ objects: { kind: 'fileserved' as const, url: f.url } }));
  }
}

/** `{ [key]: value }` when the value is defined, else nothing. */
function defined<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

/** A started component the stage connects to, of the class the stage takes (any, without one). */
function need<T extends StartedComponent>(ctx: ServiceContext, name: string, type?: abstract new (...args: never[]) => T): T {
  const c = ctx.components.get(name);
  if (c === undefined) throw new Error(`${ctx.name} needs ${name}, which this stack did not start`);
  if (type !== undefined && !(c instanceof type)) throw new Error(`${ctx.name} needs ${name} as the twin starts it, not ${c.backendDetail}`);
  return c as T;
}

/** Config from a component when the stack started it (a stage that does not use it gets nothing). */
function optional<R extends object>(ctx: ServiceContext, name: string, f: (c: StartedComponent) => R): R | Record<string, never> {
  const c = ctx.components.get(name);
  return c === undefined ? {} : f(c);
}

/**
 * How a stage's worker is created from its container's customizations (`ServiceContext.env`): the container's
 * environment (`containerEnvironment`, as `docker exec C env` shows it in the simulation) and, for the JVM services
 * (those with a REPL) or a stage given `JVM_HEAP_SIZE`, the heap limit it sets (`heapLimitBytes`).
 */
export function stageProcessOptions(stage: WorkerStage, customizations: Readonly<Record<string, string>>): StageProcessOptions {
  const env = containerEnvironment(stage, customizations);
  const jvm = REPL_PORTS[stage] !== undefined || 'JVM_HEAP_SIZE' in customizations;
  return { env, ...(jvm ? { heapLimitBytes: heapLimitBytes(customizations) } : {}) };
}
