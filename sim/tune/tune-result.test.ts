import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { summariseTune, type TuneCellResult, type TuneRequest } from './tune-result.ts';
import { parseTargets } from './targets.ts';
import type { CellParams } from './sweep.ts';

/** A run with the given total cost per day and p95 queue time (ms); the other figures follow from them. */
function run(cellIndex: number, replication: number, cost: number, p95: number, extra: Partial<TuneCellResult> = {}): TuneCellResult {
  return {
    cellIndex,
    replication,
    seed: cellIndex * 100 + replication,
    params: { n: cellIndex },
    scenario: 's',
    cost: { total_per_day: cost, machines_per_day: cost / 2, vm_service_per_day: 0, waiting_per_day: cost / 2 },
    queue_time_ms: { mean: p95 / 2, p50: p95 / 3, p95, p99: p95 * 2, max: p95 * 3 },
    capacity_wait_ms: null,
    utilisation: { mean_cpu: 0.5, peak_cpu: 0.9, fragmentation: 0.1 },
    throughput: { builds_per_hour: 10, peak_builds_per_hour: 20, tasks_completed: 100 },
    builds: { triggered: 10, succeeded: 10, failed: 0, lost: 0, stuck: 0, not_triggered: 0, retried: 0 },
    autoscaling: null,
    vm_service: { mean_wait_ms: 0, instance_hours: null, dlc_without_cache: null },
    expectations_passed: true,
    events: 1000,
    queue_time_series: { bucket_ms: 10_000, t_ms: [], mean_ms: [], max_ms: [] },
    ...extra,
  };
}

const cells: CellParams[] = [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }];
const request = (targets: string[], replications = 1): TuneRequest => ({ scenario: 's', file: 's.yaml', seed: 1, sample: 'grid', gridCells: 4, replications, sweep: [{ key: 'n', values: [0, 1, 2, 3] }], targets: parseTargets(targets), replay: 'twin tune s.yaml --sweep n=0,1,2,3' });

describe('summariseTune', () => {
  // cost, p95 ms: cell 0 cheap and slow, 1 middling, 2 dear and fast, 3 dearer and slower than 2.
  const runs = [run(0, 0, 100, 60_000), run(1, 0, 150, 5_000), run(2, 0, 200, 500), run(3, 0, 250, 900)];

  it('recommends the cheapest cell meeting the targets, and says why', () => {
    const r = summariseTune(request(['p95_queue_s<=10']), cells, runs);
    expect(r.recommended).toEqual({ cell: 1, params: { n: 1 }, cost_per_day: 150, queue_time_ms_p95: 5000 });
    expect(r.recommended_because).toBe('cell 1 has the least total cost per day (150.00 USD) of the 3 of 4 cells meeting p95_queue_s<=10');
    expect(r.cells.map((c) => c.meets_targets)).toEqual([false, true, true, true]);
    expect(r.cells[0]!.misses).toEqual(['p95_queue_s<=10']);
    expect(summariseTune(request(['p95_queue_s<1']), cells, runs).recommended?.cell).toBe(2);
  });

  it('recommends the cheapest of all without targets, and none when no cell meets them', () => {
    expect(summariseTune(request([]), cells, runs).recommended?.cell).toBe(0);
    expect(summariseTune(request([]), cells, runs).cells[0]!.meets_targets).toBeUndefined();
    const none = summariseTune(request(['p95_queue_s<=0.1']), cells, runs);
    expect(none.recommended).toBeNull();
    expect(none.recommended_because).toBe('no cell meets p95_queue_s<=0.1');
  });

  it('marks the Pareto front on cost and p95', () => {
    const r = summariseTune(request([]), cells, runs);
    expect(r.pareto.map((p) => p.cell)).toEqual([0, 1, 2]);
    expect(r.cells.map((c) => c.on_pareto)).toEqual([true, true, true, false]);
  });

  it('averages replications and gives 95% intervals only when there are two or more', () => {
    const reps = [run(0, 0, 100, 1000), run(0, 1, 110, 2000), run(0, 2, 120, 3000)];
    const r = summariseTune({ ...request([], 3), sweep: [{ key: 'n', values: [0] }], gridCells: 1 }, [{ n: 0 }], reps);
    const c = r.cells[0]!;
    expect(c.cost_per_day).toBe(110);
    expect(c.queue_time_ms.p95).toBe(2000);
    expect(c.seeds).toEqual([0, 1, 2]);
    expect(c.intervals?.cost_per_day).toEqual({ mean: 110, half_width: 24.84, low: 85.16, high: 134.84, n: 3 });
    expect(c.intervals?.queue_time_ms_p95.half_width).toBe(2484);
    expect(summariseTune(request([]), cells, runs).cells[0]!.intervals).toBeUndefined();
  });

  it('gives the same result whatever order the runs arrive in', () => {
    const all = cells.flatMap((_, i) => [0, 1, 2].map((rep) => run(i, rep, 100 + i * 37 + rep * 5, 1000 * (4 - i) + rep * 300)));
    const expected = JSON.stringify(summariseTune(request(['p95_queue_s<=3'], 3), cells, all));
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), (shuffled) => {
        expect(JSON.stringify(summariseTune(request(['p95_queue_s<=3'], 3), cells, shuffled))).toBe(expected);
      }),
    );
  });

  it('refuses a missing or repeated replication, and a run of a cell the sweep does not have', () => {
    expect(() => summariseTune(request([], 2), cells, runs)).toThrow(/cell 0: replications 0 of 2/);
    expect(() => summariseTune(request([]), cells, [...runs, run(1, 0, 1, 1)])).toThrow(/cell 1: replications 0,0 of 1/);
    expect(() => summariseTune(request([]), cells, [...runs, run(9, 0, 1, 1)])).toThrow(/cell 9, which the sweep does not have/);
  });
});
