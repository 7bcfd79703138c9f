import type { Report } from '../report/types.ts';
import type { SettledFault } from '../scenario/settled.ts';
import type { RawExpectation } from '../scenario/schema.ts';
import { faultEntry, RECOVERY_ACTIONS, STARTUP_ACTIONS } from '../faults/catalogue.ts';
import { DELAY_TOLERANCE_MS } from '../severity.ts';
import type { Severity } from '../../fixtures/schema.ts';

/**
 * The invariants `twin explore` checks on every random fault schedule. Each is a named predicate over one run
 * and the scenario's fault-free baseline (same workload, same seed), documented in sim/explore/README.md.
 */

/** What an invariant sees of one explored run. */
export interface ExploredRun {
  /** The generated fault schedule, in the order the injector applies it. */
  schedule: readonly SettledFault[];
  /** The run's report; absent when the run threw. */
  report: Report | undefined;
  /** The exception's message when the run threw. */
  error: string | undefined;
  /** The fault-free baseline of the same scenario and seed (run once per exploration). */
  baseline: Report;
  /** The documented severity of a fault target under the scenario's topology; null for `nomad_client` and containers outside the table. */
  documented(target: string): Severity | null;
}

/**
 * An invariant: `check` returns null when it does not apply to the run, [] when it holds, and the reasons when it
 * is violated. `expectations` restates it as `expect` entries, so that the reproducer scenario fails `twin run`
 * the same way (absent when `twin run` already fails on its own: a throw, a broken ledger).
 */
export interface Invariant {
  name: string;
  description: string;
  check(run: ExploredRun): string[] | null;
  expectations?(baseline: Report): RawExpectation[];
}

/** A violated invariant and why. */
export interface Violation {
  invariant: string;
  because: string[];
}

/** Every invariant that does not hold for the run, in the order given. */
export function violations(run: ExploredRun, invariants: readonly Invariant[]): Violation[] {
  const out: Violation[] = [];
  for (const inv of invariants) {
    const because = inv.check(run);
    if (because !== null && because.length > 0) out.push({ invariant: inv.name, because });
  }
  return out;
}

/** The model neither throws nor runs into its event limit: every schedule is a run with a report. */
export const runCompletes: Invariant = {
  name: 'run-completes',
  description: 'the run ends normally: the model throws no error and stays within its event limit',
  check(run) {
    if (run.report === undefined) return [`the run threw: ${run.error ?? 'unknown error'}`];
    if (run.report.engine.stop_reason === 'max-events') return [`the run hit its event limit after ${run.report.engine.events} events`];
    return [];
  },
};

/** (a) Every triggered build has exactly one fate, and every webhook was either accepted or dropped. */
export const ledgerConservation: Invariant = {
  name: 'ledger-conservation',
  description: 'succeeded + failed + lost + stuck = triggered, and webhooks received = accepted + dropped',
  check(run) {
    const r = run.report;
    if (r === undefined) return null;
    const because: string[] = [];
    if (!r.ledger.conserved) because.push(`ledger not conserved: ${r.ledger.equation}`);
    const w = r.webhooks;
    if (w.received !== w.accepted + w.dropped) because.push(`webhooks: ${w.received} received ≠ ${w.accepted} accepted + ${w.dropped} dropped`);
    return because;
  },
};

/**
 * Faults that act when the Services machine boots (the catalogue's `atStartupOnly`). The table's severities
 * describe a container failing while the system runs (ready-agent, documented mild: "if unavailable on startup the
 * whole system will fail"), so the invariants that read the documented severity (b, c) do not judge schedules
 * holding one.
 */
export { STARTUP_ACTIONS };

/** Whether every fault of the schedule happens during operation and targets a container documented as one of `levels`. */
function onlyOn(run: ExploredRun, levels: readonly Severity[]): boolean {
  return run.schedule.every((f) => !STARTUP_ACTIONS.has(f.action) && levels.includes(run.documented(f.target) as Severity));
}

/** A report's numeric fields under `group`, by name (read from the report, so fields the model adds are checked too). */
function countsOf(r: Report, group: 'builds' | 'data_loss'): [string, number][] {
  return Object.entries(r[group] as unknown as Record<string, number>).filter((e): e is [string, number] => typeof e[1] === 'number');
}

/** (b) Faults only on containers documented as mild affect no build. */
export const mildFaultsAffectNoBuild: Invariant = {
  name: 'mild-faults-affect-no-build',
  description:
    "when every fault happens during operation and targets a container documented as mild, every build count (triggered, fates, not triggered, retried) equals the baseline's and the longest queue time exceeds the baseline's by at most the classifier's delay tolerance",
  check(run) {
    const r = run.report;
    if (r === undefined || !onlyOn(run, ['mild'])) return null;
    const b0 = run.baseline.builds as unknown as Record<string, number>;
    const because = countsOf(r, 'builds')
      .filter(([k, v]) => v !== b0[k])
      .map(([k, v]) => `builds.${k}: ${v} (baseline ${b0[k]})`);
    const delay = r.queue_time_ms.max - run.baseline.queue_time_ms.max;
    if (delay > DELAY_TOLERANCE_MS) because.push(`builds delayed: max queue time ${r.queue_time_ms.max} ms, baseline ${run.baseline.queue_time_ms.max} ms (tolerance ${DELAY_TOLERANCE_MS} ms)`);
    return because;
  },
  expectations(baseline) {
    return [...countsOf(baseline, 'builds').map(([k, v]) => ({ metric: `builds.${k}`, equals: v })), { metric: 'queue_time_ms.max', max: baseline.queue_time_ms.max + DELAY_TOLERANCE_MS }];
  },
};

/**
 * Kinds of `data_loss` that were never durably stored: the live output of running steps, held in redis while they
 * run (losing it is redis's documented moderate effect). Every other kind counts.
 */
export const NOT_DURABLE: ReadonlySet<string> = new Set(['live_step_output']);

/**
 * (c) Faults only on containers documented as mild or moderate lose no stored data. Strict: data a fault loses
 * through a cascade (a long logrotate outage filling the disk) counts too, so such cascades surface here.
 */
export const mildModerateFaultsLoseNoData: Invariant = {
  name: 'mild-moderate-faults-lose-no-data',
  description:
    'when every fault happens during operation and targets a container documented as mild or moderate, no more durably stored data (step output, artifacts, test results, audit events, records: every data_loss kind but live step output) is lost than in the baseline',
  check(run) {
    const r = run.report;
    if (r === undefined || !onlyOn(run, ['mild', 'moderate'])) return null;
    const d0 = run.baseline.data_loss as unknown as Record<string, number>;
    return countsOf(r, 'data_loss')
      .filter(([k, v]) => !NOT_DURABLE.has(k) && v > (d0[k] ?? 0))
      .map(([k, v]) => `data_loss.${k}: ${v} (baseline ${d0[k] ?? 0})`);
  },
  expectations(baseline) {
    return countsOf(baseline, 'data_loss')
      .filter(([k]) => !NOT_DURABLE.has(k))
      .map(([k, v]) => ({ metric: `data_loss.${k}`, max: v }));
  },
};

/**
 * Whether every fault of the schedule is undone by the end: it carries `for`, or a later action on the same
 * target ends it (the catalogue's `endedBy`). Counts of `nomad_client` faults are not compared: a later recovery of the target
 * ends all its earlier faults.
 */
export function isHealed(schedule: readonly SettledFault[]): boolean {
  return schedule.every((f, i) => {
    if (RECOVERY_ACTIONS.has(f.action)) return true;
    if (f.forMs !== undefined) return true;
    // The catalogue's `endedBy`: actions with none (wipe_state, terminate_instance, restore, a drain without `for`)
    // leave lasting damage, so a schedule holding one is never healed.
    const enders = faultEntry(f.action).endedBy;
    return schedule.some((g, j) => j > i && g.target === f.target && g.atMs >= f.atMs && enders.includes(g.action));
  });
}

/**
 * Faults that reach the stores documented severe whatever their target names: a full disk stops the stores that
 * write to it; stopping the whole Services machine (`replicatedctl app stop`) stops all of them, and builds that end
 * meanwhile are left Running (output-processor down), which no later start undoes.
 */
function reachesSevereStores(f: SettledFault): boolean {
  return f.action === 'disk_fill' || (f.target === 'services_machine' && f.action === 'stop');
}

/**
 * (d) Once every fault has healed, the backlog drains: no more builds are left stuck than in the baseline. Faults on
 * containers documented as severe are outside it: leaving running builds corrupt (stuck Running) or stranding
 * accepted work is their documented effect, which no later restart undoes. So is `disk_fill`: a full disk stops
 * the stores that write to it (postgres, mongo, rabbitmq: all documented severe), whatever frees it later, and so is a
 * stop of the whole Services machine (it stops them all).
 */
export const healedBacklogDrains: Invariant = {
  name: 'healed-backlog-drains',
  description:
    "when every fault is undone (by `for` or a later restart, start, unpause or heal) and none targets a container documented as severe, the backlog drains within the run's drain bound: no more builds stuck than in the baseline",
  check(run) {
    const r = run.report;
    if (r === undefined || !isHealed(run.schedule) || run.schedule.some((f) => reachesSevereStores(f) || run.documented(f.target) === 'severe')) return null;
    return r.builds.stuck > run.baseline.builds.stuck ? [`${r.builds.stuck} builds stuck (baseline ${run.baseline.builds.stuck}) although every fault healed`] : [];
  },
  expectations(baseline) {
    return [{ metric: 'builds.stuck', max: baseline.builds.stuck }];
  },
};

/** The invariants `twin explore` checks, in order. */
export const INVARIANTS: readonly Invariant[] = [runCompletes, ledgerConservation, mildFaultsAffectNoBuild, mildModerateFaultsLoseNoData, healedBacklogDrains];
