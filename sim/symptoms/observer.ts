import type { World } from '../models/world.ts';
import type { Container } from '../../fixtures/schema.ts';
import type { DataLoss, Symptom, SymptomView } from '../report/types.ts';
import type { ServiceState, StateCause } from '../models/services/registry.ts';

/**
 * What an operator would see of each container's failure, counted during a run: the effects of its absence on the
 * other services (an email not sent, a live UI update not pushed, an hourly audit file not written, a gauge not
 * reported, ...) and its own status (`docker ps`, its health endpoint). The severity classifier reads these, so a
 * mild fault is rated mild because a mild effect was seen, and `twin conformance` lists them per row. Pure: it
 * reads the model's state at the statsd flush and the ledger's fates, and changes nothing in the run.
 */

/** How often Replicated asks server-ready-agent whether the system is ready (the twin's choice: once a minute). */
export const REPLICATED_POLL_MS = 60_000;
/** How often shutdown-hook-poller asks frontend for 1.0 Builder shutdown requests (the twin's choice). */
export const SHUTDOWN_HOOK_POLL_MS = 60_000;
/** How often server-usage-stats sends the user count to CircleCI's phone-home endpoint (the twin's choice: hourly). */
export const USAGE_STATS_INTERVAL_MS = 3_600_000;
/** picard-dispatcher's `Still running...` heartbeat (the seeds' 19:32:33, 19:34:33) and its offset in the logs. */
export const HEARTBEAT_MS = 120_000;
export const HEARTBEAT_OFFSET_MS = 33_629;
/** Distinct symptoms a run keeps (key: container, view, what); past it, new kinds are counted under one overflow entry. */
export const MAX_SYMPTOM_KINDS = 500;
/** Longest failure reason kept in a symptom's text. */
const REASON_CHARS = 120;

/** Where an operator looks for each view. */
export const WHERE: Readonly<Record<SymptomView, string>> = {
  'docker-ps': 'sudo docker ps -a',
  health: 'curl to its health endpoint',
  logs: 'sudo docker logs',
  metrics: 'the statsd metrics telegraf forwards',
  ui: 'the CircleCI UI and REST API',
  builds: 'the builds page (job status and failure reason)',
  email: "the committers' inboxes (notifier's log)",
  'live-updates': 'the builds page without a refresh',
  'audit-log': 'audit-logs/audit_log/v1 in object storage',
  'usage-stats': "CircleCI's phone-home (docker exec server-usage-stats /src/builds/extract)",
  replicated: "the Management Console (Replicated's readiness check of server-ready-agent)",
  disk: 'df -h on the Services machine',
  vm: "vm-service's EC2 instances",
};

/** What the observer reads of the model beyond the containers' states: getters, so it never holds the stages. */
export interface RunProbes {
  /** Tasks running on Nomad clients (their build agents stream to output-processor on 8585). */
  runningTasks(): number;
  /** Builds waiting in the run queue. */
  runQueueDepth(): number;
  /** Builds waiting in schedulerer's queue for their jobs to be submitted to Nomad. */
  schedulerQueueDepth(): number;
  /** Test results stored but not parsed (test-results down). */
  testResultsBacklog(): number;
  /** Audit events waiting in the durable queue for audit-log-service. */
  auditWaiting(): number;
  /** vm-service instances whose termination failed, waiting for vm-gc. */
  staleVms(): number;
  /** Preallocated instances missing from vm-scaler's target pool (neither pooled nor booting). */
  vmPoolShortfall(): number;
}

/** The periodic work of one container: what it does every `periodMs`, and what its absence looks like. */
export interface Periodic {
  container: string;
  periodMs: number;
  offsetMs?: number;
  view: SymptomView;
  what: string;
  where?: string;
  /** Counts only when this holds too (e.g. something was waiting). */
  when?: () => boolean;
}

/** Periodic work whose absence shows whatever else the run does (the live run's symptoms count them too). */
export const STEADY_PERIODIC: readonly Periodic[] = [
  { container: 'ready-agent', periodMs: REPLICATED_POLL_MS, view: 'replicated', what: "Replicated's readiness check of server-ready-agent got no answer" },
  { container: 'shutdown-hook-poller', periodMs: SHUTDOWN_HOOK_POLL_MS, view: 'logs', what: 'frontend was not polled for 1.0 Builder shutdown requests', where: 'sudo docker logs shutdown-hook-poller' },
  { container: 'server-usage-stats', periodMs: USAGE_STATS_INTERVAL_MS, view: 'usage-stats', what: 'the hourly user count was not sent to CircleCI' },
  { container: 'picard-dispatcher', periodMs: HEARTBEAT_MS, offsetMs: HEARTBEAT_OFFSET_MS, view: 'logs', what: 'no `picard-dispatcher.init Still running...` heartbeat', where: 'sudo docker logs picard-dispatcher' },
];

export class SymptomObserver {
  private readonly seen = new Map<string, Symptom>();
  private lastTickMs = 0;
  private lastBacklog = 0;
  private readonly containers: ReadonlySet<string>;
  private readonly periodic: Periodic[];
  private readonly byName: ReadonlyMap<string, Container>;
  private readonly fileserved: boolean;

  constructor(
    private readonly world: World,
    private readonly probes: RunProbes,
    auditIntervalMs: number,
    vmGcIntervalMs: number,
  ) {
    this.containers = new Set(world.profile.containers.map((c) => c.name));
    this.byName = new Map(world.profile.containers.map((c) => [c.name, c]));
    this.fileserved = world.scenario.topology.storage === 'fileserved';
    const has = (n: string) => this.containers.has(n);
    const periodic: Periodic[] = [
      ...STEADY_PERIODIC,
      { container: 'audit-log-service', periodMs: auditIntervalMs, view: 'audit-log', what: 'the hourly audit log file was not written (events wait in the queue)', when: () => probes.auditWaiting() > 0 },
      { container: 'vm-gc', periodMs: vmGcIntervalMs, view: 'vm', what: 'stale instances were not reaped by the sweep', when: () => probes.staleVms() > 0 },
      { container: 'vm-gc', periodMs: vmGcIntervalMs, view: 'logs', what: 'no sweep of stale instances', where: 'sudo docker logs vm-gc' },
    ];
    this.periodic = periodic.filter((p) => has(p.container));
    for (const c of world.profile.containers) {
      if (!c.migrator) continue;
      // A migrator has done its work at boot; run again, it checks the schema and finds nothing to do.
      world.services.onChange(c.name, (_n, state, previous) => {
        if (state === 'running' && previous !== 'running') this.see(c.name, 'logs', 'ran again at its start: migrations checked, none pending', world.sim.nowMs, 1, `sudo docker logs ${c.name}`);
      });
    }
  }

  /** Counts one symptom (or `n`) of `container` seen in `view` at `atMs`. */
  see(container: string, view: SymptomView, what: string, atMs: number, n = 1, where = WHERE[view]): void {
    tally(this.seen, container, view, what, atMs, n, where);
  }

  /**
   * A build's fate or a webhook's: the builds page shows it (unless it succeeded); slanger pushes it live; a failed
   * build is mailed to its committers through exim. Each is attributed to the container its reason names.
   */
  readonly onOutcome = (kind: 'succeeded' | 'failed' | 'lost' | 'stuck' | 'not_triggered' | 'retried', reason: string, atMs: number): void => {
    const { services } = this.world;
    if (kind !== 'succeeded') this.see(this.culprit(reason), 'builds', `${kind.replace('_', ' ')}: ${reason.slice(0, REASON_CHARS)}`, atMs);
    if (kind === 'not_triggered' || kind === 'retried') return;
    if (!services.isUp('slanger') && this.containers.has('slanger')) this.see('slanger', 'live-updates', `a build's status change (${kind}) was not pushed to open builds pages`, atMs);
    if (kind === 'failed' && this.containers.has('exim') && !services.isUp('exim')) {
      this.see('exim', 'email', 'a :build-failed email was not sent', atMs);
      this.see('exim', 'logs', 'notifier: Could not connect to SMTP host: exim, port: 25', atMs, 1, 'sudo docker logs notifier');
    }
  };

  /** Called at every statsd flush: what periodic work did not happen since the last one. */
  tick(nowMs: number): void {
    const prev = this.lastTickMs;
    this.lastTickMs = nowMs;
    const { services } = this.world;
    const up = (n: string) => !this.containers.has(n) || services.isUp(n);
    for (const p of this.periodic) {
      if (up(p.container)) continue;
      const due = dueBetween(p.periodMs, p.offsetMs ?? 0, prev, nowMs);
      if (due > 0 && (p.when === undefined || p.when())) this.see(p.container, p.view, p.what, nowMs, due, p.where);
    }
    if (!up('telegraf')) this.see('telegraf', 'metrics', 'no metric was forwarded for a flush interval (every gauge has a gap)', nowMs);
    else if (!up('nomad-metrics')) this.see('nomad-metrics', 'metrics', 'circle.nomad.* gauges were not reported for a flush interval', nowMs);
    if (!up('output-processor') && this.probes.runningTasks() > 0) this.see('output-processor', 'logs', 'build agents warn `grpc: the connection is unavailable` (8585)', nowMs, 1, 'nomad logs -stderr <alloc>');
    if (!up('schedulerer') && this.probes.schedulerQueueDepth() > 0) {
      this.see('schedulerer', 'metrics', "builds wait in picard-scheduler's queue: no job submitted to Nomad (circle.nomad.server_agent.jobs.pending stays flat)", nowMs);
      this.see('schedulerer', 'logs', 'no `submitted job=... to nomad` lines while builds wait', nowMs, 1, 'sudo docker logs picard-scheduler');
    }
    if (!up('picard-dispatcher') && this.probes.runQueueDepth() > 0) this.see('picard-dispatcher', 'metrics', 'circle.run-queue.runnable grows: no build taken', nowMs);
    if (!up('vm-scaler') && this.probes.vmPoolShortfall() > 0) this.see('vm-scaler', 'vm', 'the preallocated pool was not replenished', nowMs);
    if (!up('tutum/logrotate')) this.see('tutum/logrotate', 'disk', 'container logs grow unrotated on the Services machine disk', nowMs);
    const backlog = this.probes.testResultsBacklog();
    if (backlog > this.lastBacklog) this.see('test-results', 'ui', 'a job shows no test failure or timing data (back-filled once test-results runs)', nowMs, backlog - this.lastBacklog);
    else if (backlog < this.lastBacklog) this.see('test-results', 'logs', 'back-filled test results parsed after the restart', nowMs, this.lastBacklog - backlog, 'sudo docker logs test-results');
    this.lastBacklog = backlog;
  }

  /**
   * Stored or live data lost: the build page shows no output, artifacts or test results. Attributed to the first
   * store of that data that is down (fileserved when it holds them), else to the pipeline.
   */
  readonly onLoss = (kind: keyof DataLoss, amount: number): void => {
    const stores = kind === 'step_output' || kind === 'artifacts' || kind === 'test_results' ? [...(this.fileserved ? ['fileserved'] : []), ...LOSS_STORES[kind]] : LOSS_STORES[kind];
    const down = this.world.services.firstDown(stores.filter((n) => this.containers.has(n)));
    this.see(down ?? 'pipeline', 'builds', `${kind.replaceAll('_', ' ')} lost (${LOSS_SEEN[kind]})`, this.world.sim.nowMs, amount);
  };

  /** A UI or API request that failed: the page or call fails, attributed to the service it needed that was down. */
  readonly onUiFailure = (kind: string, down: string, atMs: number): void => {
    this.see(down, 'ui', `${kind} fails`, atMs);
  };

  /**
   * Every symptom of the run, with each container's own status from its history: `docker ps` shows it exited (or
   * paused), its health endpoint refuses, and ready-agent answers 503 while any container it waits for is down.
   * Sorted by container, view and text, so the report is byte-identical for the same run.
   */
  symptoms(history: readonly StateChange[]): Symptom[] {
    const effects = new Map([...this.seen].map(([k, s]) => [k, { ...s }]));
    statusSymptoms(history, this.byName, this.containers.has('ready-agent'), (c, v, w, at, n, where) => this.see(c, v, w, at, n, where));
    const all = [...this.seen.values()].sort(compareSymptoms);
    this.seen.clear();
    for (const [k, s] of effects) this.seen.set(k, s);
    return all;
  }

  private culprit(reason: string): string {
    return culpritOf(reason, this.containers);
  }
}

/** The containers that hold or carry each kind of data, in the order a loss is attributed to them. */
export const LOSS_STORES: Readonly<Record<keyof DataLoss, readonly string[]>> = {
  step_output: ['output-processor', 'mongo', 'redis', 'rabbitmq'],
  artifacts: ['output-processor'],
  test_results: ['output-processor'],
  audit_events: ['rabbitmq', 'audit-log-service'],
  live_step_output: ['redis', 'output-processor'],
  build_records: ['mongo'],
  workflow_records: ['postgres'],
};

/** Where each loss shows to a person. */
export const LOSS_SEEN: Readonly<Record<keyof DataLoss, string>> = {
  step_output: 'the build page shows no step output',
  artifacts: 'the Artifacts tab is missing files',
  test_results: 'the Tests tab is empty',
  audit_events: 'events missing from the audit log',
  live_step_output: 'running steps show no output',
  build_records: 'builds missing from the builds page',
  workflow_records: 'workflows missing from the workflows view',
};

/** How many instants `offset + k·period` (k ≥ 0) fall in (fromMs, toMs]. */
export function dueBetween(periodMs: number, offsetMs: number, fromMs: number, toMs: number): number {
  const upTo = (t: number) => (t < offsetMs ? 0 : Math.floor((t - offsetMs) / periodMs) + 1);
  return upTo(toMs) - upTo(fromMs);
}

/** Counts `n` of a symptom into `seen` (key: container, view, what); past MAX_SYMPTOM_KINDS kinds, under one overflow entry. */
export function tally(seen: Map<string, Symptom>, container: string, view: SymptomView, what: string, atMs: number, n = 1, where = WHERE[view]): void {
  if (n <= 0) return;
  const key = `${container}\u0000${view}\u0000${what}`;
  let s = seen.get(key);
  if (s === undefined) {
    if (seen.size >= MAX_SYMPTOM_KINDS) return tally(seen, '(more)', view, `more kinds of symptoms than ${MAX_SYMPTOM_KINDS}`, atMs, n, where);
    s = { container, view, what, where, count: 0, first_at_ms: atMs, last_at_ms: atMs };
    seen.set(key, s);
  }
  s.count += n;
  s.last_at_ms = atMs;
}

/** The container a failure reason names first (`vault-cci down: ...` → vault-cci), else `pipeline`. */
export function culpritOf(reason: string, containers: ReadonlySet<string>): string {
  const head = /^[A-Za-z0-9_/.-]+/.exec(reason)?.[0] ?? '';
  return containers.has(head) ? head : 'pipeline';
}

/** A container's state change, as the services registry's history (or a live run's fault log) holds it. */
export interface StateChange {
  atMs: number;
  name: string;
  state: ServiceState;
  cause: StateCause;
}

/**
 * Each container's own status while it was not running: `docker ps` shows it exited (or paused), its health
 * endpoint refuses (or times out), and ready-agent answers 503 while a container it waits for is down.
 */
export function statusSymptoms(history: readonly StateChange[], byName: ReadonlyMap<string, Container>, hasReadyAgent: boolean, see: (container: string, view: SymptomView, what: string, atMs: number, n?: number, where?: string) => void): void {
  for (const e of history) {
    if (e.state === 'running') continue;
    const c = byName.get(e.name);
    see(e.name, 'docker-ps', `listed as ${statusText(e.state, e.cause)}`, e.atMs);
    if (c?.health !== undefined) see(e.name, 'health', `curl :${c.health.port}${c.health.path} ${e.state === 'paused' ? 'times out' : 'is refused'}`, e.atMs);
    // ready-agent waits for the long-running services, not for migrators, which exit once done.
    if (e.name !== 'ready-agent' && c?.migrator !== true && hasReadyAgent) see(e.name, 'health', `server-ready-agent answers 503 (${e.name} not ready)`, e.atMs, 1, 'curl to server-ready-agent');
  }
}

/** `docker ps -a`'s STATUS for a container that is not running. */
function statusText(state: ServiceState, cause: StateCause): string {
  if (state === 'paused') return 'Up (Paused)';
  if (state === 'failed') return 'Exited (1)';
  return cause === 'stop' ? 'Exited (0)' : 'Exited (137)';
}

export function compareSymptoms(a: Symptom, b: Symptom): number {
  return cmp(a.container, b.container) || cmp(a.view, b.view) || cmp(a.what, b.what);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The identity of a symptom, for comparing a run with its baseline. */
export function symptomKey(s: Pick<Symptom, 'container' | 'view' | 'what'>): string {
  return `${s.container} · ${s.view} · ${s.what}`;
}
