import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classify, newSymptoms, type Observation } from './severity.ts';
import type { Symptom } from './report/types.ts';
import { sampleReport } from './report/sample.ts';

const base: Observation = (() => {
  const r = sampleReport();
  return {
    builds: { triggered: 100, succeeded: 95, failed: 5, lost: 0, stuck: 0, not_triggered: 0, retried: 0 },
    data_loss: { step_output: 0, artifacts: 0, test_results: 0, audit_events: 0, live_step_output: 0, build_records: 0, workflow_records: 0 },
    queue_time_ms: r.queue_time_ms,
    start_delay_ms: { mean: 2_000, p50: 2_000, p95: 3_000, p99: 4_000, max: 5_000 },
    webhooks: { received: 100, accepted: 100, dropped: 0 },
    workflows: { started: 100, succeeded: 95, failed: 5, not_started: 0, inconsistent: 0 },
    ui: { requests: 300, failed: 0, failed_by_kind: {} },
  };
})();

const withChange = (patch: (o: Observation) => void): Observation => {
  const o = structuredClone(base);
  patch(o);
  return o;
};

const sym = (container: string, view: Symptom['view'], what: string, count = 1): Symptom => ({ container, view, what, where: 'here', count, first_at_ms: 0, last_at_ms: 0 });

describe('classify', () => {
  it('is mild when nothing differs from the baseline and the runs were not observed for symptoms (live)', () => {
    expect(classify(base, base)).toEqual({ severity: 'mild', because: ['no build affected, nothing lost (symptoms not observed in this run)'] });
  });

  it('is mild only with a symptom the baseline did not show, naming effects before status; none without one', () => {
    const quiet = withChange((o) => (o.symptoms = [sym('pipeline', 'builds', 'failed: a red test', 5)]));
    // The baseline's own symptoms are not the fault's.
    expect(classify(quiet, quiet)).toEqual({ severity: 'none', because: ['no symptom: nothing an operator would see differs from the baseline'] });
    const exim = withChange((o) => (o.symptoms = [sym('exim', 'docker-ps', 'listed as Exited (137)'), sym('exim', 'email', 'a :build-failed email was not sent', 4), sym('pipeline', 'builds', 'failed: a red test', 5)]));
    expect(classify(exim, quiet)).toEqual({
      severity: 'mild',
      because: ['no build affected, nothing lost', 'symptom: exim (email): a :build-failed email was not sent ×4', 'symptom: exim (docker-ps): listed as Exited (137) ×1'],
    });
    // More of a symptom than the baseline had is a symptom; as many is not.
    expect(classify(withChange((o) => (o.symptoms = [sym('pipeline', 'builds', 'failed: a red test', 6)])), quiet).severity).toBe('mild');
    // A baseline without the field counts as showing nothing.
    expect(classify(exim, base).severity).toBe('mild');
    // Builds and data still decide first: a symptom never makes a moderate run mild.
    expect(classify(withChange((o) => ((o.symptoms = exim.symptoms), (o.builds.failed = 6))), quiet).severity).toBe('moderate');
  });

  it('newSymptoms gives the extra count over the baseline, in the run\'s order', () => {
    const run = [sym('a', 'logs', 'x', 3), sym('b', 'email', 'y', 2), sym('c', 'ui', 'z', 1)];
    expect(newSymptoms(run, [sym('a', 'logs', 'x', 1), sym('b', 'email', 'y', 2)])).toEqual([sym('a', 'logs', 'x', 2), sym('c', 'ui', 'z', 1)]);
    expect(newSymptoms([], run)).toEqual([]);
  });

  it('is severe for stored data lost, builds lost or stuck, inconsistent workflows', () => {
    expect(classify(withChange((o) => (o.data_loss.artifacts = 3)), base).severity).toBe('severe');
    expect(classify(withChange((o) => (o.builds.lost = 1)), base).severity).toBe('severe');
    expect(classify(withChange((o) => (o.builds.stuck = 1)), base).severity).toBe('severe');
    expect(classify(withChange((o) => (o.workflows.inconsistent = 1)), base).severity).toBe('severe');
  });

  it('is moderate for visible failures, drops, retries, delays, live output and UI failures, with nothing stored lost', () => {
    expect(classify(withChange((o) => (o.builds.failed = 6)), base).severity).toBe('moderate');
    expect(classify(withChange((o) => (o.builds.not_triggered = 1)), base).severity).toBe('moderate');
    expect(classify(withChange((o) => (o.builds.retried = 1)), base).severity).toBe('moderate');
    expect(classify(withChange((o) => (o.start_delay_ms.max = 5_000 + 61_000)), base).severity).toBe('moderate');
    expect(classify(withChange((o) => (o.data_loss.live_step_output = 4)), base).severity).toBe('moderate');
    expect(classify(withChange((o) => (o.ui.failed = 1)), base).severity).toBe('moderate');
    // within the delay tolerance: not a delay
    expect(classify(withChange((o) => (o.start_delay_ms.max = 5_000 + 59_000)), base).severity).toBe('mild');
  });

  it('never rates a run better for losing more (monotone in every loss counter)', () => {
    const order = { none: 0, mild: 1, moderate: 2, severe: 3 } as const;
    fc.assert(
      fc.property(fc.nat(5), fc.nat(5), fc.nat(5), fc.nat(5), (lost, stuck, failed, dropped) => {
        const a = withChange((o) => {
          o.builds.lost += lost;
          o.builds.failed += failed;
        });
        const b = withChange((o) => {
          o.builds.lost += lost;
          o.builds.failed += failed;
          o.builds.stuck += stuck;
          o.builds.not_triggered += dropped;
        });
        expect(order[classify(b, base).severity]).toBeGreaterThanOrEqual(order[classify(a, base).severity]);
      }),
    );
  });
});
