import type { Container } from '../../fixtures/schema.ts';
import type { AffectedBuild, DataLoss, Report, Symptom } from '../report/types.ts';
import type { SettledFault } from '../scenario/settled.ts';
import type { ServiceState, StateCause } from '../models/services/registry.ts';
import { parseCannotReach, parseUndelivered } from './log-lines.ts';
import { gaugeGaps, type GaugeFlush } from './gauge-gaps.ts';
import { compareSymptoms, culpritOf, dueBetween, LOSS_SEEN, LOSS_STORES, STEADY_PERIODIC, statusSymptoms, tally, type StateChange } from './observer.ts';

/**
 * The symptoms of a live run (`twin run --mode live`), from what the live stack observed: the faults it carried
 * out on the containers (so `docker ps`, the health endpoints and ready-agent's 503 while each was down), every
 * build's fate and reason as PostgreSQL holds them (the builds page; a failure mailed through exim; a status
 * change slanger pushes), the data the stores lost (audit events recorded by the stages and not persisted among
 * them), the UI and API requests that failed, and the periodic work of a container that was down (Replicated's
 * readiness poll, the usage stats, picard-dispatcher's heartbeat, the statsd flushes telegraf and nomad-metrics
 * forward). The same kinds and words as the simulation's observer (`observer.ts`), so the two can be compared.
 * Pure: the caller (harness/live/replay/account.ts) reads the stack and passes what it saw.
 */
export interface LiveSymptomInput {
  /** The version profile's containers. */
  containers: readonly Container[];
  /** The scenario's faults (the live run applies them at their times). */
  faults: readonly SettledFault[];
  /** When the run ended (scenario ms): a container still down then was down until the end. */
  endedAtMs: number;
  /** Every build or webhook that did not succeed, with its fate and reason (before a report cuts the list). */
  outcomes: readonly Pick<AffectedBuild, 'fate' | 'reason' | 'at_ms'>[];
  dataLoss: DataLoss;
  /** The UI and API requests made and those that failed (by kind). */
  ui: Report['ui'];
  /** The statsd flush interval (ms, the profile's): one metrics gap per flush while telegraf or nomad-metrics is down. */
  flushMs: number;
  /**
   * What the live services wrote in their own logs during the run (scenario ms; `LiveStack.logEntries`): each
   * `cannot reach <dependency>` a service said is a symptom of that dependency, seen in that service's log; each
   * mail notifier could not hand to exim and each status change it could not push to slanger is theirs. Given, the
   * emails and live updates are counted from notifier's lines only, not inferred from when exim or slanger was down.
   */
  serviceLogs?: readonly { container: string; atMs: number; text: string }[];
  /**
   * What telegraf wrote at each of its flushes (scenario ms; `LiveStack.gaugeFlushes`), every `periodMs`. Given,
   * the metric gaps of telegraf and nomad-metrics are read from these series (`gauge-gaps.ts`), not inferred from
   * when either was down.
   */
  gauges?: { flushes: readonly GaugeFlush[]; periodMs: number };
}

const DOWN: Partial<Record<string, { state: ServiceState; cause: StateCause }>> = {
  kill: { state: 'stopped', cause: 'kill' },
  stop: { state: 'stopped', cause: 'stop' },
  pause: { state: 'paused', cause: 'pause' },
};
const UP: Partial<Record<string, StateCause>> = { start: 'start', unpause: 'unpause', restart: 'start' };

/** The containers' state changes the faults made (a `for` undoes its fault after `forMs`), in time order. */
export function faultHistory(faults: readonly SettledFault[], containers: ReadonlySet<string>, endedAtMs: number): StateChange[] {
  const out: StateChange[] = [];
  for (const f of faults) {
    if (f.atMs > endedAtMs) continue;
    const targets = f.target === 'services_machine' && (f.action === 'stop' || f.action === 'start') ? [...containers] : containers.has(f.target) ? [f.target] : [];
    const down = DOWN[f.action];
    for (const name of targets) {
      if (down !== undefined) {
        out.push({ atMs: f.atMs, name, ...down });
        if (f.forMs !== undefined && f.atMs + f.forMs <= endedAtMs) out.push({ atMs: f.atMs + f.forMs, name, state: 'running', cause: f.action === 'pause' ? 'unpause' : 'start' });
      } else if (f.action === 'restart') {
        out.push({ atMs: f.atMs, name, state: 'stopped', cause: 'stop' }, { atMs: f.atMs, name, state: 'running', cause: 'start' });
      } else if (UP[f.action] !== undefined) out.push({ atMs: f.atMs, name, state: 'running', cause: UP[f.action]! });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** Each container's intervals away from `running` ([from, to), to the run's end if it never came back). */
export function downIntervals(history: readonly StateChange[], endedAtMs: number): Map<string, [number, number][]> {
  const open = new Map<string, number>();
  const out = new Map<string, [number, number][]>();
  for (const e of history) {
    const since = open.get(e.name);
    if (e.state !== 'running' && since === undefined) open.set(e.name, e.atMs);
    else if (e.state === 'running' && since !== undefined) {
      open.delete(e.name);
      if (e.atMs > since) out.set(e.name, [...(out.get(e.name) ?? []), [since, e.atMs]]);
    }
  }
  for (const [name, since] of open) out.set(name, [...(out.get(name) ?? []), [since, Math.max(since, endedAtMs)]]);
  return out;
}

export function liveSymptoms(input: LiveSymptomInput): Symptom[] {
  const seen = new Map<string, Symptom>();
  const names = new Set(input.containers.map((c) => c.name));
  const byName = new Map(input.containers.map((c) => [c.name, c]));
  const history = faultHistory(input.faults, names, input.endedAtMs);
  const down = downIntervals(history, input.endedAtMs);
  const downAt = (name: string, atMs: number) => (down.get(name) ?? []).some(([a, b]) => atMs >= a && atMs < b);
  statusSymptoms(history, byName, names.has('ready-agent'), (c, v, w, at, n, where) => tally(seen, c, v, w, at, n, where));

  for (const o of input.outcomes) {
    if (o.fate === 'succeeded') continue;
    tally(seen, culpritOf(o.reason, names), 'builds', `${o.fate.replace('_', ' ')}: ${o.reason.slice(0, 120)}`, o.at_ms);
    // With the services' logs, notifier's own lines say what was not mailed or pushed (below).
    if (o.fate === 'not_triggered' || o.fate === 'retried' || input.serviceLogs !== undefined) continue;
    if (names.has('slanger') && downAt('slanger', o.at_ms)) tally(seen, 'slanger', 'live-updates', `a build's status change (${o.fate}) was not pushed to open builds pages`, o.at_ms);
    if (o.fate === 'failed' && names.has('exim') && downAt('exim', o.at_ms)) {
      tally(seen, 'exim', 'email', 'a :build-failed email was not sent', o.at_ms);
      tally(seen, 'exim', 'logs', 'notifier: Could not connect to SMTP host: exim, port: 25', o.at_ms, 1, 'sudo docker logs notifier');
    }
  }

  // Observed, not inferred: a service said it could not reach a dependency. Attributed to the dependency when it is
  // a container of the profile (object storage, say, is not), else to the service that said it.
  for (const e of input.serviceLogs ?? []) {
    const undelivered = e.container === 'notifier' ? parseUndelivered(e.text) : undefined;
    if (undelivered?.to === 'exim' && names.has('exim')) {
      tally(seen, 'exim', 'email', 'a :build-failed email was not sent', e.atMs);
      tally(seen, 'exim', 'logs', 'notifier: Could not connect to SMTP host: exim, port: 25', e.atMs, 1, 'sudo docker logs notifier');
    }
    if (undelivered?.to === 'slanger' && names.has('slanger')) tally(seen, 'slanger', 'live-updates', `a build's status change (${undelivered.fate}) was not pushed to open builds pages`, e.atMs);
    const said = parseCannotReach(e.text);
    if (said === undefined) continue;
    tally(seen, names.has(said.dependency) ? said.dependency : e.container, 'logs', `${e.container}: cannot reach ${said.dependency}`, e.atMs, 1, `sudo docker logs ${e.container}`);
  }

  for (const p of STEADY_PERIODIC) for (const [from, to] of names.has(p.container) ? (down.get(p.container) ?? []) : []) tally(seen, p.container, p.view, p.what, to, dueBetween(p.periodMs, p.offsetMs ?? 0, from, to), p.where);
  const gapWhat = { telegraf: 'no metric was forwarded for a flush interval (every gauge has a gap)', 'nomad-metrics': 'circle.nomad.* gauges were not reported for a flush interval' } as const;
  if (input.gauges !== undefined) {
    // Observed: the holes in the series telegraf wrote.
    for (const g of gaugeGaps(input.gauges.flushes, { periodMs: input.gauges.periodMs, flushMs: input.flushMs, fromMs: 0, toMs: input.endedAtMs })) if (names.has(g.container)) tally(seen, g.container, 'metrics', gapWhat[g.container], g.toMs, g.flushes);
  } else {
    for (const c of ['telegraf', 'nomad-metrics'] as const) for (const [from, to] of down.get(c) ?? []) tally(seen, c, 'metrics', gapWhat[c], to, dueBetween(input.flushMs, 0, from, to));
  }

  // Losses and failed requests carry no time of their own here: each is attributed to the first container it
  // needs that was down during the run (the first to go down), and dated at that container's first outage.
  const firstDown = (candidates: readonly string[]) =>
    candidates
      .filter((n) => down.has(n))
      .map((n) => ({ n, at: down.get(n)![0]![0] }))
      .sort((a, b) => a.at - b.at)[0];
  for (const [kind, amount] of Object.entries(input.dataLoss) as [keyof DataLoss, number][]) {
    if (amount <= 0) continue;
    const who = firstDown(LOSS_STORES[kind]);
    tally(seen, who?.n ?? 'pipeline', 'builds', `${kind.replaceAll('_', ' ')} lost (${LOSS_SEEN[kind]})`, who?.at ?? input.endedAtMs, amount);
  }
  const anyDown = firstDown([...down.keys()]);
  for (const [kind, n] of Object.entries(input.ui.failed_by_kind)) if (n > 0) tally(seen, anyDown?.n ?? 'pipeline', 'ui', `${kind} fails`, anyDown?.at ?? input.endedAtMs, n);
  return [...seen.values()].sort(compareSymptoms);
}
