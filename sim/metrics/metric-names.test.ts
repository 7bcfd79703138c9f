import { describe, expect, it } from 'vitest';
import { METRICS, reportServerPoll } from './metric-names.ts';
import { Telegraf } from './telegraf.ts';
import { loadProfile } from '../../fixtures/load.ts';

describe('METRICS', () => {
  it('names only metrics the 2.19.6 fixture documents, each once', () => {
    const documented = new Set(loadProfile('2.19.6').metrics.names.map((m) => m.name));
    const names = Object.values(METRICS);
    expect(names.filter((n) => !documented.has(n))).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('reportServerPoll', () => {
  const telegrafOf = () => new Telegraf(Object.values(METRICS));

  it('reports the job counts of an answered poll and no poll failure', () => {
    const t = telegrafOf();
    reportServerPoll(t, { pending: 3, running: 2, complete: 1, dead: 0 });
    t.flush(10_000);
    const s = t.summaries();
    expect(s[METRICS.serverPollFailure]?.last).toBe(0);
    expect(s[METRICS.jobsPending]?.last).toBe(3);
    expect(s[METRICS.jobsRunning]?.last).toBe(2);
  });

  it('reports a failed poll and no job counts', () => {
    const t = telegrafOf();
    reportServerPoll(t, undefined);
    t.flush(10_000);
    const s = t.summaries();
    expect(s[METRICS.serverPollFailure]?.last).toBe(1);
    expect(s[METRICS.jobsPending]).toBeUndefined();
  });
});
