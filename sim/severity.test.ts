import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classify, type Observation } from './severity.ts';
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

describe('classify', () => {
  it('is mild when nothing differs from the baseline', () => {
    expect(classify(base, base).severity).toBe('mild');
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
