import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BLOCKING_QUERY_MS,
  DurationSyntaxError,
  MAX_BLOCKING_QUERY_MS,
  blockingWaitMs,
  formatGoDuration,
  parseGoDuration,
  waitJitterMs,
} from './duration.ts';
import { parseBlockingQuery, parseGoBool } from './http-api.ts';
import { NomadHttpError } from './job-spec.ts';

describe('parseGoDuration (Go time.ParseDuration, as Nomad reads ?wait=)', () => {
  it.each([
    ['10s', 10_000],
    ['1m', 60_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['1m30s', 90_000],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['1.s', 1_000],
    ['2h45m', 9_900_000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1500μs', 1.5],
    ['2000000ns', 2],
    ['0', 0],
    ['+3s', 3_000],
    ['-3s', -3_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '10', '1d', 's', '.s', 'ten seconds', '5 s', '1m-3s', '--1s', '1e3s'])('rejects %j as Go does', (text) => {
    expect(() => parseGoDuration(text)).toThrow(DurationSyntaxError);
  });

  it('names the input and the reason', () => {
    expect(() => parseGoDuration('10')).toThrow('time: invalid duration "10": missing unit');
    expect(() => parseGoDuration('3d')).toThrow('unknown unit "d"');
  });

  it('formats whole durations back as Go prints them', () => {
    expect([0, 250, 10_000, 90_000, 3_600_000, 9_900_000].map(formatGoDuration)).toEqual(['0s', '250ms', '10s', '1m30s', '1h0m0s', '2h45m0s']);
    for (const ms of [1_000, 90_000, 9_900_000]) expect(parseGoDuration(formatGoDuration(ms))).toBe(ms);
  });
});

describe('blocking-query limits', () => {
  it('defaults to 5 minutes when no wait (or a non-positive one) is given', () => {
    expect(blockingWaitMs(undefined)).toBe(DEFAULT_BLOCKING_QUERY_MS);
    expect(blockingWaitMs(0)).toBe(DEFAULT_BLOCKING_QUERY_MS);
    expect(blockingWaitMs(-5_000)).toBe(DEFAULT_BLOCKING_QUERY_MS);
    expect(DEFAULT_BLOCKING_QUERY_MS).toBe(300_000);
  });

  it('cuts a longer wait to 5 minutes and rounds a fractional one up', () => {
    expect(blockingWaitMs(parseGoDuration('10m'))).toBe(MAX_BLOCKING_QUERY_MS);
    expect(MAX_BLOCKING_QUERY_MS).toBe(300_000);
    expect(blockingWaitMs(parseGoDuration('1500us'))).toBe(2);
    expect(blockingWaitMs(parseGoDuration('10s'))).toBe(10_000);
  });

  it('adds at most wait/16 of jitter', () => {
    expect(waitJitterMs(16_000, 0)).toBe(0);
    expect(waitJitterMs(16_000, 0.5)).toBe(500);
    expect(waitJitterMs(16_000, 0.999999)).toBeLessThan(1_000);
  });
});

describe('parseBlockingQuery (Nomad parseWait)', () => {
  const q = (s: string) => parseBlockingQuery(new URLSearchParams(s));

  it('reads index and wait', () => {
    expect(q('index=42&wait=10s')).toEqual({ minIndex: 42, waitMs: 10_000 });
    expect(q('')).toEqual({ minIndex: 0, waitMs: undefined });
    expect(q('wait=1m')).toEqual({ minIndex: 0, waitMs: 60_000 });
  });

  it("answers Nomad's 400s for a bad wait or index", () => {
    for (const [s, text] of [
      ['wait=10', 'Invalid wait time'],
      ['wait=soon', 'Invalid wait time'],
      ['index=-1', 'Invalid index'],
      ['index=1.5', 'Invalid index'],
      ['index=abc', 'Invalid index'],
    ] as const) {
      let err: unknown;
      try {
        q(s);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NomadHttpError);
      expect([(err as NomadHttpError).status, (err as NomadHttpError).message]).toEqual([400, text]);
    }
  });

  it('reads booleans the way Go strconv.ParseBool does', () => {
    expect(['1', 't', 'T', 'TRUE', 'true', 'True'].map(parseGoBool)).toEqual(Array(6).fill(true));
    expect(['0', 'f', 'F', 'FALSE', 'false', 'False'].map(parseGoBool)).toEqual(Array(6).fill(false));
    expect(['yes', 'tRuE', ''].map(parseGoBool)).toEqual([undefined, undefined, undefined]);
  });
});
