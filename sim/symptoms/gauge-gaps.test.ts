import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../fixtures/load.ts';
import type { DataLoss } from '../report/types.ts';
import type { SettledFault } from '../scenario/settled.ts';
import { gaugeGaps, type GaugeFlush } from './gauge-gaps.ts';
import { liveSymptoms } from './live.ts';

/** telegraf flushing every minute of scenario time over an hour; `without` drops flushes, `noNomad` writes them without circle.nomad.*. */
function series(o: { without?: (t: number) => boolean; noNomad?: (t: number) => boolean; jitterMs?: number } = {}): GaugeFlush[] {
  const out: GaugeFlush[] = [];
  for (let t = -120_000; t <= 3_600_000; t += 60_000) {
    if (o.without?.(t)) continue;
    const at = t + (o.jitterMs !== undefined && (t / 60_000) % 2 === 0 ? o.jitterMs : 0);
    out.push({ atMs: at, names: o.noNomad?.(t) ? ['circle.run-queue.runnable-builds'] : ['circle.nomad.server_agent.poll_failure', 'circle.nomad.server_agent.jobs.pending'] });
  }
  return out;
}
const OPTS = { periodMs: 60_000, flushMs: 10_000, fromMs: 0, toMs: 3_600_000 };

describe('metric gaps read from the series telegraf wrote', () => {
  it('are none while telegraf flushes every period with nomad-metrics\' gauges, timers drifting a little', () => {
    expect(gaugeGaps(series(), OPTS)).toEqual([]);
    expect(gaugeGaps(series({ jitterMs: 20_000 }), OPTS)).toEqual([]);
  });

  it('telegraf down: its flushes stop, a gap counted in statsd flushes from its last flush to the next one\'s period', () => {
    // No flush at 10:00 .. 19:00 (telegraf killed after the flush at 9:00, back before 20:00).
    const gaps = gaugeGaps(series({ without: (t) => t >= 600_000 && t < 1_200_000 }), OPTS);
    expect(gaps).toEqual([{ container: 'telegraf', fromMs: 540_000, toMs: 1_140_000, flushes: 60 }]);
  });

  it('telegraf down to the end of the run: the gap runs to the end', () => {
    expect(gaugeGaps(series({ without: (t) => t > 3_000_000 }), OPTS)).toEqual([{ container: 'telegraf', fromMs: 3_000_000, toMs: 3_600_000, flushes: 60 }]);
  });

  it('nomad-metrics down: telegraf flushes on without circle.nomad.* gauges; no telegraf gap', () => {
    const gaps = gaugeGaps(series({ noNomad: (t) => t >= 600_000 && t < 900_000 }), OPTS);
    expect(gaps).toEqual([{ container: 'nomad-metrics', fromMs: 540_000, toMs: 840_000, flushes: 30 }]);
    // Still down when the run ended.
    expect(gaugeGaps(series({ noNomad: (t) => t >= 3_300_000 }), OPTS)).toEqual([{ container: 'nomad-metrics', fromMs: 3_240_000, toMs: 3_600_000, flushes: 36 }]);
  });

  it('refuses a period that is not positive', () => {
    expect(() => gaugeGaps([], { ...OPTS, periodMs: 0 })).toThrow(/periodMs and flushMs must be positive/);
  });
});

describe('the live symptoms with the series', () => {
  const profile = loadProfile('2.19.6');
  const NONE: DataLoss = { step_output: 0, artifacts: 0, test_results: 0, audit_events: 0, live_step_output: 0, build_records: 0, workflow_records: 0 };
  const kill = (atMs: number, target: string, forMs: number): SettledFault => ({ atMs, action: 'kill', target, writtenTarget: target, count: 1, forMs });
  const symptoms = (faults: SettledFault[], flushes: GaugeFlush[] | undefined) =>
    liveSymptoms({ containers: profile.containers, faults, endedAtMs: 3_600_000, outcomes: [], dataLoss: NONE, ui: { requests: 0, failed: 0, failed_by_kind: {} }, flushMs: 10_000, ...(flushes === undefined ? {} : { gauges: { flushes, periodMs: 60_000 } }) })
      .filter((s) => s.view === 'metrics')
      .map((s) => `${s.container} · ${s.what} ×${s.count}`);

  it('read the gap where the series has it (observed), not where a fault says the container was down', () => {
    const faults = [kill(600_000, 'nomad-metrics', 300_000)];
    // Without the series: inferred from the downtime.
    expect(symptoms(faults, undefined)).toEqual(['nomad-metrics · circle.nomad.* gauges were not reported for a flush interval ×30']);
    // With a series that has no gap, nothing is seen: the fault alone is not a symptom.
    expect(symptoms(faults, series())).toEqual([]);
    // With the series' own hole: seen, as long as the series says.
    expect(symptoms(faults, series({ noNomad: (t) => t >= 600_000 && t < 960_000 }))).toEqual(['nomad-metrics · circle.nomad.* gauges were not reported for a flush interval ×36']);
    expect(symptoms([kill(600_000, 'telegraf', 600_000)], series({ without: (t) => t >= 600_000 && t < 1_200_000 }))).toEqual(['telegraf · no metric was forwarded for a flush interval (every gauge has a gap) ×60']);
  });
});
