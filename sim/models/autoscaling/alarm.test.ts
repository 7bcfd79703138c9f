import { describe, expect, it } from 'vitest';
import { evaluateAlarm, newAlarmCount, TREAT_MISSING_DATA, type AlarmSpec, type AlarmState } from './alarm.ts';

const SPEC: AlarmSpec = { threshold: 10, comparison: 'GreaterThanThreshold', evaluationPeriods: 3, cooldownMs: 300_000 };
const MIN = 60_000;

describe('evaluateAlarm', () => {
  it('fires after evaluationPeriods breached periods in a row, then waits out the cooldown', () => {
    const c = newAlarmCount();
    // A first good datapoint: with fewer real datapoints than evaluationPeriods, `missing` judges the ones there are.
    const fired = [0, 11, 12, 13, 14, 15, 16, 17, 18].map((v, i) => evaluateAlarm(c, SPEC, v, (i + 1) * MIN));
    expect(fired).toEqual([false, false, false, true, false, false, false, false, true]);
  });

  it('a period at or below the threshold resets the count; a period without data keeps it', () => {
    const c = newAlarmCount();
    expect([0, 11, 11, 10, 11, 11].map((v, i) => evaluateAlarm(c, SPEC, v, (i + 1) * MIN))).toEqual([false, false, false, false, false, false]);
    expect(evaluateAlarm(c, SPEC, undefined, 7 * MIN)).toBe(false);
    expect(c.breached).toBe(2);
    expect(evaluateAlarm(c, SPEC, 11, 8 * MIN)).toBe(true);
  });

  it('a first breaching datapoint alarms at once under missing (the real datapoints there are decide), not under notBreaching', () => {
    expect(evaluateAlarm(newAlarmCount(), SPEC, 11, MIN)).toBe(true);
    expect(evaluateAlarm(newAlarmCount(), { ...SPEC, treatMissingData: 'notBreaching' }, 11, MIN)).toBe(false);
  });

  it('honours each comparison operator at the threshold', () => {
    const at = (comparison: AlarmSpec['comparison']) => evaluateAlarm(newAlarmCount(), { ...SPEC, comparison, evaluationPeriods: 1 }, 10, MIN);
    expect([at('GreaterThanThreshold'), at('GreaterThanOrEqualToThreshold'), at('LessThanThreshold'), at('LessThanOrEqualToThreshold')]).toEqual([false, true, false, true]);
  });
});

/** Runs a row of outcomes ('0' not breaching, 'X' breaching, '-' missing), oldest first; answers the final state. */
function row(points: string, spec: Partial<AlarmSpec>, start: AlarmState = 'INSUFFICIENT_DATA'): AlarmState {
  const c = newAlarmCount();
  c.state = start;
  const full: AlarmSpec = { ...SPEC, cooldownMs: 0, ...spec };
  [...points.replaceAll(' ', '')].forEach((p, i) => evaluateAlarm(c, full, p === '-' ? undefined : p === 'X' ? 11 : 0, (i + 1) * MIN));
  return c.state;
}

describe('TreatMissingData (AWS\'s documented table: 3 of 3, an evaluation range of 5)', () => {
  const treat = (points: string, start: AlarmState = 'OK') =>
    TREAT_MISSING_DATA.map((t) => row(points, { treatMissingData: t }, start));
  // Columns: missing, notBreaching, breaching, ignore.
  it('0 - X - X: three real datapoints decide, whatever the treatment', () => {
    expect(treat('0 - X - X')).toEqual(['OK', 'OK', 'OK', 'OK']);
  });
  it('0 - - - -: one good datapoint, not enough to alarm even with the missing ones breaching', () => {
    expect(treat('0 - - - -')).toEqual(['OK', 'OK', 'OK', 'OK']);
  });
  it('- - - - -: missing gives INSUFFICIENT_DATA, ignore keeps the state, breaching alarms, notBreaching is OK', () => {
    expect(treat('- - - - -', 'OK')).toEqual(['INSUFFICIENT_DATA', 'OK', 'ALARM', 'OK']);
    expect(row('- - - - -', { treatMissingData: 'ignore' }, 'ALARM')).toBe('ALARM');
  });
  it('0 X X - X: the three most recent real datapoints breach, reaching back past the missing one', () => {
    expect(treat('0 X X - X')).toEqual(['ALARM', 'ALARM', 'ALARM', 'ALARM']);
  });
  it('- - X - -: missing alarms on the one real datapoint, ignore keeps the state, notBreaching is OK', () => {
    expect(treat('- - X - -', 'OK')).toEqual(['ALARM', 'OK', 'ALARM', 'OK']);
    expect(row('- - X - -', { treatMissingData: 'ignore' }, 'ALARM')).toBe('ALARM');
  });
});

describe('DatapointsToAlarm (M of N)', () => {
  it('2 of 3 alarms on two breaching datapoints among three, not on one', () => {
    expect(row('X 0 X', { datapointsToAlarm: 2 })).toBe('ALARM');
    expect(row('X 0 0', { datapointsToAlarm: 2 })).toBe('OK');
    expect(row('X 0 X', {})).toBe('OK'); // 3 of 3 by default
  });
  it('a breaching datapoint older than the last N real ones no longer counts', () => {
    expect(row('X X 0 0 X', { datapointsToAlarm: 2 })).toBe('OK');
  });
  it('fills missing datapoints as breaching only as far as needed: X - 0 with breaching is 2 of 3', () => {
    expect(row('X - 0', { datapointsToAlarm: 2, treatMissingData: 'breaching' })).toBe('ALARM'); // 2 real + 1 filled: 2 breaching
    expect(row('X - 0', { datapointsToAlarm: 3, treatMissingData: 'breaching' })).toBe('OK');
    expect(row('X - -', { datapointsToAlarm: 3, treatMissingData: 'breaching' })).toBe('ALARM');
  });
  it('an alarm in ALARM runs its policy at each evaluation past the cooldown (2 of 3, cooldown 2 min)', () => {
    const c = newAlarmCount();
    const spec: AlarmSpec = { ...SPEC, datapointsToAlarm: 2, cooldownMs: 2 * MIN };
    expect([0, 11, 0, 11, 11, 11, 0, 0].map((v, i) => evaluateAlarm(c, spec, v, (i + 1) * MIN))).toEqual([false, false, false, true, false, true, false, false]);
  });
});
