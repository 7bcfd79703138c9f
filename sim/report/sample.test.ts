import { describe, expect, it } from 'vitest';
import { sampleReport } from './sample.ts';

describe('sampleReport', () => {
  it('is internally consistent: the ledger adds up, one expectation of three fails, the run failed', () => {
    const r = sampleReport();
    const b = r.builds;
    expect(b.succeeded + b.failed + b.lost + b.stuck).toBe(b.triggered);
    expect(r.ledger).toEqual({ conserved: true, equation: `${b.succeeded} + ${b.failed} + ${b.lost} + ${b.stuck} = ${b.triggered}` });
    expect(r.webhooks.accepted + r.webhooks.dropped).toBe(r.webhooks.received);
    expect(r.expectations).toHaveLength(3);
    expect(r.expectations.filter((e) => !e.passed)).toHaveLength(1);
    expect(r.passed).toBe(r.expectations.every((e) => e.passed));
    expect(r.faults).toHaveLength(2);
    expect(r.observed_severity).toBe('severe');
  });

  it('returns a fresh object each time and applies overrides', () => {
    const a = sampleReport();
    a.builds.lost = 0;
    expect(sampleReport().builds.lost).toBe(27);
    expect(sampleReport({ scenario: 'other', passed: true })).toMatchObject({ scenario: 'other', passed: true, seed: 42 });
  });
});
