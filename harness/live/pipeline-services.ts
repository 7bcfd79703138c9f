import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StartedNomadApiServer } from '../nomad/server.ts';
import { StartedPostgres, StartedRabbitMQ, StartedS3, type StartedComponent } from '../providers/index.ts';
import { StartedFakeGithub } from '../github/server.ts';
import { GithubClient } from '../github/client.ts';
import { BuildAgentRunner, PIPELINE_DB, PIPELINE_MIGRATIONS } from './pipeline/index.ts';
import { PreparedStage } from './stage-host.ts';
import type { ObjectsConfig, WorkerStage } from './stage-worker.ts';
import type { ServiceContext, ServiceFactory, ServiceHandle } from './stack.ts';

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
}

/**
 * The live pipeline's stages as `twin up`'s frontend, picard-dispatcher, schedulerer, output-processor,
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
  /** Where a real Nomad's raw_exec build agents read output-processor's URL (they start outside this process). */
  private readonly outputUrlFile = join(tmpdir(), `twin-output-processor-${process.pid}-${randomBytes(4).toString('hex')}.url`);
  /** Workers made ready before their stage starts (see `ServiceFactory.prepare`); each starts one stage once. */
  private readonly prepared = new Map<WorkerStage, PreparedStage>();

  /** As plain sizes (the settled classes carry their names too; only the sizes cross to the worker). */
  private readonly resourceClasses: Readonly<Record<string, { cpuMilli: number; memoryMb: number }>>;

  constructor(private readonly opts: PipelineServicesOptions) {
    this.resourceClasses = Object.fromEntries(Object.entries(opts.resourceClasses).map(([k, v]) => [k, { cpuMilli: v.cpuMilli, memoryMb: v.memoryMb }]));
    this.runner = new BuildAgentRunner({ outputProcessorUrl: () => this.outputUrl(), timeScale: opts.timeScale });
    const { storage } = opts;
    const stage = (name: WorkerStage, needs: readonly string[]): ServiceFactory => ({
      backend: BACKEND,
      needs,
      start: (ctx) => this.start(name, ctx),
      prepare: () => void this.prepared.set(name, this.prepared.get(name) ?? new PreparedStage(name)),
      release: async () => {
        await this.prepared.get(name)?.discard();
        this.prepared.delete(name);
      },
    });
    // Each lists what it connects to; frontend and output-processor reach MongoDB too (pushes, build records).
    this.factories = {
      frontend: stage('frontend', ['postgres', 'rabbitmq', 'mongo', 'github']),
      'output-processor': stage('output-processor', ['postgres', 'redis', 'rabbitmq', 'mongo', storage]),
      'picard-dispatcher': stage('picard-dispatcher', ['postgres', 'redis', 'rabbitmq', 'github']),
      schedulerer: stage('schedulerer', ['postgres', 'rabbitmq', 'nomad_server']),
      'workflows-conductor': stage('workflows-conductor', ['postgres', 'rabbitmq']),
      'audit-log-service': stage('audit-log-service', ['rabbitmq', storage]),
    };
  }

  /** output-processor's URL; until it listens, the build agents' calls fail (and are counted) as when it is down. */
  private outputUrl(): string {
    if (this.outputProcessorUrl === undefined) throw new Error('output-processor has not started');
    return this.outputProcessorUrl;
  }

  private async start(stage: WorkerStage, ctx: ServiceContext): Promise<ServiceHandle> {
    const postgres = need(ctx, 'postgres', StartedPostgres);
    // The first stage to start applies the migrations; the others wait for that same run (or fail with it).
    this.migrated ??= postgres.runMigrations(PIPELINE_DB, PIPELINE_MIGRATIONS);
    await this.migrated;
    const worker = this.prepared.get(stage) ?? new PreparedStage(stage);
    this.prepared.delete(stage);
    const handle = await worker.start({
      stage,
      port: ctx.port,
      healthPath: ctx.healthPath,
      postgresUrl: postgres.urlFor(PIPELINE_DB),
      amqpUrl: need(ctx, 'rabbitmq', StartedRabbitMQ).url,
      ...optional(ctx, 'redis', (r) => ({ redisUrl: r.url })),
      ...optional(ctx, 'mongo', (m) => ({ mongoUrl: m.url })),
      // A real Nomad runs the build agent as a raw_exec task (the twin's API runs it in process: `runner`).
      ...optional(ctx, 'nomad_server', (n) => ({
        nomadAddress: n.url,
        ...(n instanceof StartedNomadApiServer ? {} : { buildAgent: { outputProcessorUrlFile: this.outputUrlFile, timeScale: this.opts.timeScale } }),
      })),
      ...optional(ctx, 'github', (g) => (g instanceof StartedFakeGithub ? { github: { apiUrl: g.apiUrl, token: g.tokenFor(FOLLOWER) } } : {})),
      ...this.objects(ctx),
      ...(stage === 'frontend' ? { hookSecret: this.hookSecret } : {}),
      ...(stage === 'picard-dispatcher' ? { resourceClasses: this.resourceClasses } : {}),
    });
    if (stage === 'output-processor') {
      this.outputProcessorUrl = handle.url;
      writeFileSync(this.outputUrlFile, handle.url);
    }
    // Following the project once: a frontend started again on the same URL (a restart, a restored Services machine)
    // keeps the hook GitHub Enterprise already has; a second one would deliver every push twice.
    if (stage === 'frontend' && handle.hookUrl && !this.hookedUrls.has(handle.hookUrl)) {
      this.hookedUrls.add(handle.hookUrl);
      // Following the project: CircleCI adds a push hook pointing at frontend, on whatever port it got.
      const [owner, repo] = FOLLOWED_REPO.split('/') as [string, string];
      const ghe = need(ctx, 'github', StartedFakeGithub);
      await new GithubClient({ apiUrl: ghe.apiUrl, token: ghe.tokenFor(FOLLOWER) }).createHook(owner, repo, { url: handle.hookUrl, secret: this.hookSecret }).catch(async (err: unknown) => {
        this.hookedUrls.delete(handle.hookUrl!);
        await handle.stop();
        throw err;
      });
    }
    return handle;
  }

  /** Where objects go, as the stage's config: S3 (the SDK's settings for the endpoint) or fileserved. */
  private objects(ctx: ServiceContext): { objects?: ObjectsConfig } {
    if (this.opts.storage === 's3') return optional(ctx, 's3', (s) => (s instanceof StartedS3 ? { objects: { kind: 's3' as const, client: s.clientConfig(), bucket: s.bucket } } : {}));
    return optional(ctx, 'fileserved', (f) => ({ objects: { kind: 'fileserved' as const, url: f.url } }));
  }
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
