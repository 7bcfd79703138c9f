import { describe, expect, it } from 'vitest';
import { combineProposals, evaluateTargetTracking, newAlarms, TT_SCALE_IN_DATAPOINTS, TT_SCALE_OUT_DATAPOINTS, type GroupSample, type TargetTrackingSpec } from './target-tracking.ts';

const MIN = 60_000;
const spec: TargetTrackingSpec = { target: 50, warmupMs: 5 * MIN, scaleInCooldownMs: 5 * MIN, disableScaleIn: false };

/** Feeds one datapoint a minute (minute 1, 2, ...) and returns the proposals. */
function feed(values: (number | undefined)[], sample: Partial<GroupSample> = {}, s: TargetTrackingSpec = spec) {
  const alarms = newAlarms();
  return values.map((value, i) => evaluateTargetTracking(s, alarms, { nowMs: (i + 1) * MIN, value, inService: 4, desired: 4, warming: false, ...sample }));
}

describe('target tracking', () => {
  it('scales out after 3 datapoints above target, to the capacity that brings the metric back to target', () => {
    const p = feed([80, 80, 80]);
    expect(p.slice(0, 2)).toEqual([{ kind: 'hold' }, { kind: 'hold' }]);
    // 4 clients at 80 % for a 50 % target: ceil(4 × 80 / 50) = 7.
    expect(p[2]).toEqual({ kind: 'out', capacity: 7 });
    expect(TT_SCALE_OUT_DATAPOINTS).toBe(3);
  });

  it('restarts the count after a datapoint at or below target, and holds the count without data', () => {
    expect(feed([80, 80, 50, 80, 80]).every((p) => p.kind === 'hold')).toBe(true);
    expect(feed([80, undefined, 80, 80]).at(-1)).toEqual({ kind: 'out', capacity: 7 });
  });

  it('counts capacity already booting or warming: no scale-out while the desired capacity covers it', () => {
    expect(feed([80, 80, 80], { desired: 7 }).at(-1)).toEqual({ kind: 'hold' });
    expect(feed([80, 80, 80], { desired: 6 }).at(-1)).toEqual({ kind: 'out', capacity: 7 });
  });

  it('scales in only after 15 datapoints below target, never while warming, never with disableScaleIn', () => {
    const low = Array(15).fill(20);
    expect(TT_SCALE_IN_DATAPOINTS).toBe(15);
    const p = feed(low);
    expect(p.slice(0, -1).every((x) => x.kind === 'hold')).toBe(true);
    // ceil(4 × 20 / 50) = 2.
    expect(p.at(-1)).toEqual({ kind: 'in', capacity: 2 });
    expect(feed(low, { warming: true }).at(-1)).toEqual({ kind: 'hold' });
    expect(feed(low, {}, { ...spec, disableScaleIn: true }).at(-1)).toEqual({ kind: 'hold' });
  });

  it('waits for the scale-in cooldown after its last scale-in', () => {
    const alarms = newAlarms();
    const at = (m: number) => evaluateTargetTracking(spec, alarms, { nowMs: m * MIN, value: 20, inService: 4, desired: 4, warming: false });
    for (let m = 1; m < 15; m++) at(m);
    expect(at(15).kind).toBe('in');
    alarms.lastScaleInMs = 15 * MIN;
    expect(at(16).kind).toBe('hold');
    expect(at(19).kind).toBe('hold');
    expect(at(20).kind).toBe('in');
  });

  it('combines policies: the largest scale-out wins; scale-in only when all agree, to the largest capacity', () => {
    expect(combineProposals(4, [{ kind: 'out', capacity: 6 }, { kind: 'out', capacity: 9 }, { kind: 'in', capacity: 1 }])).toEqual({ desired: 9, kind: 'out' });
    expect(combineProposals(4, [{ kind: 'in', capacity: 2 }, { kind: 'hold' }])).toEqual({ desired: 4, kind: 'hold' });
    expect(combineProposals(4, [{ kind: 'in', capacity: 2 }, { kind: 'in', capacity: 3 }])).toEqual({ desired: 3, kind: 'in' });
  });
});
