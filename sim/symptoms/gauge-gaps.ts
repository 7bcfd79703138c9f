import { dueBetween } from './observer.ts';

/**
 * The metric gaps a person would see in the recorded series, found from the series themselves (the live stack's
 * telegraf records what it wrote at each of its flushes: harness/live/health-host.ts), not inferred from when a
 * container was down:
 * - telegraf down: its flushes stop, so every series has a hole (telegraf's own flush series has no point where
 *   one was due);
 * - nomad-metrics down: telegraf flushes on, without a `circle.nomad.*` gauge (nomad-metrics polls the Nomad server
 *   and sends them; a failed poll still sends `circle.nomad.server_agent.poll_failure`, so a Nomad server outage is
 *   no gap here).
 * Each gap is counted in statsd flush intervals (the profile's), as the simulation's observer counts them. Pure.
 */

/** One flush of telegraf: when (scenario ms) and the metric names (tags dropped) it wrote. */
export interface GaugeFlush {
  readonly atMs: number;
  readonly names: readonly string[];
}

export interface GaugeGap {
  readonly container: 'telegraf' | 'nomad-metrics';
  /** The span without data ([fromMs, toMs), scenario ms). */
  readonly fromMs: number;
  readonly toMs: number;
  /** Statsd flush intervals due in the span. */
  readonly flushes: number;
}

export interface GaugeGapOptions {
  /** How often telegraf flushes (scenario ms). */
  readonly periodMs: number;
  /** The profile's statsd flush interval (scenario ms): what a gap is counted in. */
  readonly flushMs: number;
  /** The window the run covers (scenario ms): flushes outside it only anchor a gap at its edges. */
  readonly fromMs: number;
  readonly toMs: number;
}

/** The prefix of nomad-metrics' gauges. */
export const NOMAD_GAUGE_PREFIX = 'circle.nomad.';
/** A flush later than this many periods after the one before means flushes were missed (timers drift a little). */
const LATE = 1.5;

export function gaugeGaps(flushes: readonly GaugeFlush[], o: GaugeGapOptions): GaugeGap[] {
  if (!(o.periodMs > 0) || !(o.flushMs > 0)) throw new Error(`gaugeGaps: periodMs and flushMs must be positive (got ${o.periodMs}, ${o.flushMs})`);
  const sorted = [...flushes].sort((a, b) => a.atMs - b.atMs);
  const out: GaugeGap[] = [];
  const gap = (container: GaugeGap['container'], from: number, to: number) => {
    const a = Math.max(from, o.fromMs);
    const b = Math.min(to, o.toMs);
    if (b <= a) return;
    const n = dueBetween(o.flushMs, 0, a, b);
    if (n > 0) out.push({ container, fromMs: a, toMs: b, flushes: n });
  };
  // telegraf: flushes that did not come (a flush's data covers the period before it).
  let prev = o.fromMs;
  for (const f of sorted) {
    if (f.atMs > o.toMs) break;
    if (f.atMs - prev > LATE * o.periodMs) gap('telegraf', prev, f.atMs - o.periodMs);
    prev = Math.max(prev, f.atMs);
  }
  if (o.toMs - prev > LATE * o.periodMs) gap('telegraf', prev, o.toMs);
  // nomad-metrics: telegraf's flushes that wrote no circle.nomad.* gauge, each the period before it.
  let emptySince: number | undefined;
  for (const f of sorted) {
    if (f.atMs > o.toMs) break;
    const has = f.names.some((n) => n.startsWith(NOMAD_GAUGE_PREFIX));
    if (!has && emptySince === undefined) emptySince = f.atMs - o.periodMs;
    if (has && emptySince !== undefined) {
      gap('nomad-metrics', emptySince, f.atMs - o.periodMs);
      emptySince = undefined;
    }
  }
  if (emptySince !== undefined) gap('nomad-metrics', emptySince, Math.min(o.toMs, prev));
  return out;
}
