import type { Profile } from '../../fixtures/schema.ts';
import type { StartedComponent } from '../providers/types.ts';
import type { BackendFactory, Migrator, ServiceFactory } from './stack.ts';
import { startNomadBackend } from '../nomad/backend.ts';
import { findRealNomad } from '../nomad/real-nomad.ts';
import type { NomadApiServer } from '../nomad/server.ts';
import { FakeGithub } from '../github/server.ts';
import { defaultSeedData } from '../github/state.ts';
import { PostgresProvider, RedisProvider, RabbitMQProvider, MongoProvider, LdapProvider, S3Provider, FileservedProvider, s3UrlFromEnv, type StartedPostgres, type BackendChoice } from '../providers/index.ts';
import { DATABASES, MIGRATIONS } from './migrations.ts';
import { PipelineServices, type PipelineServicesOptions } from './pipeline-services.ts';
import { stageTimings } from './stage-worker.ts';
import { clientName } from './fleet-faults.ts';
import { scaledClock } from '../ec2/clock.ts';
import type { GithubSeedData } from '../github/state.ts';
import { profileResourceClasses } from '../scenario/profile-classes.ts';
import { Ec2Api } from '../ec2/server.ts';

import type { Chosen } from './backend-choice.ts';

export interface LiveBackends {
  /** By container name: started in the container's place in the boot order. */
  backends: Record<string, BackendFactory>;
  /** Systems outside the Services machine (GitHub Enterprise, EC2, LDAP with `auth: ldap`), started first. */
  externals: Record<string, BackendFactory>;
  /** Runs a migrator container's SQL migrations against the stack's PostgreSQL. */
  migrate: Migrator;
  /** The pipeline's stages, run in process for their containers (frontend, picard-dispatcher, …). */
  services: Readonly<Record<string, ServiceFactory>>;
  /** The stages' side in this process: the build agents, the stages' counters, the faults on the fleet (`LiveStack`'s `systems`). */
  pipeline: PipelineServices;
}

/** A scenario's fleet, as the live replay runs it: its clients (named as EC2 names them), seeded, and its replacements' boot time. */
export interface LiveFleetSpec {
  count: number;
  cpus: number;
  memoryGb: number;
  bootTimeMs: number;
  /** The scenario's seed: the Nomad API's and the EC2 endpoint's. */
  seed: number;
}

/** The Nomad clients of a stack started without a scenario (`twin up`). */
export const DEFAULT_NOMAD_CLIENTS = 3;

export interface LiveBackendOptions {
  nomadClients?: number;
  /** Backend choice per component (`auto` by default: local binaries here, testcontainers with Docker, …). */
  choice?: Partial<Record<Chosen, BackendChoice>>;
  /** External URLs, for `external` choices (an existing PostgreSQL, …). */
  urls?: Partial<Record<Chosen, string>>;
  /** The scenario's `topology.auth`: with `ldap`, an LDAP server holds the users and federation-service binds to it. */
  auth?: 'github' | 'ldap';
  /** An EC2 endpoint to use instead of the twin's (LocalStack: http://127.0.0.1:4566). */
  awsEndpoint?: string;
  /** The scenario's `topology.storage`: S3 (default; outside the Services machine) or the fileserved container. */
  storage?: 's3' | 'fileserved';
  /** Scenario ms per wall ms of the build agents (a scenario's `time_scale`); default 1, builds take their own time. */
  timeScale?: number;
  /**
   * nomad_server: `real` runs the builds on a real Nomad (`NOMAD_ADDR`, else `nomad agent -dev` from a binary on
   * PATH; without either, the twin's API and the backend column says why); `twin` (default) the twin's Nomad API.
   */
  nomad?: 'real' | 'twin';
  /** The scenario's `topology.resourceClasses`; default the profile's (what the simulation and the replay use). */
  resourceClasses?: Readonly<Record<string, { readonly cpuMilli: number; readonly memoryMb: number }>>;
  /** The scenario's fleet (the live replay's); default `nomadClients` clients of 8 CPUs and 32 GB. */
  fleet?: LiveFleetSpec;
  /** vm-service's instances boot in this long of scenario time on the twin's EC2 endpoint (a clock at `timeScale`). */
  ec2BootMs?: number;
  /** GitHub Enterprise's organisations and repositories (default `defaultSeedData()`), and the project the stack follows. */
  github?: { seed: GithubSeedData; followedRepo: string };
  /** What the pipeline's stages take beyond the above: contexts, vm-service's pools, a live mutant, other followed projects. */
  pipeline?: Pick<PipelineServicesOptions, 'contexts' | 'preallocated' | 'mutant' | 'alsoFollowed'>;
}

/**
 * The backend options from the environment: TWIN_POSTGRES_URL, TWIN_REDIS_URL, TWIN_RABBITMQ_URL, TWIN_MONGO_URL,
 * TWIN_LDAP_URL, TWIN_FILESERVED_URL, AWS_ENDPOINT_URL; for S3, TWIN_S3_URL, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL.
 */
export function backendOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LiveBackendOptions {
  const urls: LiveBackendOptions['urls'] = {};
  for (const c of ['postgres', 'redis', 'rabbitmq', 'mongo', 'ldap', 'fileserved'] as const) {
    const v = env[`TWIN_${c.toUpperCase()}_URL`];
    if (v) urls[c] = v;
  }
  const s3 = s3UrlFromEnv(env);
  if (s3) urls.s3 = s3;
  return { urls, ...(env.AWS_ENDPOINT_URL ? { awsEndpoint: env.AWS_ENDPOINT_URL } : {}) };
}

/** An endpoint the stack uses but did not start (LocalStack, an existing service). */
function externalEndpoint(name: string, url: string): StartedComponent {
  const u = new URL(url);
  return {
    name,
    backend: 'external',
    backendDetail: `external endpoint ${url} (from the environment)`,
    url,
    host: u.hostname,
    port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80),
    pid: undefined,
    dataDir: undefined,
    stop: async () => undefined,
    [Symbol.asyncDispose]: async () => undefined,
  };
}

/**
 * A provider builder with the backend the options ask for: the chosen one, else `external` when a URL is given
 * (and the URL), else `auto`.
 */
export function configured<T extends { withBackend(c: BackendChoice): T; withUrl(u: string): T }>(builder: T, component: Chosen, opts: Pick<LiveBackendOptions, 'choice' | 'urls'>): T {
  const url = opts.urls?.[component];
  const b = builder.withBackend(opts.choice?.[component] ?? (url ? 'external' : 'auto'));
  return url ? b.withUrl(url) : b;
}

/**
 * The real components of the live stack: private PostgreSQL (with the services' databases), Redis and
 * RabbitMQ processes, MongoDB (a mongod, or the twin's embedded MongoDB server), the twin's Nomad API (on the simulation's
 * scheduler) for nomad_server, the fake GitHub Enterprise, object storage (S3, or fileserved), and with
 * `auth: 'ldap'` a private slapd holding the users (`ldap`), which federation-service's health check binds to;
 * and the pipeline's stages for their containers, on those components.
 */
export function liveBackends(profile: Profile, opts: LiveBackendOptions = {}): LiveBackends {
  const { fleet } = opts;
  const clients = fleet ? Array.from({ length: fleet.count }, (_, i) => ({ name: clientName(i), cpus: fleet.cpus, memoryGb: fleet.memoryGb })) : Array.from({ length: opts.nomadClients ?? DEFAULT_NOMAD_CLIENTS }, (_, i) => ({ name: `ip-10-0-0-${i + 1}`, cpus: 8, memoryGb: 32 }));
  const storage = opts.storage ?? 's3';
  const resourceClasses = opts.resourceClasses ?? Object.fromEntries(profileResourceClasses(profile).map((rc) => [`${rc.executor}:${rc.name}`, rc]));
  const timeScale = opts.timeScale ?? 1;
  const pipeline = new PipelineServices({
    timeScale,
    storage,
    resourceClasses,
    // A scenario's time scale sets the stages' timings; without one (`twin up` alone) they keep their wall-clock defaults.
    ...(opts.timeScale !== undefined ? { timings: stageTimings(opts.timeScale) } : {}),
    ...(opts.github ? { followedRepo: opts.github.followedRepo } : {}),
    ...(fleet ? { replacementClient: { cpus: fleet.cpus, memoryGb: fleet.memoryGb, bootTimeMs: fleet.bootTimeMs } } : {}),
    // dispatcher's stage runs where the profile has the container: new builds then enter the usage queue.
    usageQueue: profile.containers.some((c) => c.name === 'dispatcher'),
    ...opts.pipeline,
  });
  let postgres: Promise<StartedPostgres> | undefined;
  const backends: Record<string, BackendFactory> = {
    postgres: () => {
      postgres = configured(new PostgresProvider().withDatabases(DATABASES), 'postgres', opts).start();
      return postgres;
    },
    redis: () => configured(new RedisProvider(), 'redis', opts).start(),
    rabbitmq: () => configured(new RabbitMQProvider(), 'rabbitmq', opts).start(),
    mongo: () => configured(new MongoProvider(), 'mongo', opts).start(),
    // A real Nomad when NOMAD_ADDR or a `nomad` binary is given, else the twin's Nomad API, whose clients run the
    // pipeline's build agent.
    nomad_server: async () => {
      const twin = (b: NomadApiServer) => (fleet ? b.withSeed(fleet.seed) : b).withPort(0).withClients(clients).withTaskRunner(pipeline.runner);
      if (opts.nomad !== 'real') return (await startNomadBackend({ choice: 'embedded', twin })).started;
      const found = findRealNomad();
      if (found.kind === 'none') return (await startNomadBackend({ choice: 'embedded', twin: (b) => twin(b).withNote(`--nomad real: ${found.reason}`) })).started;
      return (await startNomadBackend({ choice: found.kind === 'address' ? 'external' : 'local' })).started;
    },
    // Outside AWS, the Services machine's own file store holds what S3 would.
    ...(storage === 'fileserved' ? { fileserved: () => configured(new FileservedProvider(), 'fileserved', opts).start() } : {}),
  };
  const staged = stagesAfterBackends(backends, pipeline.factories);
  return {
    backends: staged.backends,
    externals: {
      github: () => new FakeGithub().withPort(0).withSeedData(opts.github?.seed ?? defaultSeedData()).start() as Promise<StartedComponent>,
      // LocalStack (or real EC2) when AWS_ENDPOINT_URL is given, else the twin's EC2 and Auto Scaling endpoints (on the
      // scenario's time scale and seed, vm-service's instances booting in the profile's time, for the live replay).
      ec2: () => {
        if (opts.awsEndpoint) return Promise.resolve(externalEndpoint('ec2', opts.awsEndpoint));
        const api = new Ec2Api().withPort(0);
        const seeded = fleet ? api.withSeed(fleet.seed) : api;
        return (opts.ec2BootMs !== undefined ? seeded.withClock(scaledClock(timeScale)).withTimings({ bootMs: opts.ec2BootMs }) : seeded).start();
      },
      // The company directory: outside the Services machine, like GitHub Enterprise is with `auth: github`.
      ...(opts.auth === 'ldap' ? { ldap: () => configured(new LdapProvider(), 'ldap', opts).start() } : {}),
      // S3 is AWS's, outside the Services machine: an endpoint from the environment, LocalStack with Docker, else s3rver in process.
      ...(storage === 's3' ? { s3: () => configured(new S3Provider(), 's3', opts).start() } : {}),
    },
    migrate: async (name) => {
      const m = MIGRATIONS[name];
      if (m === undefined) return 'nothing to migrate (exit 0)';
      // vm-service-db-migrator lists no startup dependency in the table, yet migrates postgres: it waits for it.
      if (postgres === undefined) throw new Error('postgres is not part of this stack');
      const r = await (await postgres).runMigrations(m.database, m.migrations);
      return `${r.applied.length} migrations applied to ${m.database}${r.skipped.length ? `, ${r.skipped.length} already there` : ''} (exit 0)`;
    },
    services: staged.services,
    pipeline,
  };
}

/** How long the stages' workers wait for the stores' processes before loading their modules anyway (one may never start). */
const PREPARE_AFTER_BACKENDS_MS = 120_000;

/**
 * The stack's factories with the stages' workers made ready (loading their modules: seconds of CPU each, the AWS
 * SDK and the MongoDB driver) only once every store's process is up, instead of alongside them as `twin up` does.
 * `twin up` and the live replay both boot this way. On a loaded 2-core machine (load average 20-30) the nine workers loading at once starved this process's own
 * thread for 30 s at a time, and redis-server then missed its 15 s start limit in 3 boots of 3; with the workers
 * after the stores, the stores start as without stages. The stages still start when their needs are up.
 */
function stagesAfterBackends(backends: Readonly<Record<string, BackendFactory>>, services: Readonly<Record<string, ServiceFactory>>) {
  const pending = new Set(Object.keys(backends));
  let allUp!: () => void;
  const up = new Promise<void>((resolve) => (allUp = resolve));
  let timer: NodeJS.Timeout | undefined;
  // Unref'd: a stack whose stores never all came up does not keep the process alive for it.
  const bounded = Promise.race([up, new Promise<void>((resolve) => (timer = setTimeout(resolve, PREPARE_AFTER_BACKENDS_MS).unref()))]);
  let released = false;
  const settled = (name: string) => {
    pending.delete(name);
    if (pending.size === 0) allUp();
  };
  return {
    backends: Object.fromEntries(Object.entries(backends).map(([name, start]) => [name, () => start().finally(() => settled(name))])),
    services: Object.fromEntries(
      Object.entries(services).map(([name, f]) => [
        name,
        {
          ...f,
          // Never after the stack released what was prepared: a worker made ready then would outlive the stack.
          prepare: () => void bounded.then(() => (released ? undefined : f.prepare?.())),
          release: async () => {
            released = true;
            await f.release?.();
          },
        } satisfies ServiceFactory,
      ]),
    ),
    dispose: () => {
      released = true;
      clearTimeout(timer);
      allUp();
    },
  };
}


/** The endpoints `twin status --json` lists, from what was started. */
export function endpointsOf(started: ReadonlyMap<string, StartedComponent>): Record<string, string> {
  const out: Record<string, string> = {};
  const map: Record<string, string> = { nomad_server: 'nomad', github: 'github', postgres: 'postgres', redis: 'redis', rabbitmq: 'rabbitmq', mongo: 'mongo', ec2: 'ec2', autoscaling: 'autoscaling', ldap: 'ldap' };
  for (const [name, s] of started) {
    const key = map[name];
    if (key) out[key] = name === 'github' ? `${s.url.replace(/\/$/, '')}/api/v3` : s.url;
    if (name === 'ec2') out.autoscaling = `${s.url.replace(/\/$/, '')}/autoscaling`;
  }
  return out;
}
