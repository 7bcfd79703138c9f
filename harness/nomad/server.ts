/**
 * The twin's Nomad server as a network service: Nomad's HTTP API on 127.0.0.1, backed by the simulation's
 * `NomadScheduler`, with simulated clients whose allocations a pluggable task runner executes.
 *
 *     new NomadApiServer()            builder: withPort, withSeed, withClients, withClock, withTaskRunner, ...
 *        .start() ─► NomadApiState    scheduler + indexes + records (api-state.ts)
 *                 ─► NomadHttpApi     routes, blocking queries, Nomad's errors (http-api.ts)
 *                 ─► harness/http     listening on 127.0.0.1:<port> (0 = a free one), Nomad's error texts
 *        ◄─ StartedNomadApiServer     url, port, scheduler, state, stop(), await using
 */
import { Rng } from '../../sim/engine/rng.ts';
import type { Scheduler } from '../../sim/engine/simulation.ts';
import type { NomadScheduler } from '../../sim/models/nomad/index.ts';
import { DEFAULT_DATACENTER, DEFAULT_RESERVED_CPU_MILLI, DEFAULT_RESERVED_MEMORY_MB } from '../../sim/models/nomad/index.ts';
import { HttpListenError, listenHttp, type HttpServerOptions, type ListeningHttp } from '../http/index.ts';
import { ProviderError, type ComponentBuilder, type StartedComponent } from '../providers/types.ts';
import { NomadApiState, type ClientSpec } from './api-state.ts';
import { MAX_BODY_BYTES, NomadHttpApi, nomadErrors, type ApiCompat } from './http-api.ts';
import { SimulatedTaskRunner, type TaskRunner } from './task-runner.ts';
import { NomadStateDir, type NomadStartState } from './state-dir.ts';
import { WallClock } from './wall-clock.ts';

/**
 * The Nomad version whose API the twin speaks: 0.9.3, the version the seeds' launch configuration installs
 * on the clients. The server's image tag (`circleci-server-nomad:0.5.6-5.1`, fixtures/2.19.6/containers.yaml)
 * stays an image tag only: shapes, routes and errors are 0.9.3's, measured against a real 0.9.3 dev agent.
 */
export const NOMAD_VERSION = '0.9.3';
/** The leader's RPC address, as `/v1/status/leader` reports it (Nomad's default RPC port). */
export const LEADER_RPC_ADDR = '127.0.0.1:4647';
/** Simulated clients when none are given: two of the seeds' typical size. */
export const DEFAULT_CLIENTS: readonly ClientSpec[] = Object.freeze([
  { name: 'ip-10-0-0-1', cpus: 8, memoryGb: 32 },
  { name: 'ip-10-0-0-2', cpus: 8, memoryGb: 32 },
]);
const HOST = '127.0.0.1';
/** How long a stop lets answers in flight (the blocking queries it flushes) reach their clients before it cuts them. */
const CLOSE_GRACE_MS = 500;

/** Builder of the twin's Nomad API (`withX(): this`; defaults settle in `start()`). */
export class NomadApiServer implements ComponentBuilder<StartedNomadApiServer> {
  private port = 0;
  private seed = 1;
  private clients: readonly ClientSpec[] | undefined;
  private clock: Scheduler | undefined;
  private runner: TaskRunner | undefined;
  private version = NOMAD_VERSION;
  private compat: ApiCompat = 'both';
  private note: string | undefined;
  private reservedCpuMilli = DEFAULT_RESERVED_CPU_MILLI;
  private reservedMemoryMb = DEFAULT_RESERVED_MEMORY_MB;
  private mirrored: NomadScheduler | undefined;

  /** Port on 127.0.0.1; 0 (default) takes a free one. */
  withPort(port: number): this {
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port must be 0..65535, got ${port}`);
    this.port = port;
    return this;
  }

  /** Root seed: the scheduler's stream is `new Rng(seed).fork('nomad')`, as in the simulation. */
  withSeed(seed: number): this {
    this.seed = seed;
    return this;
  }

  /** The simulated Nomad clients (name, total cpus and memoryGb; the reservation is taken off). */
  withClients(clients: readonly ClientSpec[]): this {
    this.clients = [...clients];
    return this;
  }

  /** The clock for timestamps and simulated task durations (default: a `WallClock` at real speed). */
  withClock(clock: Scheduler): this {
    this.clock = clock;
    return this;
  }

  /** What runs a placed allocation (default: `SimulatedTaskRunner`, driven by the job's `Meta.duration_ms`). */
  withTaskRunner(runner: TaskRunner): this {
    this.runner = runner;
    return this;
  }

  /** The version `/v1/agent/self` and the nodes report. */
  withVersion(version: string): this {
    this.version = version;
    return this;
  }

  /** `both` (default): drain by `DrainSpec` body or `?enable=`, and `/eligibility`; `legacy`: Nomad ≤ 0.7's API only. */
  withCompat(compat: ApiCompat): this {
    this.compat = compat;
    return this;
  }

  /** A line for the status table's backend column: why the twin stands in (e.g. a real Nomad was asked for and none is here). */
  withNote(note: string): this {
    this.note = note;
    return this;
  }

  /**
   * Serves a scheduler the server does not own (a training drill's simulation): no clients of its own, and
   * `state.adopt()` brings the API up to date with it before each look (harness/train/real-nomad-cli.ts).
   */
  withScheduler(scheduler: NomadScheduler): this {
    this.mirrored = scheduler;
    return this;
  }

  /** Each client's reservation (default 2 vCPU and 4 GB, CircleCI's). */
  withReservation(reservedCpuMilli: number, reservedMemoryMb: number): this {
    this.reservedCpuMilli = reservedCpuMilli;
    this.reservedMemoryMb = reservedMemoryMb;
    return this;
  }

  async start(): Promise<StartedNomadApiServer> {
    const ownClock = this.clock === undefined ? new WallClock() : undefined;
    const clock = this.clock ?? ownClock!;
    const root = new Rng(this.seed);
    const state = new NomadApiState({
      seed: this.seed,
      clients: this.clients ?? (this.mirrored === undefined ? DEFAULT_CLIENTS : []),
      ...(this.mirrored === undefined ? {} : { scheduler: this.mirrored }),
      clock,
      runner: this.runner ?? new SimulatedTaskRunner(),
      version: this.version,
      reservedCpuMilli: this.reservedCpuMilli,
      reservedMemoryMb: this.reservedMemoryMb,
    });
    const identity = {
      version: this.version,
      region: 'global',
      datacenter: DEFAULT_DATACENTER,
      nodeName: 'nomad-server',
      httpAddr: `${HOST}:${this.port}`,
      rpcAddr: LEADER_RPC_ADDR,
      serfPort: 4648,
    };
    const http = new NomadHttpApi(state, { compat: this.compat, jitterRng: root.fork('nomad-http'), identity });
    const options: HttpServerOptions = { name: 'nomad api', host: HOST, port: this.port, routes: http.routes(), errors: nomadErrors, maxBodyBytes: MAX_BODY_BYTES, closeGraceMs: CLOSE_GRACE_MS };
    let listening: ListeningHttp;
    try {
      listening = await listenHttp(options);
    } catch (err) {
      state.close();
      ownClock?.cancelAll();
      const why = err instanceof HttpListenError ? err.code : err instanceof Error ? err.message : String(err);
      throw new ProviderError('START_FAILED', `twin Nomad API could not listen on ${HOST}:${this.port}: ${why}`);
    }
    const port = listening.port;
    identity.httpAddr = `${HOST}:${port}`;
    // The simulated clients' own HTTP API (logs, stats) answers on this listener too.
    state.settings.clientHttpAddr = `${HOST}:${port}`;
    return new StartedNomadApiServer(listening, { ...options, port }, state, http, port, ownClock, `twin Nomad API (NomadScheduler, seed ${this.seed}, ${state.nodeIds().length} simulated clients, compat ${this.compat}${this.note === undefined ? '' : `; ${this.note}`})`);
  }
}

/** The builder under its short name: `new NomadApi().withPort(0).start()`. */
export { NomadApiServer as NomadApi };

/** A running twin Nomad API: where it listens, the scheduler behind it, and how to stop it. */
export class StartedNomadApiServer implements StartedComponent {
  readonly name = 'nomad_server';
  readonly backend = 'embedded' as const;
  readonly host = HOST;
  readonly pid = undefined;
  private stopping: Promise<void> | undefined;
  private stateDir: NomadStateDir | undefined;
  /** What the server found in its data dir the last time it started on it (`resume`), if it has one. */
  lastStart: NomadStartState | undefined;

  constructor(
    private listening: ListeningHttp | undefined,
    private readonly options: HttpServerOptions,
    readonly state: NomadApiState,
    private readonly http: NomadHttpApi,
    readonly port: number,
    private readonly ownClock: WallClock | undefined,
    readonly backendDetail: string,
  ) {}

  /** The data dir (`/opt/nomad`) its state is written to, once `persistState` gave it one. */
  get dataDir(): string | undefined {
    return this.stateDir?.dir;
  }

  /**
   * From now on the server keeps its state in `dir` (written on every change, `state-dir.ts`) and starts on what
   * `dir` holds when it resumes: the same state, none (the dir emptied) or another (the dir restored from a copy).
   */
  persistState(dir: string): NomadStateDir {
    if (this.stateDir !== undefined) throw new Error(`the Nomad server already keeps its state in ${this.stateDir.dir}`);
    this.stateDir = new NomadStateDir(dir, this.state);
    return this.stateDir;
  }

  /** Writes its state to its data dir now (a running server writes back a dir removed under it). */
  persist(): void {
    this.stateDir?.save();
  }

  /** `http://127.0.0.1:<port>`, what `NOMAD_ADDR` would be. */
  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** The simulation's scheduler behind the API (read it; change state through the API or `state`). */
  get scheduler(): NomadScheduler {
    return this.state.scheduler;
  }

  /** Blocking queries waiting for an answer. */
  get waitingQueries(): number {
    return this.http.waitingQueries;
  }

  /** Ids of the simulated clients, in registration order. */
  nodeIds(): string[] {
    return this.state.nodeIds();
  }

  /**
   * The server process dies (a kill or stop of `nomad_server`): the listener closes and open connections are
   * cut, blocking queries unanswered. What it keeps in its data dir (`/opt/nomad`) survives: jobs, allocations
   * and the clients' running tasks are there again after `resume()`.
   */
  async halt(): Promise<void> {
    const listening = this.listening;
    if (listening === undefined) return;
    this.listening = undefined;
    this.stateDir?.halt();
    listening.kill();
    await listening.close();
  }

  /** The server is started again on the same port with its state. */
  async resume(): Promise<void> {
    if (this.listening !== undefined || this.stopping) return;
    if (this.stateDir !== undefined) this.lastStart = this.stateDir.resume();
    this.listening = await listenHttp(this.options);
  }

  /**
   * Stops: task runners stop, blocking queries answer with what they have, the listener closes and open
   * connections are ended (those still busy after a short grace are cut). Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stateDir?.close();
      this.state.close();
      this.http.flushWaiters();
      this.ownClock?.cancelAll();
      const listening = this.listening;
      this.listening = undefined;
      await listening?.close();
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
