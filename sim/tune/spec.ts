import type { RawTune } from '../scenario/schema.ts';
import { SELF_REFERENTIAL, type Expectation } from '../report/expectations.ts';
import { isDurationMetric, leafPaths } from '../report/paths.ts';
import { suggest } from '../util/suggest.ts';
import { checkSweepKey } from './overrides.ts';
import { checkAxes, checkValues, type SweepAxis } from './sweep.ts';
import { parseTargets } from './targets.ts';
import { TuneInputError } from './tune-input-error.ts';
import type { TuneCell } from './tune-result.ts';

/**
 * A scenario's `tune:` section: the sweep `twin tune FILE` runs when no `--sweep` is given, and `expect` lines
 * on its tune.json, so that a study's conclusion is asserted by one command.
 *
 * In `tune.expect`, `recommended` stands for the recommended cell's whole row (its `cells` entry, with
 * `queue_time_ms_p95` as in tune.json's `recommended`): `recommended.params.topology.nomad_clients.count`,
 * `recommended.utilisation.mean_cpu`, `recommended.capacity_wait_ms.p95`; `cells.N.…` and `pareto.N.…` name the
 * rest. A path that does not exist in the result (no recommended cell) fails the expectation, as in `twin run`.
 */

/** One problem of a `tune:` section: the path under `tune` it is at, what, and a hint. */
export interface TuneSpecIssue {
  path: (string | number)[];
  message: string;
  hint: string;
}

/** The sweep axes of a `tune:` section, in file order. */
export function specAxes(spec: RawTune): SweepAxis[] {
  return Object.entries(spec.sweep).map(([key, values]) => ({ key, values }));
}

/** A tune.json of one cell whose params are `keys`, with every optional part present: the paths `tune.expect` may name. */
function sampleResult(keys: readonly string[]): object {
  const pct = { mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const iv = { mean: 0, half_width: 0, low: 0, high: 0, n: 2 };
  const params = Object.fromEntries(keys.map((k) => [k, 0]));
  const cost = { total_per_day: 0, machines_per_day: 0, vm_service_per_day: 0, waiting_per_day: 0 };
  const cell: TuneCell = {
    cell: 0,
    params,
    seeds: [0],
    replications: 1,
    cost_per_day: 0,
    cost,
    queue_time_ms: pct,
    capacity_wait_ms: pct,
    utilisation: { mean_cpu: 0, peak_cpu: 0, fragmentation: 0 },
    throughput: { builds_per_hour: 0, peak_builds_per_hour: 0, tasks_completed: 0 },
    builds: { triggered: 0, succeeded: 0, failed: 0, lost: 0, stuck: 0 },
    autoscaling: { launched: 0, terminated: 0, peak_instances: 0 },
    vm_service: { mean_wait_ms: 0, instance_hours: 0, dlc_without_cache: 0 },
    expectations_passed: 0,
    intervals: { cost_per_day: iv, machines_per_day: iv, waiting_per_day: iv, queue_time_ms_p50: iv, queue_time_ms_p95: iv, queue_time_ms_p99: iv },
    meets_targets: true,
    misses: [],
    on_pareto: true,
  };
  const ref = { cell: 0, params, cost_per_day: 0, queue_time_ms_p95: 0 };
  return { scenario: '', seed: 0, grid_cells: 1, replications: 1, cells: [cell], pareto: [ref], recommended: { ...cell, ...ref } };
}

/** The paths of a tune.json with params `keys`, `N` list indices written as 0. */
function resultPaths(keys: readonly string[]): string[] {
  return leafPaths(sampleResult(keys));
}

/** Whether `metric` names a scalar of tune.json (list indices stand for any element). */
function knownPath(metric: string, paths: readonly string[]): boolean {
  const asFirst = metric.replace(/\[(\d+)\]/g, '.$1').replace(/\.\d+(?=\.|$)/g, '.0');
  return paths.includes(metric) || paths.includes(asFirst);
}

/**
 * Problems of a `tune:` section that its shape does not show: each swept key a field of the scenario, its values
 * distinct, the keys not nested, the targets well formed, `samples` with `sample: random`, and each `expect` metric a
 * path of tune.json.
 */
export function tuneSpecIssues(spec: RawTune): TuneSpecIssue[] {
  const issues: TuneSpecIssue[] = [];
  const guard = (path: (string | number)[], check: () => void) => {
    try {
      check();
    } catch (e) {
      if (!(e instanceof TuneInputError)) throw e;
      issues.push({ path, message: e.message.replace(/^--sweep /, '').replace(/^--targets: /, ''), hint: e.hint });
    }
  };
  const axes = specAxes(spec);
  for (const a of axes) {
    guard(['sweep', a.key], () => checkSweepKey(a.key));
    guard(['sweep', a.key], () => checkValues(a.key, a.values));
  }
  if (axes.length > 0) guard(['sweep'], () => checkAxes(axes));
  else issues.push({ path: ['sweep'], message: 'nothing to sweep', hint: 'give at least one key and its values, e.g. sweep: { topology.nomad_clients.count: [8, 12, 16] }' });
  (spec.targets ?? []).forEach((t, i) => guard(['targets', i], () => parseTargets([t])));
  if (spec.targets !== undefined) guard(['targets'], () => parseTargets(spec.targets!));
  if (spec.samples !== undefined && spec.sample !== 'random') issues.push({ path: ['samples'], message: '`samples` applies to `sample: random`', hint: 'add `sample: random`, or remove `samples` to run the whole grid' });
  if (spec.sample === 'random' && spec.samples === undefined) issues.push({ path: ['sample'], message: '`sample: random` needs `samples`', hint: 'add e.g. `samples: 10`' });
  const paths = resultPaths(axes.map((a) => a.key));
  (spec.expect ?? []).forEach((e, i) => {
    const root = e.metric.split(/[.[]/)[0] ?? '';
    if (SELF_REFERENTIAL.includes(root)) {
      issues.push({ path: ['expect', i, 'metric'], message: `\`${e.metric}\` is decided by the expectations themselves`, hint: 'name a measured field, e.g. recommended.cost_per_day' });
    } else if (!knownPath(e.metric, paths)) {
      const s = suggest(e.metric, paths);
      issues.push({ path: ['expect', i, 'metric'], message: `unknown tune.json metric \`${e.metric}\`${s ? `; did you mean \`${s}\`?` : ''}`, hint: 'a dotted path into tune.json, e.g. recommended.params.<swept key>, recommended.cost_per_day, cells.0.capacity_wait_ms.p95' });
    }
    for (const op of ['max', 'min'] as const) {
      const v = e[op];
      if (typeof v === 'string' && !isDurationMetric(e.metric)) issues.push({ path: ['expect', i, op], message: `a duration (${v}) is only allowed for *_ms metrics`, hint: 'give a plain number' });
    }
  });
  return issues;
}

/** A `tune.expect` line as the evaluator takes it. */
export function settleTuneExpectations(spec: RawTune | undefined): Expectation[] {
  return (spec?.expect ?? []).map((e) => (e.equals !== undefined ? { metric: e.metric, op: 'equals', expected: e.equals } : e.max !== undefined ? { metric: e.metric, op: 'max', expected: e.max } : { metric: e.metric, op: 'min', expected: e.min! }));
}
