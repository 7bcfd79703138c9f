import http from 'node:http';
import type { Profile, Container } from '../../fixtures/schema.ts';
import { documentedPort, STATSD_PORT } from './documented-port.ts';
import { planStartup } from '../../sim/models/services/startup.ts';
import { freePort } from '../providers/ports.ts';
import type { StartedComponent } from '../providers/types.ts';
import { StartedLdap } from '../providers/ldap/started-ldap.ts';
import { signalPid } from '../providers/stop-process.ts';
import { LiveFaultAdapter, nomadApiTarget, type LiveFaultSurface, type LiveFleet, type LiveNetwork } from './fault-adapter.ts';
import type { FaultOrder } from '../../sim/faults/port.ts';
import { StartedNomadApiServer } from '../nomad/server.ts';
import { StartedRealNomadAgent } from '../nomad/real-nomad.ts';
import { realAgentFleet } from '../nomad/real-fleet.ts';
import { HealthServiceHost, type HealthService } from './health-host.ts';
import { ServiceLogs, type LogClock, type LogsOptions } from './service-logs.ts';
import type { LogSink } from './service-logs-writer.ts';
import { parseCannotReach, parseUndelivered } from '../../sim/symptoms/log-lines.ts';

// The table lives apart so that `twin status`, `twin down` and `twin up -d`'s parent load none of the stack.
export { renderStackTable, STACK_TABLE_COLUMNS } from './stack-table.ts';

/** What a stack row is: a real component (backend), one of the twin's API servers, a twin service, a migrator. */
export type LiveKind = 'backend' | 'api' | 'service' | 'migrator';

/** A service's state as the progress display and `twin status` show it. */
export type LiveState = 'pending' | 'starting' | 'migrating' | 'healthy' | 'unhealthy' | 'exited' | 'failed' | 'killed' | 'paused';

export interface LiveRow {
  name: string;
  kind: LiveKind;
  backend: string;
  /** Where a real component or external system runs (`local`, `embedded`, `testcontainers`, `external`): the table's short BACKEND. */
  via?: string;
  /** `127.0.0.1:<port>-><documented>/tcp`, as docker ps shows mappings. */
  ports: string[];
  state: LiveState;
  pid: number | undefined;
  healthUrl: string | undefined;
  reason?: string;
  /** While unhealthy: what its health endpoint last answered (`500: failing postgres, frontend`, `no answer in 2000 ms`). */
  health?: string;
}

/** Starts a real component for a container (postgres, redis, rabbitmq, mongo, nomad_server, …). */
export type BackendFactory = () => Promise<StartedComponent>;

/** Runs a migrator's migrations; resolves with what it did (the row's reason), rejects if it failed. */
export type Migrator = (name: string) => Promise<string>;

/** What a service the stack starts itself (a pipeline stage) is started with. */
export interface ServiceContext {
  /** The container's name. */
  name: string;
  /** The real components and external systems by name (`postgres`, `rabbitmq`, `github`, …): those started later appear in it too. */
  components: ReadonlyMap<string, StartedComponent>;
  /** Where to listen: the documented port (offset), or 0 (a free one) when it has none or that one is taken. */
  port: number;
  /** The documented health path (`/health` when the profile documents none). */
  healthPath: string;
  /** Where the service's own log lines go (`LiveStack.logs`). */
  log?: LogSink;
  /** Where another container of the stack listens (its port now, else its documented one at the offset); undefined when it has none or is no container. */
  portOf?: (name: string) => number | undefined;
  /**
   * The customizations the container is created with (Replicated's at the last app start: `LiveStack.createWith`;
   * none before): its process runs with them in its environment, and nothing else of the host's.
   */
  env: Readonly<Record<string, string>>;
}

/** A service that started (a pipeline stage in its worker): where it answers, and its graceful and abrupt ends. */
export interface ServiceHandle {
  readonly port: number;
  readonly healthUrl: string;
  /** Graceful, and releases everything it opened; also after `kill()`. */
  stop(): Promise<void>;
  /** Abrupt: its sockets destroyed at once, nothing acknowledged; its health URL stops answering. */
  kill(): void;
  /** Hung: its sockets stay open and nothing answers, until `unpause` (a service in a worker of its own). */
  pause?(): void;
  unpause?(): void;
  /** Its process's own environment and heap limit (`docker exec C env`), where it can say; undefined when it does not answer. */
  environment?(): Promise<{ readonly env: Readonly<Record<string, string>>; readonly maxMemoryBytes: number } | undefined>;
}

/** Starts a container as a service of the twin's own (a pipeline stage) instead of a health-only worker thread. */
export interface ServiceFactory {
  /** The BACKEND column. */
  backend: string;
  /**
   * The components it connects to beyond its startup dependencies: it starts after them, and fails when one did
   * not start (picard-dispatcher lists no startup dependency, yet cannot be built without RabbitMQ).
   */
  needs: readonly string[];
  /** Starts it; rejects with the listen error (`code` `EADDRINUSE`) when the port is taken, having closed what it opened. */
  start(ctx: ServiceContext): Promise<ServiceHandle>;
  /** Gets ready to start (loads what it runs) while the stack boots the rest; `release` undoes what was not used. */
  prepare?(): void;
  release?(): Promise<void>;
}

export interface StackOptions {
  profile: Profile;
  /** Documented ports are published at `offset + port` (documented 80 → 20080): no clash with the machine's own. */
  portOffset: number;
  backends: Readonly<Record<string, BackendFactory>>;
  /** Systems outside the Services machine (GitHub Enterprise, EC2), started before the containers. */
  externals?: Readonly<Record<string, BackendFactory>>;
  onChange?: (row: LiveRow) => void;
  migrate?: Migrator;
  /** Containers run as services of their own (the pipeline's stages), by name; the other containers without a backend are health-only worker threads. */
  services?: Readonly<Record<string, ServiceFactory>>;
  /** Fault targets beyond the containers (the Nomad clients, the Services machine's network): `PipelineServices.systems`. */
  systems?: StackSystems;
  /**
   * Wall ms between two polls of nomad-metrics (default `METRICS_POLL_MS`); telegraf writes its series every three
   * (`gaugeFlushes`). A run at a time scale passes its statsd interval at that scale.
   */
  metricsPollMs?: number;
  /** Wall ms between two of tutum/logrotate's lines (default `LOGROTATE_LINE_MS`): an hour of the installation's time at its scale. */
  logrotateLineMs?: number;
}

/** tutum/logrotate says it rotated once an hour (the simulation's line), unless the stack is told otherwise. */
export const LOGROTATE_LINE_MS = 3_600_000;

/** nomad-metrics polls the Nomad server this often (wall ms) unless the stack is told otherwise. */
export const METRICS_POLL_MS = 10_000;
/** telegraf writes its series once per this many polls of nomad-metrics. */
export const GAUGE_FLUSH_POLLS = 3;
/** The flushes of telegraf's series kept (the oldest go first): two days of flushes every 3 s. */
export const MAX_GAUGE_FLUSHES = 50_000;

/** Fault targets beyond the containers, and what the stack tells about a wipe of the twin's Nomad server. */
export interface StackSystems {
  fleet(): LiveFleet;
  network(): LiveNetwork;
  /** The Nomad jobs a wipe of the twin's Nomad server forgot (their builds show Running, or queued, for ever). */
  nomadWiped(lostJobs: readonly string[]): void;
}

/**
 * The live stack: every container of the version profile as a separately killable service, started in the
 * order of the table's startup dependencies. Real components come from their providers, services (the pipeline's
 * stages, each in a worker thread of its own) from their factories; every other container is a health-only twin
 * service in its own worker thread. Each listens on its documented port (offset) and answers its documented health
 * endpoint with 200, or 500 naming the dependencies that do not answer.
 */
export class LiveStack {
  readonly rows = new Map<string, LiveRow>();
  private readonly started = new Map<string, StartedComponent>();
  /** The health-only services, each in the one thread they share. */
  private readonly workers = new Map<string, HealthService>();
  /** What each service wrote (`logs`, `follow`): the stages and the health-only services write their own lines. */
  private readonly serviceLogs = new ServiceLogs({ keep: (text) => parseCannotReach(text) !== undefined || parseUndelivered(text) !== undefined });
  /** What telegraf wrote at each flush of its series (wall instants): where a killed telegraf or nomad-metrics leaves its gap. */
  private readonly flushes: { atEpochMs: number; names: readonly string[] }[] = [];
  private readonly health = new HealthServiceHost(
    (name, text, atMs) => this.serviceLogs.write(name, text, atMs),
    (atEpochMs, names, values) => {
      this.flushes.push({ atEpochMs, names });
      if (this.flushes.length > MAX_GAUGE_FLUSHES) this.flushes.shift();
      for (const output of [...this.gaugeOutputs]) output(atEpochMs, values);
    },
  );
  /** telegraf's outputs (`onGaugeFlush`): each gets every flush's gauge values. */
  private readonly gaugeOutputs = new Set<(atEpochMs: number, values: Readonly<Record<string, number>>) => void>();
  private readonly services = new Map<string, ServiceHandle>();
  private readonly ports = new Map<string, number>();
  private readonly starting = new Map<string, Promise<void>>();
  /** Whether `up` has finished (ready-agent has its list). */
  private booted = false;
  /** The customizations each container is created with from now on (`createWith`); a restart keeps them. */
  private readonly creation = new Map<string, Readonly<Record<string, string>>>();

  /**
   * Replicated creating the containers at an app start: each service started from now on (that start, and later
   * `docker restart`s, which keep the container) runs with `envs`' customizations, by container name.
   */
  createWith(envs: ReadonlyMap<string, Readonly<Record<string, string>>>): void {
    this.creation.clear();
    for (const [name, env] of envs) this.creation.set(name, env);
  }

  /** A service's process environment as it reports it (`ServiceHandle.environment`); undefined when it cannot say. */
  async processEnvironment(name: string): Promise<{ readonly env: Readonly<Record<string, string>>; readonly maxMemoryBytes: number } | undefined> {
    return this.services.get(name)?.environment?.();
  }

  /** The profile the stack runs (its containers and their startup dependencies). */
  get profile(): StackOptions['profile'] {
    return this.opts.profile;
  }

  constructor(private readonly opts: StackOptions) {
    if (opts.metricsPollMs !== undefined && !(Number.isFinite(opts.metricsPollMs) && opts.metricsPollMs >= 100)) throw new Error(`LiveStack: metricsPollMs must be at least 100 wall ms, not ${opts.metricsPollMs}`);
    for (const name of Object.keys(opts.externals ?? {})) {
      this.rows.set(name, { name, kind: 'api', backend: 'pending', ports: [], state: 'pending', pid: undefined, healthUrl: undefined });
    }
    for (const c of opts.profile.containers) {
      const kind: LiveKind = opts.backends[c.name] ? 'backend' : c.migrator ? 'migrator' : 'service';
      const backend = kind === 'service' ? (opts.services?.[c.name]?.backend ?? 'twin service (worker thread)') : kind === 'migrator' ? 'twin migrator (one-shot)' : 'pending';
      this.rows.set(c.name, { name: c.name, kind, backend, ports: [], state: 'pending', pid: undefined, healthUrl: undefined });
    }
  }

  /**
   * Boots every container once its startup dependencies are up; a container whose startup dependency failed does not
   * start. Returns the failed rows.
   */
  async up(): Promise<LiveRow[]> {
    // The external systems start alongside the containers, not before them: only the containers that reach them
    // (the in-process services, and federation-service's LDAP bind) wait for them. The stores' processes, the
    // slowest part of a boot, start first: the externals and the stages' workers get this thread (and grow the
    // process every later spawn copies) only from the next turn of the event loop, after the stores' first steps.
    let startExternals = () => {};
    const externals = new Promise<void>((resolve) => (startExternals = resolve)).then(() =>
      Promise.all(
        Object.entries(this.opts.externals ?? {}).map(async ([name, factory]) => {
          this.set(name, { state: 'starting' });
          try {
            const s = await factory();
            this.started.set(name, s);
            this.set(name, { backend: s.backendDetail, via: s.backend, ports: [`${s.host}:${s.port}`], pid: s.pid, state: 'healthy' });
          } catch (e) {
            this.set(name, { state: 'failed', reason: (e as Error).message.split('\n')[0] });
          }
        }),
      ),
    );
    // Each container starts as soon as its own startup dependencies are up (the table's order; no wave waits for
    // its slowest member): mongo after mongodb-upgrader, not after PostgreSQL.
    const profile = this.withServiceNeeds(this.opts.profile);
    const plan = planStartup(profile, new Set());
    const byName = new Map(profile.containers.map((c) => [c.name, c] as const));
    const original = new Map(this.opts.profile.containers.map((c) => [c.name, c] as const));
    for (const name of plan.waves.flat()) {
      const deps = byName.get(name)!.startup_dependencies.filter((d) => this.starting.has(d));
      const reachesExternals = this.opts.services?.[name] !== undefined || name === 'federation-service';
      this.starting.set(name, Promise.all([...deps.map((d) => this.starting.get(d)), ...(reachesExternals ? [externals] : [])]).then(() => this.startOne(original.get(name)!)));
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const f of Object.values(this.opts.services ?? {})) f.prepare?.();
    startExternals();
    await Promise.all([externals, ...this.starting.values()]);
    // ready-agent answers 200 only once every service with a health endpoint does ("server-ready-agent waits
    // to receive a 200 from all listed services, reporting a 5XX until all services come online").
    this.booted = true;
    this.workers.get('ready-agent')?.postMessage({ type: 'dependencies', dependencies: this.readyAgentList() });
    return [...this.rows.values()].filter((r) => r.state === 'failed');
  }

  /** What ready-agent waits for: every service with a health endpoint but itself. */
  private readyAgentList(): { name: string; healthUrl: string }[] {
    return [...this.rows.values()].flatMap((r) => (r.healthUrl !== undefined && r.name !== 'ready-agent' ? [{ name: r.name, healthUrl: r.healthUrl }] : []));
  }

  /** What a health-only service probes: its startup dependencies (not the migrators) where they answer now. */
  private dependenciesOf(c: Container): ({ name: string; healthUrl: string } | { name: string; port: number | undefined })[] {
    return c.startup_dependencies
      .filter((d) => this.rows.get(d)?.kind !== 'migrator')
      .map((d) => {
        const row = this.rows.get(d);
        return row?.healthUrl ? { name: d, healthUrl: row.healthUrl } : { name: d, port: this.ports.get(d) };
      });
  }

  /** Where the services that need it reach a container: its health URL, else its port. */
  private addressOf(name: string): string | undefined {
    const url = this.rows.get(name)?.healthUrl;
    const port = this.ports.get(name);
    return url ?? (port === undefined ? undefined : String(port));
  }

  /**
   * A container started again on another port (its documented one still held: `EADDRINUSE`, then any free port):
   * the health-only services that probe it, and ready-agent, are told its new address, or they would report it
   * failing for ever (seen in a DR rehearsal: api-service 500 naming frontend, contexts-service and vault-cci).
   */
  private readdressed(name: string, before: string | undefined): void {
    if (before === undefined || this.addressOf(name) === before) return;
    for (const c of this.opts.profile.containers) {
      if (c.name === name || !c.startup_dependencies.includes(name)) continue;
      this.workers.get(c.name)?.postMessage({ type: 'dependencies', dependencies: this.dependenciesOf(c) });
    }
    // Before the boot ends ready-agent has no list yet: `up` gives it the whole one.
    if (this.booted) this.workers.get('ready-agent')?.postMessage({ type: 'dependencies', dependencies: this.readyAgentList() });
  }

  /**
   * The profile with each in-process service's needs among the containers added to its startup dependencies, for
   * the boot order only: a service waits for what it connects to, as nomad-metrics waits for the Nomad server.
   */
  private withServiceNeeds(profile: Profile): Profile {
    const names = new Set(profile.containers.map((c) => c.name));
    return {
      ...profile,
      containers: profile.containers.map((c) => {
        const needs = (this.opts.services?.[c.name]?.needs ?? []).filter((n) => names.has(n) && !c.startup_dependencies.includes(n));
        return needs.length === 0 ? c : { ...c, startup_dependencies: [...c.startup_dependencies, ...needs] };
      }),
    };
  }

  private set(name: string, patch: Partial<LiveRow>): void {
    const row = { ...this.rows.get(name)!, ...patch };
    this.rows.set(name, row);
    this.opts.onChange?.(row);
  }

  private async startOne(c: Container): Promise<void> {
    const failedDep = c.startup_dependencies.find((d) => this.rows.get(d)?.state === 'failed');
    if (failedDep) return this.set(c.name, { state: 'failed', reason: `its startup dependency ${failedDep} did not start` });
    const service = this.opts.services?.[c.name];
    const failedNeed = service?.needs.find((d) => this.rows.get(d)?.state === 'failed');
    if (failedNeed) return this.set(c.name, { state: 'failed', reason: `it needs ${failedNeed}, which did not start` });
    this.set(c.name, { state: c.migrator ? 'migrating' : 'starting' });
    try {
      const factory = this.opts.backends[c.name];
      if (factory) {
        const s = await factory();
        const before = this.addressOf(c.name);
        this.started.set(c.name, s);
        this.ports.set(c.name, s.port);
        this.readdressed(c.name, before);
        const documented = c.ports.find((p) => !p.ephemeral)?.container;
        this.set(c.name, { backend: s.backendDetail, via: s.backend, ports: [`${s.host}:${s.port}${documented ? `->${documented}/tcp` : ''}`], pid: s.pid, state: 'healthy' });
        return;
      }
      if (c.migrator) {
        const done = this.opts.migrate ? await this.opts.migrate(c.name) : 'nothing to migrate (exit 0)';
        return this.set(c.name, { state: 'exited', reason: done });
      }
      if (service) await this.startService(c, service);
      else await this.startWorker(c);
    } catch (e) {
      this.set(c.name, { state: 'failed', reason: (e as Error).message.split('\n')[0] });
    }
  }

  private async startService(c: Container, factory: ServiceFactory): Promise<void> {
    const documented = documentedPort(c);
    const ctx: Omit<ServiceContext, 'port'> = {
      name: c.name,
      components: this.started,
      healthPath: c.health?.path ?? '/health',
      log: (text, atMs, container) => this.serviceLogs.write(container ?? c.name, text, atMs),
      env: this.creation.get(c.name) ?? {},
      portOf: (name) => {
        const other = this.opts.profile.containers.find((x) => x.name === name);
        const documented = other === undefined ? null : documentedPort(other);
        return this.ports.get(name) ?? (documented === null ? undefined : this.opts.portOffset + documented);
      },
    };
    // The documented port (offset) if it is free; otherwise any free port, and the table says which.
    const start = (port: number) => factory.start({ ...ctx, port });
    const handle = await start(documented !== null ? this.opts.portOffset + documented : 0).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') return start(0);
      throw e;
    });
    const before = this.addressOf(c.name);
    this.services.set(c.name, handle);
    this.ports.set(c.name, handle.port);
    this.set(c.name, { ports: [`127.0.0.1:${handle.port}->${documented ?? handle.port}/tcp`], pid: process.pid, healthUrl: handle.healthUrl, state: 'healthy' });
    this.readdressed(c.name, before);
  }

  private async startWorker(c: Container): Promise<void> {
    const udp = c.ports.find((p) => p.protocol === 'udp' && !p.ephemeral);
    const documented = documentedPort(c);
    const port = documented !== null ? this.opts.portOffset + documented : await freePort();
    // nomad-metrics lists no startup dependency, but polls the Nomad server: it waits for it to be up.
    if (c.name === 'nomad-metrics') await this.starting.get('nomad_server');
    const nomad = this.started.get('nomad_server');
    const statsdPort = this.opts.portOffset + STATSD_PORT;
    const role =
      c.name === 'telegraf' && udp
        ? { kind: 'telegraf', udpPort: this.opts.portOffset + udp.container, seriesMs: this.gaugePeriodMs }
        : c.name === 'nomad-metrics' && nomad
          ? { kind: 'nomad-metrics', nomadUrl: nomad.url, statsdPort, intervalMs: this.metricsPollMs }
          : c.name === 'federation-service' && this.rows.has('ldap')
            ? this.ldapBindRole()
            : c.name === 'tutum/logrotate'
              ? { kind: 'logrotate', rotateMs: this.metricsPollMs, lineMs: this.opts.logrotateLineMs ?? LOGROTATE_LINE_MS }
              : undefined;
    const healthPath = c.health?.path ?? '/health';
    const dependencies = this.dependenciesOf(c);
    // The documented port (offset) if it is free; otherwise any free port, and the table says which.
    const worker = await this.health.start({ name: c.name, port, healthPath, dependencies, role });
    const actual = worker.port;
    this.workers.set(c.name, worker);
    const healthUrl = `http://127.0.0.1:${actual}${healthPath}`;
    const before = this.addressOf(c.name);
    this.ports.set(c.name, actual);
    const ports = [`127.0.0.1:${actual}->${documented ?? actual}/tcp`, ...(role?.kind === 'telegraf' && udp ? [`127.0.0.1:${role.udpPort}->${udp.container}/udp`] : [])];
    this.set(c.name, { ports, pid: process.pid, healthUrl, state: 'healthy' });
    this.readdressed(c.name, before);
  }

  /**
   * federation-service with `auth: ldap`: its health check makes a real LDAP simple bind with the directory's bind
   * account. No URL (the directory failed to start) means every check fails naming ldap, never a quiet 200.
   */
  private ldapBindRole(): { kind: 'ldap-bind'; ldapUrl?: string; bindDn: string; bindPassword: string } {
    const ldap = this.started.get('ldap');
    const account = ldap instanceof StartedLdap ? ldap.bindAccount : undefined;
    return { kind: 'ldap-bind', ...(ldap ? { ldapUrl: ldap.url } : {}), bindDn: account?.dn ?? '', bindPassword: account?.password ?? '' };
  }

  /**
   * `sudo docker logs [--tail N] <container>`: what the container wrote, oldest first. A real component's is its
   * process's own output (PostgreSQL's, redis-server's, RabbitMQ's: the last lines since its last start); a twin
   * service's, the lines it wrote as it worked, in the seeds' shapes (`sim/symptoms/log-lines.ts`). Throws for a
   * name that is not a container or external system of this stack, as `docker logs` says "No such container".
   */
  logs(name: string, opts: LogsOptions = {}): readonly string[] {
    if (!this.hasLog(name)) throw new Error(`No such container: ${name}`);
    const lines = this.serviceLogs.logs(name, opts);
    const component = this.started.get(name) as (StartedComponent & { output?: (lines: number) => string[] }) | undefined;
    if (typeof component?.output !== 'function') return lines;
    const all = [...lines, ...component.output(opts.tail ?? MAX_PROCESS_OUTPUT_LINES)];
    return opts.tail === undefined ? all : all.slice(Math.max(0, all.length - opts.tail));
  }

  /** A row of the stack, or notifier (a row of the seeds' listing, no container of the profile: output-processor's stage writes its log). */
  private hasLog(name: string): boolean {
    return this.rows.has(name) || name === 'notifier';
  }

  /** The lines a live run's symptoms read (`cannot reach`, notifier's undelivered mails and pushes), with their container and instant, however busy the rings were. */
  logEntries(): ReturnType<ServiceLogs['kept']> {
    return this.serviceLogs.kept();
  }

  /**
   * `sudo docker logs -f <container>`: each line a twin service writes from now on, until `signal` aborts. A real
   * component's process output is not followed (read it with `logs`).
   */
  follow(name: string, signal?: AbortSignal): AsyncGenerator<string, void, undefined> {
    if (!this.hasLog(name)) throw new Error(`No such container: ${name}`);
    return this.serviceLogs.follow(name, signal);
  }

  private get metricsPollMs(): number {
    return this.opts.metricsPollMs ?? METRICS_POLL_MS;
  }

  /** Wall ms between two flushes of telegraf's series: three polls of nomad-metrics, so a slow poll or two leaves no false gap. */
  get gaugePeriodMs(): number {
    return GAUGE_FLUSH_POLLS * this.metricsPollMs;
  }

  /**
   * The series telegraf wrote, one entry per flush (oldest first): when (epoch ms) and the metric names it had.
   * While telegraf is down no flush is written; while nomad-metrics is, the flushes hold no `circle.nomad.*`.
   */
  gaugeFlushes(): readonly { atEpochMs: number; names: readonly string[] }[] {
    return this.flushes;
  }

  /** A line in a container's log as the stack itself writes it (what Docker would print, a report of RabbitMQ's). */
  writeLog(container: string, text: string, atEpochMs: number = Date.now()): void {
    this.serviceLogs.write(container, text, atEpochMs);
  }

  /**
   * An output of telegraf's (as its `[[outputs.cloudwatch]]`): `output` gets each flush telegraf writes, its instant
   * (epoch ms) and the last value of each gauge series it received since the flush before (`name`, or `name#tags`).
   * A killed or hung telegraf flushes nothing, so the output gets nothing; a killed nomad-metrics leaves its gauges
   * out of the flushes. Returns the call that removes the output.
   */
  onGaugeFlush(output: (atEpochMs: number, values: Readonly<Record<string, number>>) => void): () => void {
    this.gaugeOutputs.add(output);
    return () => void this.gaugeOutputs.delete(output);
  }

  /** The clock the twin services' log prefixes print (`ServiceLogs.useClock`): a drill's installation's, not the wall's. */
  useLogClock(clock: LogClock): void {
    this.serviceLogs.useClock(clock);
  }

  /** The started real components and external systems, by name. */
  get components(): ReadonlyMap<string, StartedComponent> {
    return this.started;
  }

  /** Probes every twin service's health endpoint (200 healthy, else unhealthy). */
  async refreshHealth(): Promise<void> {
    await Promise.all(
      [...this.rows.values()].map(async (row) => {
        if (!row.healthUrl || row.state === 'killed' || row.state === 'paused' || row.state === 'failed') return;
        const answer = await healthAnswer(row.healthUrl, 2000);
        if (answer.ok) {
          const { health: _gone, ...rest } = this.rows.get(row.name)!;
          this.rows.set(row.name, rest);
          this.set(row.name, { state: 'healthy' });
        } else this.set(row.name, { state: 'unhealthy', health: answer.detail });
      }),
    );
  }

  /** The fault port on this stack (the catalogue's live mechanics): `kill`, `start`, `pause` and `unpause` go through it. */
  private readonly faults = new LiveFaultAdapter(this.faultSurface());

  /**
   * What the live adapter acts on: a component is a real process (signals, a restart on its port and data dir; one
   * without a process, an external URL, is refused); a stage or a health-only service is a twin service (its worker
   * terminated, blocked or started anew).
   */
  private faultSurface(): LiveFaultSurface {
    const none = (what: string) => () => {
      throw new Error(`this stack has no ${what} to act on: its Nomad server is not the twin's API with the pipeline's build agents`);
    };
    // Read when a fault acts: this surface is made while the stack is being constructed.
    const systems = () => this.opts.systems;
    return {
      kindOf: (name) => {
        // A real agent's client node takes the faults it can (real-fleet.ts); the replay refuses the others first.
        if (name === 'nomad_client' && this.started.get('nomad_server') instanceof StartedRealNomadAgent) return name;
        if ((name === 'nomad_client' || name === 'services_machine') && systems() !== undefined) return name;
        if (isNomadServer(this.started.get(name))) return 'nomad_server';
        if (this.started.has(name) || this.opts.backends[name] || this.opts.externals?.[name]) return 'process';
        const c = this.opts.profile.containers.find((x) => x.name === name);
        return c === undefined || c.migrator ? undefined : 'service';
      },
      process: (name) => {
        const component = this.started.get(name) as (StartedComponent & { restart?: () => Promise<void> }) | undefined;
        if (component === undefined) throw new Error(`${name} is not a component of this stack`);
        return {
          pid: component.pid,
          backend: component.backendDetail,
          restart: async () => {
            if (typeof component.restart !== 'function') throw new Error(`${name} runs on ${component.backendDetail}: the twin cannot start it`);
            await component.restart();
          },
        };
      },
      service: (name) => ({
        stop: async () => {
          await this.services.get(name)?.stop();
          await this.workers.get(name)?.terminate();
        },
        kill: async () => {
          const w = this.workers.get(name);
          if (w) await w.terminate();
          this.services.get(name)?.kill();
        },
        start: () => this.respawn(name),
        ...(this.workers.has(name) || this.services.get(name)?.pause
          ? { pause: () => (this.services.get(name)?.pause?.(), this.workers.get(name)?.postMessage('pause')), unpause: () => (this.services.get(name)?.unpause?.(), this.workers.get(name)?.postMessage('unpause')) }
          : {}),
      }),
      nomadServer: () => {
        const nomad = this.started.get('nomad_server');
        // A real agent with its own data dir acts for itself: halt, resume, and a wipe that deletes the data dir.
        if (nomad instanceof StartedRealNomadAgent && nomad.persistent) return nomad;
        if (!(nomad instanceof StartedNomadApiServer)) throw new Error('nomad_server is neither the twin\'s Nomad API nor a real agent with a data dir in this stack');
        return nomadApiTarget(nomad, (jobs) => systems()?.nomadWiped(jobs));
      },
      fleet: () => {
        const nomad = this.started.get('nomad_server');
        if (nomad instanceof StartedRealNomadAgent) return realAgentFleet(nomad.url);
        return (systems() ?? { fleet: none('Nomad client') }).fleet();
      },
      network: () => (systems() ?? { network: none('network') }).network(),
    };
  }

  /**
   * Carries out one fault operation of the catalogue (an action, or the undo of one) on its target, as a scenario's
   * fault does; resolves once it took effect with a line for the fault log. A container's row follows.
   */
  async act(order: FaultOrder): Promise<string> {
    const what = await this.faults.apply(order);
    const state: LiveState | undefined = { kill: 'killed', stop: 'exited', pause: 'paused', unpause: 'healthy', start: 'healthy', restart: 'healthy' }[order.action as string] as LiveState | undefined;
    // A stage started again sets its own row when it listens (on whatever port it got).
    if (state !== undefined && this.rows.has(order.target) && !(state === 'healthy' && this.services.has(order.target))) this.set(order.target, { state });
    return what;
  }

  /** SIGKILL of a real component's process, termination of a twin service's worker, the abrupt end of an in-process service. */
  async kill(name: string): Promise<void> {
    await this.faults.apply({ action: 'kill', target: name, count: 1 });
    this.set(name, { state: 'killed' });
  }

  /**
   * Starts a killed (or stopped) container again, as `docker start` would: a real component restarts on its port and
   * data dir (`restart()`), a stage is started anew by its factory after what it held is released, and a
   * twin service gets a new worker. Resolves once it is up; its row says healthy (or failed, with the reason).
   */
  async start(name: string): Promise<void> {
    const c = this.opts.profile.containers.find((x) => x.name === name);
    if (this.started.get(name) === undefined && c === undefined) throw new Error(`${name} is not a container of this stack`);
    if (this.rows.get(name)?.state === 'paused') this.unpause(name);
    this.set(name, { state: 'starting', reason: undefined });
    try {
      await this.faults.apply({ action: 'start', target: name, count: 1 });
      // A stage or worker sets its row when it listens; a component's row is set here.
      const component = this.started.get(name);
      if (component !== undefined) this.set(name, { pid: component.pid, state: 'healthy' });
    } catch (e) {
      this.set(name, { state: 'failed', reason: (e as Error).message.split('\n')[0] });
      throw e;
    }
  }

  /**
   * A graceful stop, as `docker stop` (or Replicated stopping the app) does it: SIGTERM for a real component, a
   * stage's graceful stop, the Nomad API halted. `start` brings it back; its row says exited until then.
   */
  async stop(name: string): Promise<void> {
    await this.faults.apply({ action: 'stop', target: name, count: 1 });
    this.set(name, { state: 'exited' });
  }

  /** A twin service started anew: what it held released, then its factory (a stage) or a new worker. */
  private async respawn(name: string): Promise<void> {
    const c = this.opts.profile.containers.find((x) => x.name === name);
    if (c === undefined) throw new Error(`${name} is not a container of this stack`);
    const old = this.services.get(name);
    this.services.delete(name);
    await old?.stop().catch(() => undefined);
    const worker = this.workers.get(name);
    this.workers.delete(name);
    await worker?.terminate();
    const factory = this.opts.services?.[name];
    if (factory) await this.startService(c, factory);
    else await this.startWorker(c);
  }

  /**
   * A hung process: SIGSTOP for a real component, a worker that stops answering for a twin service, a stage whose
   * worker thread is blocked. A service without `pause` shares this thread, which cannot be stopped without
   * stopping the whole stack: refused.
   */
  pause(name: string): void {
    void this.faults.apply({ action: 'pause', target: name, count: 1 });
    this.set(name, { state: 'paused' });
  }

  /** SIGCONT / the worker answers again (what it held is answered). */
  unpause(name: string): void {
    void this.faults.apply({ action: 'unpause', target: name, count: 1 });
    this.set(name, { state: 'healthy' });
  }

  /**
   * The real data directory of a component, deleted (the seeds' `rm -rf /opt/nomad`, for a store); the twin's Nomad
   * API forgets its state through the fault adapter (`wipe_state`), and the result says what it forgot.
   */
  async wipeState(name: string): Promise<string> {
    if (isNomadServer(this.started.get(name))) return this.faults.apply({ action: 'wipe_state', target: name, count: 1 });
    const s = this.started.get(name);
    if (s?.dataDir === undefined) throw new Error(`${name} has no data directory in this stack (backend ${s?.backend ?? 'twin service'})`);
    const { rm } = await import('node:fs/promises');
    await rm(s.dataDir, { recursive: true, force: true });
    return s.dataDir;
  }

  /** Stops everything, last wave first, and removes what the providers created. */
  async down(): Promise<void> {
    // A stopped (SIGSTOP) process would not act on SIGTERM, nor answer the services closing their connections to
    // it: let it run again first.
    for (const [name, s] of this.started) if (this.rows.get(name)?.state === 'paused' && s.pid !== undefined) process.kill(s.pid, 'SIGCONT');
    // The in-process services before the components: they hold connections to them.
    await Promise.all([...this.services.values()].reverse().map((s) => s.stop().catch(() => undefined)));
    this.services.clear();
    await Promise.all(Object.values(this.opts.services ?? {}).map((f) => f.release?.()));
    await Promise.all([...this.workers.values()].map((w) => w.terminate()));
    this.workers.clear();
    for (const s of [...this.started.values()].reverse()) await s.stop().catch(() => undefined);
    this.started.clear();
  }
}

/** A real component's output kept by its process handle (`providers/process.ts` keeps its last 200 lines). */
const MAX_PROCESS_OUTPUT_LINES = 200;

/** Whether a component is a Nomad server the fault adapter acts on: the twin's API, or a real agent with a data dir. */
function isNomadServer(c: StartedComponent | undefined): boolean {
  return c instanceof StartedNomadApiServer || (c instanceof StartedRealNomadAgent && c.persistent);
}


/**
 * Whether a health endpoint answers 2xx within `timeoutMs`, and if not, what it answered: the status and the
 * `failing` dependencies the twin's health-only services name in their body. Through node:http, not fetch: fetch
 * refuses the Fetch standard's "bad ports", among them 10080, where `twin up` publishes frontend's port 80.
 */
function healthAnswer(url: string, timeoutMs: number): Promise<{ ok: boolean; detail?: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        res.resume();
        return resolve({ ok: true });
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body = (body + c).slice(0, 2000)));
      res.on('end', () => {
        let failing: unknown;
        try {
          failing = (JSON.parse(body) as { failing?: unknown }).failing;
        } catch {
          failing = undefined;
        }
        resolve({ ok: false, detail: Array.isArray(failing) && failing.length > 0 ? `${status}: failing ${failing.join(', ')}` : String(status) });
      });
      res.on('error', () => resolve({ ok: false, detail: String(status) }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, detail: e.code ?? e.message }));
  });
}
