import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { civilFromDays, daysFromCivil, isoSeconds, SIM_EPOCH_MS, utcMs, utcParts } from './calendar.ts';

describe('calendar', () => {
  it('agrees with the platform calendar on any instant from 1900 to 2400', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2_208_988_800_000, max: 13_569_465_600_000 }), (ms) => {
        const d = new Date(ms);
        const p = utcParts(ms);
        expect([p.year, p.month, p.day, p.hour, p.minute, p.second, p.dayOfWeek]).toEqual([
          d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCDay(),
        ]);
        expect(isoSeconds(ms)).toBe(`${d.toISOString().slice(0, 19)}Z`);
        const days = Math.floor(ms / 86_400_000);
        expect(daysFromCivil(p.year, p.month, p.day)).toBe(days);
        expect(civilFromDays(days)).toEqual({ year: p.year, month: p.month, day: p.day });
      }),
      { numRuns: 2000 },
    );
  });

  it('rolls months and days over, and starts the simulation on a Monday', () => {
    expect(utcMs(2023, 13, 1)).toBe(Date.UTC(2024, 0, 1));
    expect(utcMs(2024, 2, 30)).toBe(Date.UTC(2024, 2, 1));
    expect(SIM_EPOCH_MS).toBe(Date.UTC(2024, 0, 1));
    expect(utcParts(SIM_EPOCH_MS).dayOfWeek).toBe(1);
  });
});
