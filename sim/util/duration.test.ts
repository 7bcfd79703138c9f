import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from './duration.ts';

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['90s', 90_000],
    ['15m', 900_000],
    ['4h', 14_400_000],
    ['2d', 172_800_000],
    ['1h10m', 4_200_000],
    ['1h 10m 30s', 4_230_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1.5h', 5_400_000],
    ['1.15s', 1_150],
    ['0.25s', 250],
    ['  90 s ', 90_000],
    ['1500', 1_500],
    ['0', 0],
    ['0ms', 0],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each([
    ['5x', /not understood/],
    ['-1s', /negative/],
    ['', /empty/],
    ['   ', /empty/],
    ['1.5', /not understood/],
    ['h', /not understood/],
    ['1e3', /not understood/],
    ['10m1h', /misorders/],
    ['1h1h', /repeats/],
    ['0.5ms', /whole number of milliseconds/],
    ['1.0000001s', /decimal places/],
    ['99999999999999999999', /too large/],
  ])('rejects %j', (text, message) => {
    expect(() => parseDurationMs(text)).toThrow(RangeError);
    expect(() => parseDurationMs(text)).toThrow(message);
  });

  it('never accepts text with a stray character', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.constantFrom('x', 'y', '-', '/', '%', 'hours', 'sec'), (n, junk) => {
        expect(() => parseDurationMs(`${n}${junk}`)).toThrow(RangeError);
      }),
    );
  });
});

describe('formatDurationMs', () => {
  it.each([
    [4_200_000, '1h10m'],
    [250, '250ms'],
    [0, '0ms'],
    [90_000, '1m30s'],
    [86_400_000, '1d'],
    [93_784_005, '1d2h3m4s5ms'],
  ])('writes %d ms as %j', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });

  it('round-trips through the parser', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (ms) => {
        expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 7 * 86_400_000 }), (ms) => {
        expect(parseDurationMs(formatDurationMs(ms))).toBe(ms);
      }),
    );
  });

  it('rejects what is not a duration', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) expect(() => formatDurationMs(bad)).toThrow(RangeError);
  });
});
