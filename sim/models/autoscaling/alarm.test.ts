import { describe, expect, it } from 'vitest';
import { evaluateAlarm, newAlarmCount, type AlarmSpec } from './alarm.ts';

const SPEC: AlarmSpec = { threshold: 10, comparison: 'GreaterThanThreshold', evaluationPeriods: 3, cooldownMs: 300_000 };
const MIN = 60_000;

describe('evaluateAlarm', () => {
  it('fires after evaluationPeriods breached periods in a row, then waits out the cooldown', () => {
    const c = newAlarmCount();
    const fired = [11, 12, 13, 14, 15, 16, 17, 18].map((v, i) => evaluateAlarm(c, SPEC, v, (i + 1) * MIN));
    expect(fired).toEqual([false, false, true, false, false, false, false, true]);
  });

  it('a period at or below the threshold resets the count; a period without data keeps it', () => {
    const c = newAlarmCount();
    expect([11, 11, 10, 11, 11].map((v, i) => evaluateAlarm(c, SPEC, v, (i + 1) * MIN))).toEqual([false, false, false, false, false]);
    expect(evaluateAlarm(c, SPEC, undefined, 6 * MIN)).toBe(false);
    expect(c.breached).toBe(2);
    expect(evaluateAlarm(c, SPEC, 11, 7 * MIN)).toBe(true);
  });

  it('honours each comparison operator at the threshold', () => {
    const at = (comparison: AlarmSpec['comparison']) => evaluateAlarm(newAlarmCount(), { ...SPEC, comparison, evaluationPeriods: 1 }, 10, MIN);
    expect([at('GreaterThanThreshold'), at('GreaterThanOrEqualToThreshold'), at('LessThanThreshold'), at('LessThanOrEqualToThreshold')]).toEqual([false, true, false, true]);
  });
});
