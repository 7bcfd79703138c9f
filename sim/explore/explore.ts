import fc from 'fast-check';
import type { Parameters as CheckParameters } from 'fast-check';
import { parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { Twin } from '../twin.ts';
import { buildReport } from '../report/build-report.ts';
import type { Report } from '../report/types.ts';
import { SIM_FAULT_ACTIONS, undoOf } from '../faults/catalogue.ts';
import { parseScenario, ScenarioError, type ScenarioContext } from '../scenario/parse.ts';
import type { FaultAction, RawExpectation } from '../scenario/schema.ts';
import type { SettledFault, SettledScenario } from '../scenario/settled.ts';
import { formatDurationMs } from '../util/duration.ts';
import { documentedSeverity, findContainer } from '../../fixtures/lookup.ts';
import type { Profile, Severity } from '../../fixtures/schema.ts';
import { INVARIANTS, violations, type ExploredRun, type Invariant, type Violation } from './invariants.ts';

/**
 * `twin explore`: random fault schedules (fast-check) run against a scenario's workload, each checked against
 * the invariants of `invariants.ts`; a failing schedule is shrunk to a minimal one. Pure and deterministic:
 * the same scenario, options and seed explore the same schedules in the same order.
 */

/** One (action, target) pair a generated fault may use. */
export interface FaultKind {
  action: FaultAction;
  /** Canonical container name, `nomad_client` or `services_machine`. */
  target: string;
  /** Whether `for:` may undo it. */
  undoable: boolean;
  /** Whether it may happen at 0s (when the Services machine boots), and whether later. */
  atStart: boolean;
  later: boolean;
}

/** Limits of generated schedules. */
export const SCHEDULE_LIMITS = {
  minFaults: 1,
  maxFaults: 4,
  /** Bounds of a generated `for:` (seconds): from ten seconds to two hours, and never longer than the workload. */
  minForS: 10,
  maxForS: 7_200,
} as const;

/**
 * The fault kinds the exploration draws from: every action the simulation models (`actions`, by default
 * SIM_FAULT_ACTIONS as it stands) against every container of the profile, `nomad_client` and `services_machine`,
 * kept only when the scenario validator accepts that action on that target at the start of the run or later
 * (some faults apply only when the Services machine boots). The validator is the one judge of applicability, so
 * a generated schedule always makes a valid scenario file.
 */
export function faultKinds(scenario: SettledScenario, profile: Profile, context: ScenarioContext, actions: ReadonlySet<FaultAction> = SIM_FAULT_ACTIONS, targets?: readonly string[]): FaultKind[] {
  const all = [...profile.containers.map((c) => c.name), ...(scenario.topology.nomadClients.count > 0 ? ['nomad_client'] : []), 'services_machine'];
  const wanted = targets === undefined ? all : all.filter((t) => targets.includes(t));
  const ordered = [...actions].sort();
  const pairs = wanted.flatMap((target) => ordered.map((action): Pair => [action, target]));
  const atStart = accepted(scenario.version, pairs, '0s', context);
  const later = accepted(scenario.version, pairs, '30m', context);
  const kinds: FaultKind[] = [];
  pairs.forEach(([action, target], i) => {
    if (atStart[i] || later[i]) kinds.push({ action, target, undoable: undoOf(action) !== undefined, atStart: atStart[i] === true, later: later[i] === true });
  });
  return kinds;
}

type Pair = [FaultAction, string];

/**
 * Which (action, target) pairs the validator accepts at time `at`: one probe scenario holding them all, whose
 * issues name the faults refused; the accepted ones are then checked together, falling back to a probe per pair
 * if a refusal hid another (schema errors stop the semantic checks).
 */
function accepted(version: string, pairs: readonly Pair[], at: string, context: ScenarioContext): boolean[] {
  const first = probe(version, pairs, at, context);
  if (first === true) return pairs.map(() => true);
  const ok = pairs.map((_, i) => !first.has(i));
  const kept = pairs.filter((_, i) => ok[i]);
  if (kept.length === 0 || probe(version, kept, at, context) === true) return ok;
  return pairs.map((pair) => probe(version, [pair], at, context) === true);
}

/** True when the probe validates; otherwise the indices of the faults with issues. */
function probe(version: string, pairs: readonly Pair[], at: string, context: ScenarioContext): true | Set<number> {
  const text = [
    'name: probe',
    `version: "${version}"`,
    'duration: 1h',
    'topology: { nomad_clients: { count: 1 } }',
    'workload: { arrivals: { kind: poisson, rate_per_hour: 1 }, jobs: [ { duration: 1m } ] }',
    'faults:',
    ...pairs.map(([action, target]) => `  - { at: ${at}, action: ${action}, target: ${JSON.stringify(target)}${target === 'nomad_client' ? ', count: 1' : ''} }`),
  ].join('\n');
  try {
    parseScenario(text, 'probe.yaml', context);
    return true;
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    const bad = new Set<number>();
    for (const issue of e.issues) {
      const m = /^faults\[(\d+)\]/.exec(issue.field);
      if (m === null) throw new Error(`the fault probe scenario is invalid outside its faults: ${e.message}`);
      bad.add(Number(m[1]));
    }
    return bad;
  }
}

/** A generated fault before it is settled: indices and whole seconds, which fast-check shrinks towards 0. */
export interface GeneratedFault {
  kind: number;
  atS: number;
  forS: number | undefined;
  count: number;
}

/** The fast-check arbitrary of schedules over `kinds` for a scenario. */
export function scheduleArbitrary(scenario: SettledScenario, kinds: readonly FaultKind[], maxFaults: number = SCHEDULE_LIMITS.maxFaults): fc.Arbitrary<GeneratedFault[]> {
  if (kinds.length === 0) throw new Error('no fault kinds to explore: no modelled action applies to any target');
  const durationS = Math.floor(scenario.durationMs / 1000);
  const maxForS = Math.max(SCHEDULE_LIMITS.minForS, Math.min(durationS, SCHEDULE_LIMITS.maxForS));
  const fleet = Math.max(1, scenario.topology.nomadClients.count);
  const fault = fc.record({
    kind: fc.integer({ min: 0, max: kinds.length - 1 }),
    atS: fc.integer({ min: 0, max: durationS }),
    forS: fc.option(fc.integer({ min: SCHEDULE_LIMITS.minForS, max: maxForS }), { nil: undefined, freq: 2 }),
    count: fc.integer({ min: 1, max: fleet }),
  });
  // minLength 0 and a filter rather than minLength 1: fast-check's array shrinker keeps a schedule's first fault
  // while it shrinks the rest only down to the minimum length of the rest, so with minLength 1 it could never
  // drop a second fault that plays no part in the failure.
  return fc.array(fault, { minLength: 0, maxLength: Math.max(SCHEDULE_LIMITS.minFaults, maxFaults) }).filter((s) => s.length >= SCHEDULE_LIMITS.minFaults);
}

/** Settles a generated schedule: kinds resolved, `for` kept only where it can undo, sorted by time (stable), as `settle()` would. */
export function settleSchedule(generated: readonly GeneratedFault[], kinds: readonly FaultKind[]): SettledFault[] {
  const faults = generated.map((g): SettledFault => {
    const kind = kinds[g.kind];
    if (kind === undefined) throw new Error(`fault kind ${g.kind} out of range (${kinds.length} kinds)`);
    // A kind valid only at boot happens at 0s; one valid only later happens a second in at the earliest.
    const atS = !kind.later ? 0 : !kind.atStart ? Math.max(1, g.atS) : g.atS;
    return {
      atMs: atS * 1000,
      action: kind.action,
      target: kind.target,
      writtenTarget: kind.target,
      ...(kind.undoable && g.forS !== undefined ? { forMs: g.forS * 1000 } : {}),
      count: kind.target === 'nomad_client' ? g.count : 1,
    };
  });
  return faults.map((f, i) => ({ f, i })).sort((a, b) => a.f.atMs - b.f.atMs || a.i - b.i).map(({ f }) => f);
}

/** Runs a scenario (with whatever faults it carries) to its report. Replaceable for tests. */
export type ExploreRunner = (scenario: SettledScenario, profile: Profile) => Report;

export const twinRunner: ExploreRunner = (scenario, profile) => {
  const twin = new Twin(scenario, profile);
  twin.run();
  return buildReport(twin);
};

export interface ExploreOptions {
  /** Schedules to generate (fast-check's numRuns); shrinking a failure runs more. */
  runs: number;
  /** fast-check's seed: with the scenario and options it fixes every schedule explored. */
  seed: number;
  /** fast-check's path of a failure, to replay exactly that schedule (and its shrinking) without searching. */
  path?: string;
  /** Validates generated faults (`fixtureContext()` in the harness). */
  context: ScenarioContext;
  invariants?: readonly Invariant[];
  /** Fault actions to draw from (default SIM_FAULT_ACTIONS, read when called). */
  actions?: ReadonlySet<FaultAction>;
  /** Restrict targets to these canonical names (default: every container, nomad_client and services_machine). */
  targets?: readonly string[];
  maxFaults?: number;
  /** Called after each schedule run (shrinking included). */
  onProgress?: (schedulesRun: number, runs: number) => void;
  /** Replaces the simulation (tests inject bugs through it). */
  runner?: ExploreRunner;
}

/** A failing schedule as found and as shrunk, with what it violated. */
export interface ExploreFailure {
  /** The minimal schedule after shrinking. */
  schedule: SettledFault[];
  /** The first failing schedule, before shrinking. */
  original: SettledFault[];
  violations: Violation[];
  /** The minimal schedule's report (absent when it threw). */
  report: Report | undefined;
  error: string | undefined;
  /** fast-check's replay path. */
  path: string;
  shrinks: number;
}

export interface ExploreResult {
  scenario: string;
  seed: number;
  runs: number;
  /** Schedules actually run: `runs` when clean, fewer plus the shrinking steps when one failed. */
  schedulesRun: number;
  kinds: FaultKind[];
  invariants: string[];
  baseline: Report;
  failure: ExploreFailure | undefined;
}

/**
 * Explores random fault schedules against the scenario's workload (its own faults are replaced). The baseline
 * (no faults) runs once and is shared by every check.
 */
export function explore(scenario: SettledScenario, profile: Profile, opts: ExploreOptions): ExploreResult {
  const runner = opts.runner ?? twinRunner;
  const invariants = opts.invariants ?? INVARIANTS;
  const kinds = faultKinds(scenario, profile, opts.context, opts.actions ?? SIM_FAULT_ACTIONS, opts.targets);
  const quiet: SettledScenario = { ...scenario, faults: [], expect: [] };
  const baseline = runner(quiet, profile);
  const conditions = { ldap: scenario.topology.auth === 'ldap', storage: scenario.topology.storage };
  const severities = new Map<string, Severity | null>();
  const documented = (target: string): Severity | null => {
    if (!severities.has(target)) {
      const c = findContainer(profile, target);
      severities.set(target, c === undefined ? null : documentedSeverity(c, conditions));
    }
    return severities.get(target) ?? null;
  };

  const runSchedule = (schedule: SettledFault[]): ExploredRun => {
    try {
      return { schedule, report: runner({ ...quiet, faults: schedule }, profile), error: undefined, baseline, documented };
    } catch (e) {
      return { schedule, report: undefined, error: e instanceof Error ? e.message : String(e), baseline, documented };
    }
  };

  let schedulesRun = 0;
  let original: SettledFault[] | undefined;
  const property = fc.property(scheduleArbitrary(scenario, kinds, opts.maxFaults), (generated) => {
    const schedule = settleSchedule(generated, kinds);
    const run = runSchedule(schedule);
    schedulesRun++;
    opts.onProgress?.(schedulesRun, opts.runs);
    const failed = violations(run, invariants).length > 0;
    if (failed && original === undefined) original = schedule;
    return !failed;
  });
  const details = fc.check(property, checkParameters(opts));

  let failure: ExploreFailure | undefined;
  if (details.failed && details.counterexample !== null) {
    const schedule = settleSchedule(details.counterexample[0], kinds);
    const run = runSchedule(schedule);
    failure = {
      schedule,
      original: original ?? schedule,
      violations: violations(run, invariants),
      report: run.report,
      error: run.error,
      path: details.counterexamplePath ?? '',
      shrinks: details.numShrinks,
    };
  } else if (details.failed) {
    // fast-check failed without a counterexample: the property itself threw outside a run (a bug here).
    const cause: unknown = details.errorInstance;
    throw new Error(`exploration aborted: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  return { scenario: scenario.name, seed: opts.seed, runs: opts.runs, schedulesRun, kinds, invariants: invariants.map((i) => i.name), baseline, failure };
}

/** fast-check's parameters of an exploration: `explore` and `plannedSchedules` share them, so they draw the same schedules. */
function checkParameters(opts: Pick<ExploreOptions, 'runs' | 'seed' | 'path'>): CheckParameters<[GeneratedFault[]]> {
  return { seed: opts.seed, numRuns: opts.runs, endOnFailure: false, ...(opts.path === undefined ? {} : { path: opts.path }) };
}

/**
 * The schedules `explore` with the same arguments runs before any failure, in order. fast-check draws run i's
 * schedule from the seed and i alone, never from earlier outcomes, so these can be run elsewhere first (on a
 * distributed queue) and handed to `explore` through its `runner`; the shrinking after a failure is not planned.
 */
export function plannedSchedules(scenario: SettledScenario, profile: Profile, opts: Omit<ExploreOptions, 'invariants' | 'onProgress' | 'runner'>): SettledFault[][] {
  const kinds = faultKinds(scenario, profile, opts.context, opts.actions ?? SIM_FAULT_ACTIONS, opts.targets);
  const planned: SettledFault[][] = [];
  const property = fc.property(scheduleArbitrary(scenario, kinds, opts.maxFaults), (generated) => {
    planned.push(settleSchedule(generated, kinds));
    return true;
  });
  fc.check(property, checkParameters(opts));
  return planned;
}

/** A fault as a scenario file writes it. */
export function faultText(f: SettledFault): string {
  const parts = [`at: ${formatDurationMs(f.atMs)}`, `action: ${f.action}`, `target: ${f.writtenTarget}`];
  if (f.forMs !== undefined) parts.push(`for: ${formatDurationMs(f.forMs)}`);
  if (f.target === 'nomad_client') parts.push(`count: ${f.count}`);
  return `{ ${parts.join(', ')} }`;
}

export interface ReproducerOptions {
  /** Name of the written scenario (unique: e.g. `<name>-explore-<seed>`). */
  name: string;
  /** The simulation seed of the explored scenario (written explicitly so `--seed` defaults do not shift it). */
  seed: number;
  schedule: readonly SettledFault[];
  /** The violated invariants' expectations, checked by `twin run`. */
  expect: readonly RawExpectation[];
  /** Comment lines for the top of the file (what failed, the replay commands). */
  comment: readonly string[];
  /** A new path for a trace arrivals file, relative to where the reproducer is written. */
  traceFile?: string;
}

/**
 * The original scenario file with its `faults:` replaced by the minimal schedule and its `expect:` by the
 * violated invariants, so that `twin run` of the written file fails the way the exploration did.
 */
export function reproducerYaml(originalText: string, opts: ReproducerOptions): string {
  const doc = parseDocument(originalText);
  doc.set('name', opts.name);
  doc.set('seed', opts.seed);
  doc.set('faults', flowSeq(doc, opts.schedule.map(rawFault)));
  if (opts.expect.length > 0) doc.set('expect', flowSeq(doc, opts.expect));
  else doc.delete('expect');
  if (opts.traceFile !== undefined) doc.setIn(['workload', 'arrivals', 'file'], opts.traceFile);
  const previous = doc.commentBefore ? `\n${doc.commentBefore}` : '';
  doc.commentBefore = `${opts.comment.map((l) => ` ${l}`).join('\n')}${previous}`;
  return doc.toString({ lineWidth: 0 });
}

function rawFault(f: SettledFault): Record<string, string | number> {
  return {
    at: formatDurationMs(f.atMs),
    action: f.action,
    target: f.writtenTarget,
    ...(f.forMs === undefined ? {} : { for: formatDurationMs(f.forMs) }),
    ...(f.target === 'nomad_client' ? { count: f.count } : {}),
  };
}

function flowSeq(doc: Document, items: readonly object[]): YAMLSeq {
  const seq = doc.createNode(items) as YAMLSeq;
  for (const item of seq.items) (item as YAMLMap).flow = true;
  return seq;
}

/** The expectations restating every violated invariant that can be restated (de-duplicated by metric). */
export function reproducerExpectations(failure: ExploreFailure, baseline: Report, invariants: readonly Invariant[] = INVARIANTS): RawExpectation[] {
  const out: RawExpectation[] = [];
  const seen = new Set<string>();
  for (const v of failure.violations) {
    const inv = invariants.find((i) => i.name === v.invariant);
    for (const e of inv?.expectations?.(baseline) ?? []) {
      const key = `${e.metric}:${Object.keys(e).join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(e);
    }
  }
  return out;
}
