import { describe, expect, it } from 'vitest';
import { dueBetween, symptomKey } from './observer.ts';
import { conformanceScenarios, twinRunner, type ConformanceScenario } from '../conformance/conformance.ts';
import type { Report } from '../report/types.ts';
import { fixtureContext } from '../../harness/scenario/load.ts';
import { loadProfile } from '../../fixtures/load.ts';

const context = fixtureContext();
const profile = loadProfile('2.19.6');
const rows = conformanceScenarios(profile, { context });
const baselines = new Map<string, Report>();
const baselineOf = (row: ConformanceScenario): Report => {
  let b = baselines.get(row.baselineKey);
  if (b === undefined) {
    b = twinRunner(row.scenario, profile, { withoutFaults: true });
    baselines.set(row.baselineKey, b);
  }
  return b;
};

describe('dueBetween', () => {
  it('counts the instants offset + k·period in (from, to]', () => {
    expect(dueBetween(60_000, 0, 0, 60_000)).toBe(1);
    expect(dueBetween(60_000, 0, 0, 59_999)).toBe(0);
    expect(dueBetween(60_000, 0, 60_000, 120_000)).toBe(1);
    expect(dueBetween(120_000, 33_629, 30_000, 40_000)).toBe(1);
    expect(dueBetween(120_000, 33_629, 0, 30_000)).toBe(0);
    expect(dueBetween(3_600_000, 0, 0, 4 * 3_600_000)).toBe(4);
  });
});

describe('every container of the Services machine shows its documented effect as a symptom (2.19.6, the conformance protocol)', () => {
  for (const row of rows) {
    it(`${row.container} (${row.condition}): killed, a symptom in ${row.effectViews.join(' or ')}; never without the fault`, () => {
      const baseline = baselineOf(row);
      const run = twinRunner(row.scenario, profile, { withoutFaults: false });
      const mine = (r: Report) => (r.symptoms ?? []).filter((s) => s.container === row.container);
      const effect = mine(run).filter((s) => row.effectViews.includes(s.view));
      expect(effect.length, `symptoms of ${row.container}: ${mine(run).map(symptomKey).join('; ')}`).toBeGreaterThan(0);
      for (const s of effect) {
        expect(s.count).toBeGreaterThan(0);
        expect(s.first_at_ms).toBeGreaterThanOrEqual(2 * 3_600_000);
      }
      // The container's own status is always visible once it was killed.
      expect(mine(run).some((s) => s.view === 'docker-ps' && s.what === 'listed as Exited (137)')).toBe(true);
      // Without the fault the container shows nothing.
      expect(mine(baseline)).toEqual([]);
    });
  }

  it('the symptoms of a run are sorted and byte-identical when run again', () => {
    const row = rows.find((r) => r.container === 'exim')!;
    const a = twinRunner(row.scenario, profile, { withoutFaults: false });
    const b = twinRunner(row.scenario, profile, { withoutFaults: false });
    expect(JSON.stringify(a.symptoms)).toBe(JSON.stringify(b.symptoms));
    const keys = a.symptoms!.map((s) => `${s.container}\u0000${s.view}\u0000${s.what}`);
    expect(keys).toEqual([...keys].sort());
  });
});
