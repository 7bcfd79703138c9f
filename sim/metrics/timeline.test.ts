import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimelineRecorder, MAX_TIMELINE_POINTS, type TimelineSample } from './timeline.ts';
import { runScenarioDetailed } from '../run.ts';
import { parseScenario } from '../scenario/parse.ts';
import { fixtureContext, loadScenarioFile } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';

const sample = (v: number): TimelineSample => ({ runQueueDepth: v, pendingJobs: 2 * v, runningTasks: v + 1, readyClients: 3 });

describe('TimelineRecorder', () => {
  it('keeps one bucket per tick while the run fits, each tick in the interval that ends at it', () => {
    const r = new TimelineRecorder(10, 8);
    for (let t = 10; t <= 50; t += 10) r.sample(t, sample(t));
    r.buildStarted(15, 100);
    r.buildStarted(20, 300);
    const tl = r.timeline([]);
    expect(tl.bucket_ms).toBe(10);
    expect(tl.t_ms).toEqual([0, 10, 20, 30, 40]);
    expect(tl.run_queue_depth.max).toEqual([10, 20, 30, 40, 50]);
    expect(tl.builds_started).toEqual([0, 2, 0, 0, 0]);
    expect(tl.queue_time_mean_ms).toEqual([null, 200, null, null, null]);
    expect(tl.queue_time_max_ms).toEqual([null, 300, null, null, null]);
  });

  it('merges buckets in pairs past the limit: bounded, and the same means and maxima as bucketing directly', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 1, maxLength: 300 }), fc.integer({ min: 2, max: 16 }), (values, maxPoints) => {
        const r = new TimelineRecorder(10, maxPoints);
        values.forEach((v, k) => r.sample((k + 1) * 10, sample(v)));
        const tl = r.timeline([]);
        expect(tl.t_ms.length).toBeLessThanOrEqual(maxPoints);
        const ticksPerBucket = tl.bucket_ms / 10;
        expect(Math.ceil(values.length / ticksPerBucket)).toBe(tl.t_ms.length);
        tl.t_ms.forEach((t, i) => {
          const inBucket = values.slice(i * ticksPerBucket, (i + 1) * ticksPerBucket);
          expect(t).toBe(i * tl.bucket_ms);
          expect(tl.run_queue_depth.max[i]).toBe(Math.max(...inBucket));
          expect(tl.pending_jobs.mean[i]).toBe(Math.round((inBucket.reduce((a, b) => a + 2 * b, 0) / inBucket.length) * 100) / 100);
        });
      }),
    );
  });

  it('refuses a time before the start and a tick that is not a positive whole number', () => {
    expect(() => new TimelineRecorder(0)).toThrow(/positive whole number/);
    expect(() => new TimelineRecorder(10).sample(-1, sample(0))).toThrow(/non-negative/);
  });
});

describe('the timeline of a simulated run', () => {
  const scenario = loadScenarioFile(new URL('../../scenarios/failures/kill-rabbitmq.yaml', import.meta.url).pathname);
  const run = runScenarioDetailed(scenario, loadProfile(scenario.version));
  const tl = run.timeline;

  it('agrees with the report: every started build, the longest queue time, the faults as applied', () => {
    expect(tl.t_ms.length).toBeGreaterThan(100);
    expect(tl.t_ms.length).toBeLessThanOrEqual(MAX_TIMELINE_POINTS);
    const started = tl.builds_started.reduce((a, b) => a + b, 0);
    const b = run.report.builds;
    // Every build that succeeded or failed started a task; lost and stuck builds may not have.
    expect(started).toBeGreaterThanOrEqual(b.succeeded + b.failed - b.retried);
    expect(started).toBeLessThanOrEqual(b.triggered + b.retried);
    expect(Math.max(...tl.queue_time_max_ms.map((x) => x ?? 0))).toBe(run.report.queue_time_ms.max);
    expect(tl.faults).toEqual([
      { at_ms: 2_400_000, action: 'stop', target: 'picard-dispatcher', until_ms: 4_200_000 },
      { at_ms: 3_600_000, action: 'kill', target: 'rabbitmq', until_ms: 4_200_000 },
    ]);
    // picard-dispatcher is stopped from 40m to 1h10m: the run queue grows then, and only then.
    const depthAt = (ms: number) => tl.run_queue_depth.max[Math.floor(ms / tl.bucket_ms)]!;
    expect(depthAt(2_300_000)).toBeLessThan(5);
    expect(depthAt(3_500_000)).toBeGreaterThan(20);
    expect(tl.ready_clients.max.every((n) => n === null || n === scenario.topology.nomadClients.count)).toBe(true);
  });

  it('is the same for the same scenario and seed, and coarsens a day to at most the limit', () => {
    expect(JSON.stringify(runScenarioDetailed(scenario, loadProfile(scenario.version)).timeline)).toBe(JSON.stringify(tl));
    const day = parseScenario(
      `name: day\nseed: 3\nduration: 1d\ntopology: { nomad_clients: { count: 2, cpus: 8, memory_gb: 32 } }\nworkload:\n  arrivals: { kind: poisson, rate_per_hour: 6 }\n  jobs:\n    - { duration: 2m }\n`,
      'day.yaml',
      fixtureContext(),
    );
    const long = runScenarioDetailed(day, loadProfile(day.version)).timeline;
    expect(long.t_ms.length).toBeLessThanOrEqual(MAX_TIMELINE_POINTS);
    expect(long.bucket_ms).toBe(80_000);
    expect(long.t_ms.at(-1)! + long.bucket_ms).toBeGreaterThanOrEqual(86_400_000);
  });
});
