import { describe, expect, it } from 'vitest';
import { agreementTolerance, compareRuns } from './agreement.ts';
import { runScenario } from './run.ts';
import { loadScenarioFile } from '../harness/scenario/load.ts';
import { loadProfile } from '../fixtures/load.ts';
import type { Report } from './report/types.ts';

const profile = loadProfile('2.19.6');
const sim = runScenario(loadScenarioFile(new URL('../scenarios/failures/kill-rabbitmq.yaml', import.meta.url).pathname), profile);
const withBuilds = (r: Report, b: Partial<Report['builds']>): Report => ({ ...r, builds: { ...r.builds, ...b } });

describe('compareRuns', () => {
  it('agrees with itself', () => {
    const a = compareRuns(sim, sim);
    expect(a.agrees).toBe(true);
    expect(a.checks.map((c) => c.what)).toContain('observed severity');
  });

  it('does not agree when a fate is present on one side only, or the severity differs', () => {
    expect(compareRuns(sim, withBuilds(sim, { lost: 0 })).checks.find((c) => c.what === 'lost (builds)')?.agrees).toBe(false);
    expect(compareRuns(sim, withBuilds(sim, { stuck: 3 })).agrees).toBe(false);
    expect(compareRuns(sim, { ...sim, observed_severity: 'moderate' }).agrees).toBe(false);
    // Different counts of the same fates agree: a live outage lasts as long as the real restart.
    expect(compareRuns(sim, withBuilds(sim, { lost: sim.builds.lost * 2, not_triggered: sim.builds.not_triggered + 40 })).agrees).toBe(true);
  });

  it('judges queue-time percentiles within 25% or the absolute margin', () => {
    const tol = agreementTolerance(60);
    expect(tol.absoluteMs).toBe(60_000);
    expect(agreementTolerance(240).absoluteMs).toBe(240_000);
    const q = sim.queue_time_ms;
    const near = { ...sim, queue_time_ms: { ...q, p95: q.p95 + 59_000 } };
    const far = { ...sim, queue_time_ms: { ...q, p95: q.p95 + 61_000 } };
    expect(compareRuns(sim, near, tol).agrees).toBe(true);
    expect(compareRuns(sim, far, tol).agrees).toBe(false);
    expect(compareRuns(sim, far, agreementTolerance(240)).agrees).toBe(true);
  });
});
