import type { ServiceState, StateCause } from '../models/services/registry.ts';
import type { ObservedAlloc, ObservedBuild, ObservedEvent } from './recorder.ts';
import { isoLogTime, virtualStamp } from './clock-text.ts';
import { DEPENDENCY_RETRY_LOG_MS, LOG_LINES, linePrefix } from './log-lines.ts';
import { fmix32 } from '../util/hash.ts';
import { HEARTBEAT_MS, HEARTBEAT_OFFSET_MS, REPLICATED_POLL_MS, SHUTDOWN_HOOK_POLL_MS, USAGE_STATS_INTERVAL_MS } from './observer.ts';

/**
 * `sudo docker logs <container>`: the lines each service of the Services machine writes, generated from what the
 * simulation did (builds taken, forwarded, finished; containers stopped and started). Where the seeds print a
 * service's lines (dispatcher and picard-dispatcher in "Debugging Queuing Builds", the build agent's gRPC
 * warning in "Jobs stay in queued status until they fail") these are those shapes; the other services' lines are
 * the twin's, in the same style, and say so in sim/symptoms/README.md. Pure: the same run gives the same lines.
 */

/** A container's state changes (from the services registry's history). */
export interface LifeEvent {
  readonly atMs: number;
  readonly state: ServiceState;
  readonly cause: StateCause;
}

/** What the generator reads: the run's records up to `nowMs`. */
export interface LogSources {
  readonly nowMs: number;
  /** The state changes of a container, in order (empty: running since the machine booted). */
  history(name: string): readonly LifeEvent[];
  readonly builds: readonly ObservedBuild[];
  readonly allocs: readonly ObservedAlloc[];
  /** RabbitMQ's disk alarms and refused webhooks, in order. */
  readonly events: readonly ObservedEvent[];
  /**
   * The profile's containers (name, migrator, startup dependencies), when known: migrators' boot lines, ready-agent's
   * view of every container, and each service's errors while a dependency it needs is down.
   */
  readonly containers?: readonly ContainerFacts[];
}

/** What the logs need of a container of the profile. */
export interface ContainerFacts {
  readonly name: string;
  readonly migrator: boolean;
  readonly startup_dependencies: readonly string[];
}

/** How often a service whose dependency is down logs that it cannot reach it (`log-lines.ts`). */
export { DEPENDENCY_RETRY_LOG_MS } from './log-lines.ts';
/** How often the quieter services log their periodic work (telegraf's flush, nomad-metrics' poll, ...). */
export const PERIODIC_LOG_MS = 60_000;

/** Lines generated for one `docker logs` call at most (the oldest are cut); `--tail` cuts further. */
export const MAX_LOG_LINES = 5_000;
/** How far back a container's log goes (its log file is rotated by tutum/logrotate). */
export const LOG_WINDOW_MS = 6 * 3_600_000;
/** picard-dispatcher's heartbeat: "Still running..." every two minutes (the seeds' 19:32:33, 19:34:33). */
export const PICARD_HEARTBEAT_MS = HEARTBEAT_MS;
/** How often a build agent retries fetching its config from an unreachable output-processor. */
export const AGENT_RETRY_MS = 10_000;

interface Entry {
  atMs: number;
  text: string;
}

/** Intervals [from, to) within the window during which `name` was in a state `pred` accepts. */
export function intervals(history: readonly LifeEvent[], fromMs: number, toMs: number, pred: (s: ServiceState) => boolean): [number, number][] {
  const out: [number, number][] = [];
  let state: ServiceState = 'running';
  let since = 0;
  const close = (end: number) => {
    const a = Math.max(since, fromMs);
    const b = Math.min(end, toMs);
    if (pred(state) && b > a) out.push([a, b]);
  };
  for (const e of history) {
    if (e.atMs > toMs) break;
    close(e.atMs);
    state = e.state;
    since = e.atMs;
  }
  close(toMs);
  return out;
}

/** Whether `name` answered at `atMs` (running, not hung). */
export function upAt(history: readonly LifeEvent[], atMs: number): boolean {
  let state: ServiceState = 'running';
  for (const e of history) {
    if (e.atMs > atMs) break;
    state = e.state;
  }
  return state === 'running';
}

/** `acme/repo-1/38`, as the services name builds (the seeds' `GERey/realitycheck/38`). */
function slug(b: ObservedBuild): string {
  return b.name.startsWith('gh/') ? b.name.slice(3) : b.name;
}

function project(b: ObservedBuild): string {
  return slug(b).slice(0, slug(b).lastIndexOf('/'));
}

/** The 24-hex id dispatcher logs for a build (the seeds' `5a4ea0047d560d00011682dc`): fixed per build number. */
function oid(b: ObservedBuild): string {
  return buildOid(b.id);
}

/** The 24-hex id dispatcher logs for build number `id` (both runtimes: the live dispatcher stage writes it too). */
export function buildOid(id: number): string {
  const a = fmix32(id ^ 0x5a4ea004);
  const c = fmix32(a ^ 0x7d560d00);
  return `${hex8(a)}${hex8(c)}${hex8(id)}`;
}

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function lifecycle(name: string, s: LogSources, fromMs: number, out: Entry[]): void {
  for (const e of s.history(name)) {
    if (e.atMs < fromMs || e.atMs > s.nowMs) continue;
    if (e.state === 'running' && (e.cause === 'start' || e.cause === 'unpause')) out.push({ atMs: e.atMs, text: LOG_LINES.starting(name) });
    else if (e.state === 'stopped' && e.cause === 'stop') out.push({ atMs: e.atMs, text: LOG_LINES.sigterm(name) });
  }
}

type Generator = (s: LogSources, fromMs: number, out: Entry[]) => void;

/** One generator per container that writes more than its lifecycle. */
const GENERATORS: Readonly<Record<string, Generator>> = {
  dispatcher(s, fromMs, out) {
    const h = s.history('dispatcher');
    for (const [a] of intervals(h, fromMs, s.nowMs, (st) => st === 'running')) {
      if (a === fromMs && a > 0) continue;
      out.push({ atMs: a, text: LOG_LINES.dispatcherMode });
    }
    for (const b of s.builds) {
      const t = b.build?.enteredRunQueueMs ?? -1;
      if (t >= fromMs && t <= s.nowMs) {
        out.push({ atMs: t, text: LOG_LINES.forwarded(oid(b), slug(b)) });
        out.push({ atMs: t, text: LOG_LINES.usageChanged(oid(b)) });
      }
      if (b.fateAtMs !== undefined && b.fateAtMs >= fromMs && b.fateAtMs <= s.nowMs && (b.fate === 'succeeded' || b.fate === 'failed') && upAt(h, b.fateAtMs)) {
        out.push({ atMs: b.fateAtMs, text: `INFO circle.backend.build.usage-queue got usage-queue event for ${oid(b)} (finished-build)` });
      }
    }
  },
  'picard-dispatcher'(s, fromMs, out) {
    const h = s.history('picard-dispatcher');
    // The heartbeat runs while the process runs and is not hung: its silence is the symptom of a hung dispatcher.
    every(h, fromMs, s.nowMs, PICARD_HEARTBEAT_MS, HEARTBEAT_OFFSET_MS, out, LOG_LINES.stillRunning);
    for (const ob of s.builds) {
      const build = ob.build;
      if (build === undefined) continue;
      if (build.acceptedAtMs >= fromMs && build.acceptedAtMs <= s.nowMs) out.push({ atMs: build.acceptedAtMs, text: LOG_LINES.taking(slug(ob)) });
      const t = build.submittedAtMs;
      if (t >= fromMs && t <= s.nowMs) {
        const rc = build.resourceClass;
        out.push({ atMs: t, text: LOG_LINES.fetchedConfig(project(ob), oid(ob).slice(8)) });
        out.push({ atMs: t, text: LOG_LINES.resourceClass(slug(ob), rc.cpuMilli, rc.memoryMb, rc.name) });
        out.push({ atMs: t, text: LOG_LINES.computedTasks(slug(ob), build.tasksTotal) });
        out.push({ atMs: t, text: LOG_LINES.matchingJobs(slug(ob)) });
      }
    }
  },
  schedulerer(s, fromMs, out) {
    for (const ob of s.builds) {
      const t = ob.build?.submittedAtMs ?? -1;
      if (t >= fromMs && t <= s.nowMs) out.push({ atMs: t, text: LOG_LINES.submitted(slug(ob), ob.build!.nomadJobId) });
    }
  },
  'output-processor'(s, fromMs, out) {
    const h = s.history('output-processor');
    for (const ob of s.builds) {
      const t = ob.build?.firstTaskStartMs ?? -1;
      if (t >= fromMs && t <= s.nowMs && upAt(h, t)) out.push({ atMs: t, text: LOG_LINES.agentConnected(slug(ob)) });
      const f = ob.fateAtMs;
      if (f !== undefined && f >= fromMs && f <= s.nowMs && upAt(h, f) && (ob.fate === 'succeeded' || ob.fate === 'failed')) {
        out.push({ atMs: f, text: LOG_LINES.finalized(slug(ob), ob.fate === 'succeeded') });
      }
    }
  },
  // contexts-service decrypts each context through vault-cci; a failure names what it could not reach.
  'contexts-service'(s, fromMs, out) {
    for (const ob of s.builds) {
      const b = ob.build;
      if (b === undefined || !b.template.usesContexts) continue;
      const f = ob.fateAtMs;
      const unread = ob.fate === 'failed' && ob.reason !== undefined && ob.reason.endsWith('the context could not be read');
      if (unread && f !== undefined && f >= fromMs && f <= s.nowMs) {
        const down = ob.reason!.slice(0, ob.reason!.indexOf(' down'));
        if (down === 'vault-cci') out.push({ atMs: f, text: `ERROR contexts-service.crypto decrypting context for build=${slug(ob)}: Put http://vault-cci:8200/v1/transit/decrypt/contexts: dial tcp vault-cci:8200: connect: connection refused` });
        else if (down === 'postgres') out.push({ atMs: f, text: `ERROR contexts-service.db reading context for build=${slug(ob)}: org.postgresql.util.PSQLException: Connection to postgres:5432 refused` });
      } else if (b.submittedAtMs >= fromMs && b.submittedAtMs <= s.nowMs) out.push({ atMs: b.submittedAtMs, text: `INFO contexts-service.api decrypted context for build=${slug(ob)}` });
    }
  },
  // RabbitMQ 3.6's report format: a header line per report, the alarm the seeds' disk-full failure runs into.
  rabbitmq(s, fromMs, out) {
    for (const [a] of intervals(s.history('rabbitmq'), fromMs, s.nowMs, (st) => st === 'running')) {
      if (a === fromMs && a > 0) continue;
      out.push({ atMs: a, text: `=INFO REPORT==== ${rabbitTime(a)} ===\nServer startup complete; 6 plugins started.` });
    }
    for (const e of s.events) {
      if (e.what !== 'disk-alarm' || e.atMs < fromMs || e.atMs > s.nowMs) continue;
      out.push({ atMs: e.atMs, text: rabbitDiskAlarm(e.detail === 'set', e.atMs) });
    }
  },
  // frontend receives GitHub's push webhooks: one it cannot turn into a build is an error with the reason.
  frontend(s, fromMs, out) {
    for (const ob of s.builds) {
      if (ob.createdAtMs >= fromMs && ob.createdAtMs <= s.nowMs) out.push({ atMs: ob.createdAtMs, text: LOG_LINES.pushAccepted(project(ob), slug(ob)) });
    }
    for (const e of s.events) {
      if (e.what === 'not-triggered' && e.atMs >= fromMs && e.atMs <= s.nowMs) out.push({ atMs: e.atMs, text: LOG_LINES.pushRefused(e.detail.slice(0, e.detail.indexOf(':')), e.detail.slice(e.detail.indexOf(':') + 2)) });
    }
  },
  // notifier (not a container of the profile: a row of the listing) mails the committers of failed builds through exim.
  notifier(s, fromMs, out) {
    const exim = s.history('exim');
    for (const ob of failedBuilds(s, fromMs)) {
      if (upAt(exim, ob.fateAtMs!)) out.push({ atMs: ob.fateAtMs!, text: LOG_LINES.emailSending(slug(ob)) });
      else {
        out.push({ atMs: ob.fateAtMs!, text: LOG_LINES.emailFailed(slug(ob)) });
        out.push({ atMs: ob.fateAtMs!, text: LOG_LINES.emailFailedCause });
      }
    }
  },
  exim(s, fromMs, out) {
    const exim = s.history('exim');
    for (const ob of failedBuilds(s, fromMs)) {
      if (!upAt(exim, ob.fateAtMs!)) continue;
      const id = `1t${ob.id.toString(36).padStart(4, '0')}-000${(ob.id % 10).toString()}Ab-Cd`;
      out.push({ atMs: ob.fateAtMs!, text: `${id} <= builds@circleci.acme.example H=(notifier) [172.17.0.9] P=esmtp S=4821` });
      out.push({ atMs: ob.fateAtMs!, text: `${id} => committer-${ob.id % 7}@acme.example R=dnslookup T=remote_smtp` });
      out.push({ atMs: ob.fateAtMs!, text: `${id} Completed` });
    }
  },
  // slanger pushes each build's status change to the open builds pages (Pusher's protocol): silent while down.
  slanger(s, fromMs, out) {
    const h = s.history('slanger');
    for (const ob of s.builds) {
      const f = ob.fateAtMs;
      if (f === undefined || f < fromMs || f > s.nowMs || ob.fate === undefined || !upAt(h, f)) continue;
      out.push({ atMs: f, text: LOG_LINES.livePushed(slug(ob), ob.fate) });
    }
  },
  // audit-log-service writes the hour's waiting events in one file; an hour it is down has no file, the next holds both.
  'audit-log-service'(s, fromMs, out) {
    const h = s.history('audit-log-service');
    let since = 0;
    for (let t = 3_600_000; t <= s.nowMs; t += 3_600_000) {
      if (!upAt(h, t)) continue;
      const events = 2 * s.builds.filter((b) => b.fateAtMs !== undefined && b.fateAtMs > since && b.fateAtMs <= t).length;
      if (t >= fromMs) out.push({ atMs: t, text: LOG_LINES.auditWritten(events, `audit-logs/audit_log/v1/${isoLogTime(t).slice(0, 13).replace(' ', '/')}.json`) });
      since = t;
    }
  },
  'nomad-metrics'(s, fromMs, out) {
    every(s.history('nomad-metrics'), fromMs, s.nowMs, PERIODIC_LOG_MS, 0, out, LOG_LINES.nomadMetricsPolled);
  },
  telegraf(s, fromMs, out) {
    every(s.history('telegraf'), fromMs, s.nowMs, PERIODIC_LOG_MS, 0, out, LOG_LINES.telegrafWrote);
  },
  'server-usage-stats'(s, fromMs, out) {
    every(s.history('server-usage-stats'), fromMs, s.nowMs, USAGE_STATS_INTERVAL_MS, 0, out, 'INFO usage-stats sent the user count to the CircleCI phone-home endpoint: 200');
  },
  'shutdown-hook-poller'(s, fromMs, out) {
    every(s.history('shutdown-hook-poller'), fromMs, s.nowMs, SHUTDOWN_HOOK_POLL_MS, 0, out, 'INFO shutdown-hook-poller polled frontend for 1.0 Builder shutdown requests: none');
  },
  // Replicated asks server-ready-agent; it answers 503 naming what is not ready, 200 once everything runs (FAQ).
  'ready-agent'(s, fromMs, out) {
    const h = s.history('ready-agent');
    const waited = (s.containers ?? []).filter((c) => !c.migrator && c.name !== 'ready-agent');
    for (let t = Math.ceil(fromMs / REPLICATED_POLL_MS) * REPLICATED_POLL_MS; t <= s.nowMs; t += REPLICATED_POLL_MS) {
      if (!upAt(h, t)) continue;
      const down = waited.filter((c) => !upAt(s.history(c.name), t)).map((c) => c.name);
      out.push({ atMs: t, text: LOG_LINES.readyAgent(down) });
    }
  },
  // test-results parses each build's stored results; those stored while it was down are back-filled at its start.
  'test-results'(s, fromMs, out) {
    const h = s.history('test-results');
    let waiting = 0;
    const finished = s.builds.filter((b) => b.fateAtMs !== undefined && b.fateAtMs <= s.nowMs && b.build?.template.testResults === true && (b.fate === 'succeeded' || b.fate === 'failed'));
    for (const ob of finished.sort((a, b) => a.fateAtMs! - b.fateAtMs! || a.id - b.id)) {
      if (ob.fateAtMs === undefined) continue;
      if (!upAt(h, ob.fateAtMs)) waiting++;
      else if (ob.fateAtMs >= fromMs) out.push({ atMs: ob.fateAtMs, text: `INFO test-results.parser parsed JUnit results for build=${slug(ob)}` });
    }
    for (const e of h) {
      if (e.state === 'running' && e.atMs >= fromMs && e.atMs <= s.nowMs && waiting > 0) out.push({ atMs: e.atMs, text: `INFO test-results.backfill back-filling ${waiting} results stored while the service was down` });
    }
  },
  'vm-gc'(s, fromMs, out) {
    every(s.history('vm-gc'), fromMs, s.nowMs, 10 * 60_000, 0, out, 'INFO vm-gc sweep: looked for stale vm-service instances, terminated those found');
  },
  'vm-scaler'(s, fromMs, out) {
    every(s.history('vm-scaler'), fromMs, s.nowMs, PERIODIC_LOG_MS, 0, out, 'INFO vm-scaler checked the preallocated machine and remote Docker pools');
  },
  'vm-service'(s, fromMs, out) {
    for (const ob of s.builds) {
      const b = ob.build;
      const t = b?.firstTaskStartMs ?? -1;
      if (b === undefined || b.template.executor === 'docker' || t < fromMs || t > s.nowMs) continue;
      out.push({ atMs: t, text: `INFO vm-service.api assigned a ${b.template.executor === 'machine' ? 'machine' : 'remote Docker'} instance to build=${slug(ob)}` });
    }
  },
  'workflows-conductor'(s, fromMs, out) {
    for (const ob of s.builds) {
      if (ob.createdAtMs >= fromMs && ob.createdAtMs <= s.nowMs) out.push({ atMs: ob.createdAtMs, text: `INFO workflows-conductor.workflow job created build=${slug(ob)}` });
    }
  },
  nomad_server(s, fromMs, out) {
    for (const ob of s.builds) {
      const t = ob.build?.submittedAtMs ?? -1;
      if (t >= fromMs && t <= s.nowMs && upAt(s.history('nomad_server'), t)) out.push({ atMs: t, text: `    [INFO] nomad: job registered: job=${ob.build!.nomadJobId} evaluation queued` });
    }
  },
  'vault-cci'(s, fromMs, out) {
    for (const ob of s.builds) {
      const b = ob.build;
      if (b === undefined || !b.template.usesContexts || b.submittedAtMs < fromMs || b.submittedAtMs > s.nowMs || !upAt(s.history('vault-cci'), b.submittedAtMs)) continue;
      out.push({ atMs: b.submittedAtMs, text: '[INFO]  core: transit decrypt for contexts-service: 200' });
    }
  },
  postgres(s, fromMs, out) {
    every(s.history('postgres'), fromMs, s.nowMs, 5 * 60_000, 0, out, 'LOG:  checkpoint starting: time');
  },
  redis(s, fromMs, out) {
    every(s.history('redis'), fromMs, s.nowMs, 15 * 60_000, 0, out, '1:M * 10 changes in 300 seconds. Saving...');
  },
  'tutum/logrotate'(s, fromMs, out) {
    every(s.history('tutum/logrotate'), fromMs, s.nowMs, 3_600_000, 0, out, LOG_LINES.logrotateRotated);
  },
};

/** Services whose own work the model does not trace build by build: a periodic line shows they are alive (or not). */
const PERIODIC_LINES: Readonly<Record<string, string>> = {
  'api-service': 'INFO api-service.graphql served queries: 200',
  'domain-service': 'INFO domain-service.http GET /status 200',
  'permissions-service': 'INFO permissions-service.http GET /status 200',
  'federation-service': 'INFO federation-service.http GET /status 200',
  'cron-service': 'INFO cron-service.scheduler checked the schedules of scheduled workflows',
  fileserved: 'INFO fileserved listening on :3001',
  mongo: 'I NETWORK  [listener] connection accepted from 172.17.0.1',
};

/**
 * A line at every `offset + k·period` within the window while `history` has the container running (a hung
 * container writes nothing: its silence is the symptom).
 */
function every(history: readonly LifeEvent[], fromMs: number, toMs: number, periodMs: number, offsetMs: number, out: Entry[], text: string): void {
  for (const [a, b] of intervals(history, fromMs, toMs, (st) => st === 'running')) {
    const first = Math.max(offsetMs, Math.ceil((a - offsetMs) / periodMs) * periodMs + offsetMs);
    for (let t = first; t < b; t += periodMs) out.push({ atMs: t, text });
  }
}

/** A migrator's run: at the machine's boot and at each start after it was down. Migrators exit once done. */
function migratorRuns(c: ContainerFacts, s: LogSources, out: Entry[]): void {
  const starts = [0, ...s.history(c.name).filter((e) => e.state === 'running' && e.atMs > 0 && e.atMs <= s.nowMs).map((e) => e.atMs)];
  for (const t of starts) {
    out.push({ atMs: t, text: `INFO ${c.name} checking the schema: ${t === 0 ? 'applied pending migrations' : 'no pending migrations'}` });
    out.push({ atMs: t, text: `INFO ${c.name} migrations complete, exiting 0` });
  }
}

/** A service that needs a dependency which is down says so once a minute (every CircleCI service retries its connections). */
function dependencyErrors(c: ContainerFacts, s: LogSources, fromMs: number, out: Entry[]): void {
  const mine = s.history(c.name);
  for (const dep of c.startup_dependencies) {
    const facts = s.containers?.find((x) => x.name === dep);
    if (facts === undefined || facts.migrator) continue;
    for (const [a, b] of intervals(s.history(dep), fromMs, s.nowMs, (st) => st !== 'running')) {
      for (let t = Math.ceil(a / DEPENDENCY_RETRY_LOG_MS) * DEPENDENCY_RETRY_LOG_MS; t < b; t += DEPENDENCY_RETRY_LOG_MS) {
        if (upAt(mine, t)) out.push({ atMs: t, text: LOG_LINES.cannotReach(c.name, dep) });
      }
    }
  }
}

function failedBuilds(s: LogSources, fromMs: number): ObservedBuild[] {
  return s.builds.filter((b) => b.fate === 'failed' && b.fateAtMs !== undefined && b.fateAtMs >= fromMs && b.fateAtMs <= s.nowMs);
}

/**
 * RabbitMQ's report when its disk alarm is set or cleared at a virtual instant (RabbitMQ 3.6's format, the seeds'
 * disk-full failure): the simulation's log and the live stack's (harness/train/live-disk.ts) print this.
 */
export function rabbitDiskAlarm(set: boolean, atMs: number): string {
  const head = `=${set ? 'WARNING' : 'INFO'} REPORT==== ${rabbitTime(atMs)} ===`;
  return set
    ? `${head}\ndisk resource limit alarm set on node rabbit@rabbitmq.\n\n**********************************************************\n*** Publishers will be blocked until this alarm clears ***\n**********************************************************`
    : `${head}\ndisk resource limit alarm cleared on node rabbit@rabbitmq`;
}

/** `5-Jan-2026::10:40:00`: RabbitMQ 3.6's report headers. */
function rabbitTime(virtualMs: number): string {
  return isoLogTime(virtualMs).replace(/^2026-01-(\d\d) /, (_m, d: string) => `${Number(d)}-Jan-2026::`);
}

/** How each container prefixes a line (`log-lines.ts`), at a virtual instant. */
function prefix(name: string, atMs: number): string {
  return linePrefix(name, virtualStamp(atMs));
}

/** The containers with a generator beyond their lifecycle lines. */
export const CHATTY_CONTAINERS: readonly string[] = Object.keys(GENERATORS);

/**
 * The log of a container (canonical name, or `notifier`) up to `nowMs`, oldest first, `tail` lines at most.
 * Lines at the same instant keep the order they were generated in.
 */
export function containerLogs(name: string, s: LogSources, tail?: number): string[] {
  const fromMs = Math.max(0, s.nowMs - LOG_WINDOW_MS);
  const entries: Entry[] = [];
  if (name !== 'notifier') lifecycle(name, s, fromMs, entries);
  GENERATORS[name]?.(s, fromMs, entries);
  const periodic = PERIODIC_LINES[name];
  if (periodic) every(s.history(name), fromMs, s.nowMs, PERIODIC_LOG_MS, 0, entries, periodic);
  const facts = s.containers?.find((c) => c.name === name);
  // A migrator's log is short and never rotated: its boot run is always shown.
  if (facts?.migrator) migratorRuns(facts, s, entries);
  else if (facts !== undefined) dependencyErrors(facts, s, fromMs, entries);
  const sorted = entries.map((e, i) => ({ ...e, i })).sort((a, b) => a.atMs - b.atMs || a.i - b.i);
  const keep = Math.min(MAX_LOG_LINES, tail ?? MAX_LOG_LINES);
  return sorted.slice(Math.max(0, sorted.length - keep)).map((e) => prefix(name, e.atMs) + e.text);
}

/**
 * `nomad logs -stderr <alloc>`: the build agent's standard error. While output-processor cannot be reached on
 * 8585 the agent retries fetching its config and warns as the seeds show ("grpc: the connection is unavailable").
 */
export function allocStderr(alloc: ObservedAlloc, s: LogSources, tail?: number): string[] {
  const end = alloc.endedAtMs ?? s.nowMs;
  const lines: string[] = [];
  for (const [a, b] of intervals(s.history('output-processor'), alloc.placedAtMs, end, (st) => st !== 'running')) {
    for (let t = a; t < b && lines.length < MAX_LOG_LINES; t += AGENT_RETRY_MS) {
      lines.push(LOG_LINES.grpcUnavailable(isoLogTime(t).replace(' ', 'T')));
    }
  }
  return lines.slice(Math.max(0, lines.length - (tail ?? MAX_LOG_LINES)));
}
