import type { Report, Percentiles, BuildCounts, ExpectationResult } from '../report/types.ts';
import { evaluateExpectations, type Expectation } from '../report/expectations.ts';
import type { Timeline } from '../metrics/timeline.ts';
import { interval95, type Interval } from './stats.ts';
import { paretoFront } from './pareto.ts';
import { TARGET_METRICS, meets, targetText, type Target } from './targets.ts';
import type { CellParams, SweepAxis } from './sweep.ts';

/** Cost per day in USD, by part (the report's `cost`). */
export interface CostParts {
  total_per_day: number;
  machines_per_day: number;
  vm_service_per_day: number;
  waiting_per_day: number;
}

/** Queue time over the run, in the timeline's buckets: mean and max of the builds that started in each. */
export interface QueueTimeSeries {
  bucket_ms: number;
  t_ms: number[];
  mean_ms: (number | null)[];
  max_ms: (number | null)[];
}

/** CPU use of the fleet (0-1) and, when measured, the fragmentation of its free CPU. */
export interface Utilisation {
  mean_cpu: number;
  peak_cpu: number;
  fragmentation: number | null;
}

export type Throughput = Report['throughput'];
/** vm-service's mean wait for an instance, its instance-hours and the Docker Layer Caching jobs that ran without their cache. */
export type VmServiceFigures = { mean_wait_ms: number; instance_hours: number | null; dlc_without_cache: number | null };
export type AutoscalingCounts = { launched: number; terminated: number; peak_instances: number } | null;

/**
 * What one run of one cell gives back (`runTuneCell`'s result): plain JSON, so it crosses worker threads and
 * queues unchanged. Nothing in it depends on where or when it ran.
 */
export interface TuneCellResult {
  cellIndex: number;
  replication: number;
  seed: number;
  params: CellParams;
  scenario: string;
  cost: CostParts;
  queue_time_ms: Percentiles;
  /** The wait for capacity (the report's `capacity.wait_ms`): the part of queue time the fleet controls. */
  capacity_wait_ms: Percentiles | null;
  utilisation: Utilisation;
  throughput: Throughput;
  builds: BuildCounts;
  autoscaling: AutoscalingCounts;
  vm_service: VmServiceFigures;
  /** Whether the scenario's own `expect` lines passed in this run. */
  expectations_passed: boolean;
  events: number;
  queue_time_series: QueueTimeSeries;
}

/** A run's report and timeline reduced to what a sweep keeps of it. */
export function cellResultFromRun(report: Report, timeline: Timeline, at: { cellIndex: number; replication: number; seed: number; params: CellParams }): TuneCellResult {
  const cost = report.cost;
  if (cost === undefined) throw new Error(`cell ${at.cellIndex}: the run reported no cost (only simulated runs do)`);
  return {
    cellIndex: at.cellIndex,
    replication: at.replication,
    seed: at.seed,
    params: at.params,
    scenario: report.scenario,
    cost: { ...cost },
    queue_time_ms: { ...report.queue_time_ms },
    capacity_wait_ms: report.capacity.wait_ms ? { ...report.capacity.wait_ms } : null,
    utilisation: { mean_cpu: report.capacity.mean_cpu_utilisation, peak_cpu: report.capacity.peak_cpu_utilisation, fragmentation: report.capacity.fragmentation ?? null },
    throughput: { ...report.throughput },
    builds: { ...report.builds },
    autoscaling: report.autoscaling ? { launched: report.autoscaling.launched, terminated: report.autoscaling.terminated, peak_instances: report.autoscaling.peak_instances } : null,
    vm_service: { mean_wait_ms: report.vm_service.mean_wait_ms, instance_hours: report.vm_service.instance_hours ?? null, dlc_without_cache: report.vm_service.dlc_without_cache ?? null },
    expectations_passed: report.passed,
    events: report.engine.events,
    queue_time_series: { bucket_ms: timeline.bucket_ms, t_ms: timeline.t_ms, mean_ms: timeline.queue_time_mean_ms, max_ms: timeline.queue_time_max_ms },
  };
}

/** One cell of `tune.json`: its parameters and the means of its replications (intervals when replicated). */
export interface TuneCell {
  cell: number;
  params: CellParams;
  seeds: number[];
  replications: number;
  /** Total cost per day (USD): the mean of the replications' `cost.total_per_day`. */
  cost_per_day: number;
  cost: CostParts;
  queue_time_ms: Percentiles;
  capacity_wait_ms: Percentiles | null;
  utilisation: Utilisation;
  throughput: Throughput;
  builds: Pick<BuildCounts, 'triggered' | 'succeeded' | 'failed' | 'lost' | 'stuck'>;
  autoscaling: AutoscalingCounts;
  vm_service: VmServiceFigures;
  /** Replications whose scenario `expect` lines all passed. */
  expectations_passed: number;
  /** 95% intervals (Student t) across replications; present when there are two or more. */
  intervals?: {
    cost_per_day: Interval;
    machines_per_day: Interval;
    waiting_per_day: Interval;
    queue_time_ms_p50: Interval;
    queue_time_ms_p95: Interval;
    queue_time_ms_p99: Interval;
  };
  /** Whether the cell's means meet every target (absent without targets); the targets it misses. */
  meets_targets?: boolean;
  misses?: string[];
  on_pareto: boolean;
}

/** A cell as `pareto` and `recommended` name it. */
export interface CellRef {
  cell: number;
  params: CellParams;
  cost_per_day: number;
  queue_time_ms_p95: number;
}

/** `tune.json`. */
export interface TuneResult {
  scenario: string;
  file: string;
  seed: number;
  sample: 'grid' | 'random';
  grid_cells: number;
  replications: number;
  sweep: SweepAxis[];
  targets: string[];
  cells: TuneCell[];
  /** The cells on the cost-per-day / p95-queue-time front, by rising cost. */
  pareto: CellRef[];
  /** The cell of least total cost per day among those meeting the targets (all cells without targets); null if none does. */
  recommended: CellRef | null;
  /** Why `recommended` is what it is, in a sentence. */
  recommended_because: string;
  /** The scenario's `tune.expect` lines checked against this result (empty without them); `passed` when all hold. */
  expectations: ExpectationResult[];
  passed: boolean;
  replay: string;
}

const round = (x: number, places: number) => {
  const f = 10 ** places;
  return Math.round(x * f) / f;
};
const meanOf = (xs: readonly number[]) => round(xs.reduce((a, b) => a + b, 0) / xs.length, 3);
const roundInterval = (i: Interval, places: number): Interval => ({ mean: round(i.mean, places), half_width: round(i.half_width, places), low: round(i.low, places), high: round(i.high, places), n: i.n });

/** Reduces one cell's replications (in replication order) to its row. */
export function summariseCell(cell: number, params: CellParams, runs: readonly TuneCellResult[]): Omit<TuneCell, 'on_pareto'> {
  if (runs.length === 0) throw new Error(`cell ${cell} has no runs`);
  const m = (f: (r: TuneCellResult) => number) => meanOf(runs.map(f));
  const cost: CostParts = { total_per_day: m((r) => r.cost.total_per_day), machines_per_day: m((r) => r.cost.machines_per_day), vm_service_per_day: m((r) => r.cost.vm_service_per_day), waiting_per_day: m((r) => r.cost.waiting_per_day) };
  const as = runs.every((r) => r.autoscaling !== null) ? { launched: m((r) => r.autoscaling!.launched), terminated: m((r) => r.autoscaling!.terminated), peak_instances: m((r) => r.autoscaling!.peak_instances) } : null;
  const pct = (f: (r: TuneCellResult) => Percentiles): Percentiles => ({ mean: m((r) => f(r).mean), p50: m((r) => f(r).p50), p95: m((r) => f(r).p95), p99: m((r) => f(r).p99), max: m((r) => f(r).max) });
  const orNull = (f: (r: TuneCellResult) => number | null) => (runs.every((r) => f(r) !== null) ? m((r) => f(r)!) : null);
  const frag = orNull((r) => r.utilisation.fragmentation);
  const out: Omit<TuneCell, 'on_pareto'> = {
    cell,
    params,
    seeds: runs.map((r) => r.seed),
    replications: runs.length,
    cost_per_day: cost.total_per_day,
    cost,
    queue_time_ms: pct((r) => r.queue_time_ms),
    capacity_wait_ms: runs.every((r) => r.capacity_wait_ms !== null) ? pct((r) => r.capacity_wait_ms!) : null,
    utilisation: { mean_cpu: m((r) => r.utilisation.mean_cpu), peak_cpu: m((r) => r.utilisation.peak_cpu), fragmentation: frag },
    throughput: { builds_per_hour: m((r) => r.throughput.builds_per_hour), peak_builds_per_hour: m((r) => r.throughput.peak_builds_per_hour), tasks_completed: m((r) => r.throughput.tasks_completed) },
    builds: { triggered: m((r) => r.builds.triggered), succeeded: m((r) => r.builds.succeeded), failed: m((r) => r.builds.failed), lost: m((r) => r.builds.lost), stuck: m((r) => r.builds.stuck) },
    autoscaling: as,
    vm_service: { mean_wait_ms: m((r) => r.vm_service.mean_wait_ms), instance_hours: orNull((r) => r.vm_service.instance_hours), dlc_without_cache: orNull((r) => r.vm_service.dlc_without_cache) },
    expectations_passed: runs.filter((r) => r.expectations_passed).length,
  };
  if (runs.length > 1) {
    const ci = (f: (r: TuneCellResult) => number, places: number) => roundInterval(interval95(runs.map(f)), places);
    out.intervals = {
      cost_per_day: ci((r) => r.cost.total_per_day, 2),
      machines_per_day: ci((r) => r.cost.machines_per_day, 2),
      waiting_per_day: ci((r) => r.cost.waiting_per_day, 2),
      queue_time_ms_p50: ci((r) => r.queue_time_ms.p50, 0),
      queue_time_ms_p95: ci((r) => r.queue_time_ms.p95, 0),
      queue_time_ms_p99: ci((r) => r.queue_time_ms.p99, 0),
    };
  }
  return out;
}

const ref = (c: TuneCell): CellRef => ({ cell: c.cell, params: c.params, cost_per_day: c.cost_per_day, queue_time_ms_p95: c.queue_time_ms.p95 });

/** What the sweep was, for `tune.json`'s header. */
export interface TuneRequest {
  scenario: string;
  file: string;
  seed: number;
  sample: 'grid' | 'random';
  gridCells: number;
  replications: number;
  sweep: SweepAxis[];
  targets: Target[];
  /** The scenario's `tune.expect` lines (none from flags alone). */
  expect?: readonly Expectation[];
  replay: string;
}

/**
 * `tune.json` from every run, in any order: runs are grouped by cell and ordered by replication, so the result
 * does not depend on which worker finished first. Every cell must have `replications` runs.
 */
export function summariseTune(req: TuneRequest, cells: readonly CellParams[], runs: readonly TuneCellResult[]): TuneResult {
  const byCell: TuneCellResult[][] = cells.map(() => []);
  for (const r of runs) {
    const list = byCell[r.cellIndex];
    if (list === undefined) throw new Error(`a run of cell ${r.cellIndex}, which the sweep does not have`);
    list.push(r);
  }
  const rows: TuneCell[] = cells.map((params, i) => {
    const list = byCell[i]!.sort((a, b) => a.replication - b.replication);
    const reps = list.map((r) => r.replication);
    if (reps.length !== req.replications || reps.some((r, k) => r !== k)) throw new Error(`cell ${i}: replications ${reps.join(',')} of ${req.replications}`);
    const row: TuneCell = { ...summariseCell(i, params, list), on_pareto: false };
    if (req.targets.length > 0) {
      const misses = req.targets.filter((t) => !meets(TARGET_METRICS[t.metric].read(row), t)).map(targetText);
      row.meets_targets = misses.length === 0;
      row.misses = misses;
    }
    return row;
  });
  const front = paretoFront(rows.map((c) => ({ cell: c.cell, cost: c.cost_per_day, p95: c.queue_time_ms.p95 })));
  for (const i of front) rows[i]!.on_pareto = true;
  const eligible = req.targets.length === 0 ? rows : rows.filter((c) => c.meets_targets === true);
  const best = [...eligible].sort((a, b) => a.cost_per_day - b.cost_per_day || a.queue_time_ms.p95 - b.queue_time_ms.p95 || a.cell - b.cell)[0];
  const targets = req.targets.map(targetText);
  const because =
    best === undefined
      ? `no cell meets ${targets.join(', ')}`
      : req.targets.length === 0
        ? `cell ${best.cell} has the least total cost per day (${best.cost_per_day.toFixed(2)} USD) of all ${rows.length} cells; no targets were given`
        : `cell ${best.cell} has the least total cost per day (${best.cost_per_day.toFixed(2)} USD) of the ${eligible.length} of ${rows.length} cells meeting ${targets.join(', ')}`;
  const result: TuneResult = {
    scenario: req.scenario,
    file: req.file,
    seed: req.seed,
    sample: req.sample,
    grid_cells: req.gridCells,
    replications: req.replications,
    sweep: req.sweep,
    targets,
    cells: rows,
    pareto: front.map((i) => ref(rows[i]!)),
    recommended: best === undefined ? null : ref(best),
    recommended_because: because,
    expectations: [],
    passed: true,
    replay: req.replay,
  };
  result.expectations = judgeTune(result, req.expect ?? []);
  result.passed = result.expectations.every((e) => e.passed);
  return result;
}

/** Checks `tune.expect` lines against a sweep's result; `recommended` reads as the recommended cell's whole row. */
export function judgeTune(result: TuneResult, expectations: readonly Expectation[]): ExpectationResult[] {
  const rec = result.recommended;
  const view = { ...result, recommended: rec === null ? null : { ...result.cells[rec.cell]!, ...rec } };
  return evaluateExpectations(view, expectations);
}
