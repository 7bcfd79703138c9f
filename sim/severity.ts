import type { ObservedSeverity, Report } from './report/types.ts';

/** What the classifier reads of a run: only observations, never the documented severity. */
export type Observation = Pick<Report, 'builds' | 'data_loss' | 'queue_time_ms' | 'webhooks' | 'workflows'>;

/** How much later builds may start than in the baseline before they count as delayed. */
export const DELAY_TOLERANCE_MS = 60_000;

/**
 * Classifies a faulty run against the fault-free baseline of the same scenario and seed:
 * - severe: stored data lost, builds lost or left stuck (corrupt), or more than half the builds failed or
 *   never triggered (a major loss of functionality);
 * - moderate: some builds failed, were delayed or not triggered, but nothing stored was lost;
 * - mild: no build affected and nothing lost.
 * Rules and thresholds are documented in sim/README.md.
 */
export function classify(run: Observation, baseline: Observation): { severity: ObservedSeverity; because: string[] } {
  const because: string[] = [];
  const b = run.builds;
  const b0 = baseline.builds;
  const lossKeys = Object.keys(run.data_loss) as (keyof Observation['data_loss'])[];
  for (const k of lossKeys) if (run.data_loss[k] > baseline.data_loss[k]) because.push(`${k.replace('_', ' ')} lost: ${run.data_loss[k]}`);
  if (b.lost > b0.lost) because.push(`${b.lost - b0.lost} builds lost`);
  if (b.stuck > b0.stuck) because.push(`${b.stuck - b0.stuck} builds left stuck`);
  const expected = Math.max(1, b0.triggered + b0.not_triggered);
  const broken = b.failed - b0.failed + (b.not_triggered - b0.not_triggered);
  if (broken > expected / 2) because.push(`major loss of functionality: ${broken} of ${expected} builds failed or never triggered`);
  if (because.length > 0) return { severity: 'severe', because };

  if (b.failed > b0.failed) because.push(`${b.failed - b0.failed} more builds failed`);
  if (b.not_triggered > b0.not_triggered) because.push(`${b.not_triggered - b0.not_triggered} webhooks not triggered`);
  const delay = run.queue_time_ms.max - baseline.queue_time_ms.max;
  if (delay > DELAY_TOLERANCE_MS) because.push(`builds delayed: max queue time +${Math.round(delay / 1000)} s`);
  if (b.retried > b0.retried) because.push(`${b.retried - b0.retried} builds retried`);
  if (because.length > 0) return { severity: 'moderate', because };
  return { severity: 'mild', because: ['no build affected, nothing lost'] };
}

const ORDER: ObservedSeverity[] = ['none', 'mild', 'moderate', 'severe'];

export function worst(a: ObservedSeverity, b: ObservedSeverity): ObservedSeverity {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
}
