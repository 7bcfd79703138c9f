import { describe, expect, it } from 'vitest';
import { CronError, nextCronTime, parseCron } from './cron.ts';

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, from: string) => {
  const t = nextCronTime(parseCron(expr), at(from));
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('cron (Auto Scaling recurrence, UTC)', () => {
  it('finds the next matching minute, strictly after the given time', () => {
    expect(next('0 22 * * MON-FRI', '2020-01-24T23:00:00Z')).toBe('2020-01-27T22:00:00.000Z'); // Friday night → Monday
    expect(next('0 22 * * MON-FRI', '2020-01-21T22:00:00Z')).toBe('2020-01-22T22:00:00.000Z');
    expect(next('*/15 * * * *', '2020-01-21T13:48:33Z')).toBe('2020-01-21T14:00:00.000Z');
    expect(next('0 0 1 * *', '2020-01-21T13:48:33Z')).toBe('2020-02-01T00:00:00.000Z');
    expect(next('30 8 * JAN,JUL *', '2020-02-01T00:00:00Z')).toBe('2020-07-01T08:30:00.000Z');
  });

  it('finds 29 February in the next leap year, and gives up on dates that never come', () => {
    expect(next('0 0 29 2 *', '2021-03-01T00:00:00Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(next('0 0 31 2 *', '2021-03-01T00:00:00Z')).toBeUndefined();
  });

  it('matches either day field when both are restricted, as Vixie cron does', () => {
    expect(next('0 12 1 * SUN', '2020-01-21T00:00:00Z')).toBe('2020-01-26T12:00:00.000Z');
    expect(next('0 12 1,15 * 7', '2020-01-27T00:00:00Z')).toBe('2020-02-01T12:00:00.000Z');
  });

  it('rejects malformed expressions', () => {
    for (const bad of ['* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '5-1 * * * *', '*/0 * * * *', 'a * * * *', ', * * * *']) {
      expect(() => parseCron(bad), bad).toThrow(CronError);
    }
  });
});
