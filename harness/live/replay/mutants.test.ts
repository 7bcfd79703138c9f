import { describe, expect, it } from 'vitest';
import { describeMutant, dispatcherHook, liveMutantFromEnv, parseLiveMutant } from './mutants.ts';

describe('live mutants', () => {
  it('reads TWIN_LIVE_MUTANT: no-restart, drop-messages:<share>, delay:<duration>; nothing when unset', () => {
    expect(liveMutantFromEnv({})).toBeUndefined();
    expect(liveMutantFromEnv({ TWIN_LIVE_MUTANT: 'no-restart' })).toEqual({ kind: 'no-restart' });
    expect(parseLiveMutant('drop-messages:0.2')).toEqual({ kind: 'drop-messages', share: 0.2 });
    expect(parseLiveMutant('delay:120s')).toEqual({ kind: 'delay', scenarioMs: 120_000 });
    expect(parseLiveMutant('delay:2m')).toEqual({ kind: 'delay', scenarioMs: 120_000 });
    expect(describeMutant({ kind: 'delay', scenarioMs: 120_000 })).toMatch(/^delay:120s/);
  });

  it('refuses a misspelt mutant or a share outside (0, 1], with a hint', () => {
    expect(() => parseLiveMutant('no-restarts')).toThrow(/TWIN_LIVE_MUTANT=no-restarts: not a live mutant/);
    expect(() => parseLiveMutant('drop-messages:1.5')).toThrow(/share must be above 0 and at most 1/);
    expect(() => parseLiveMutant('delay:2h')).toThrow(/not a live mutant/);
  });

  it('drops exactly the share of messages, spread evenly', async () => {
    const hook = dispatcherHook({ kind: 'drop-messages', share: 0.2 }, 240)!;
    const fates: (string | undefined)[] = [];
    for (let i = 0; i < 100; i++) fates.push(await hook());
    expect(fates.filter((f) => f === 'drop')).toHaveLength(20);
    expect(fates.slice(0, 10).filter((f) => f === 'drop')).toHaveLength(2);
    expect(dispatcherHook({ kind: 'no-restart' }, 240)).toBeUndefined();
  });

  it('delays each message by the scenario time divided by the time scale', async () => {
    const hook = dispatcherHook({ kind: 'delay', scenarioMs: 12_000 }, 240)!;
    const t = performance.now();
    expect(await hook()).toBeUndefined();
    expect(performance.now() - t).toBeGreaterThanOrEqual(45);
  });
});
