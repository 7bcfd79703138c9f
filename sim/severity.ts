import type { DataLoss, ObservedSeverity, Report, Symptom } from './report/types.ts';
import { symptomKey } from './symptoms/observer.ts';

/** What the classifier reads of a run: only observations, never the documented severity. */
export type Observation = Pick<Report, 'builds' | 'data_loss' | 'queue_time_ms' | 'start_delay_ms' | 'webhooks' | 'workflows' | 'ui' | 'symptoms'>;

/** How many new symptoms a mild verdict names in its reasons. */
export const SYMPTOMS_IN_BECAUSE = 3;

/** The symptoms of a run that its baseline did not show (or showed fewer times), with the extra count, in report order. */
export function newSymptoms(run: readonly Symptom[], baseline: readonly Symptom[]): Symptom[] {
  const base = new Map(baseline.map((s) => [symptomKey(s), s.count]));
  return run.filter((s) => s.count > (base.get(symptomKey(s)) ?? 0)).map((s) => ({ ...s, count: s.count - (base.get(symptomKey(s)) ?? 0) }));
}

/** How much later builds may start than in the baseline before they count as delayed. */
export const DELAY_TOLERANCE_MS = 60_000;

/** Data that had been (or was being) stored durably: losing it is severe. Live step output is not among it. */
export const STORED_DATA: readonly (keyof DataLoss)[] = ['step_output', 'artifacts', 'test_results', 'audit_events', 'build_records', 'workflow_records'];

/**
 * Classifies a faulty run against the fault-free baseline of the same scenario and seed:
 * - severe: stored data lost, builds lost or left stuck, or workflows left inconsistent (corrupt);
 * - moderate: some builds failed, were retried, delayed or not triggered, or the live output of running
 *   steps was lost, but nothing stored was lost and everything that started ended visibly;
 * - mild: no build affected and nothing lost, but something an operator would see differs from the baseline (a
 *   symptom: an email not sent, a gauge not reported, a container listed as exited, ...);
 * - none: nothing observed at all. A run without symptoms (a live run: not measured) is rated on builds and data alone.
 * Rules and thresholds are documented in sim/README.md.
 */
export function classify(run: Observation, baseline: Observation): { severity: ObservedSeverity; because: string[] } {
  const because: string[] = [];
  const b = run.builds;
  const b0 = baseline.builds;
  for (const k of STORED_DATA) {
    const extra = (run.data_loss[k] ?? 0) - (baseline.data_loss[k] ?? 0);
    if (extra > 0) because.push(`${k.replaceAll('_', ' ')} lost: ${extra}`);
  }
  if (b.lost > b0.lost) because.push(`${b.lost - b0.lost} builds lost`);
  if (b.stuck > b0.stuck) because.push(`${b.stuck - b0.stuck} builds left stuck`);
  const inconsistent = run.workflows.inconsistent - baseline.workflows.inconsistent;
  if (inconsistent > 0) because.push(`${inconsistent} workflows left inconsistent`);
  if (because.length > 0) return { severity: 'severe', because };

  if (b.failed > b0.failed) because.push(`${b.failed - b0.failed} more builds failed`);
  if (b.not_triggered > b0.not_triggered) because.push(`${b.not_triggered - b0.not_triggered} webhooks not triggered`);
  if (b.retried > b0.retried) because.push(`${b.retried - b0.retried} builds retried`);
  const delayMax = run.start_delay_ms.max - baseline.start_delay_ms.max;
  const delayP95 = run.start_delay_ms.p95 - baseline.start_delay_ms.p95;
  if (delayMax > DELAY_TOLERANCE_MS) because.push(`builds delayed: longest wait to start +${Math.round(delayMax / 1000)} s`);
  else if (delayP95 > DELAY_TOLERANCE_MS) because.push(`builds delayed: p95 wait to start +${Math.round(delayP95 / 1000)} s`);
  if (run.ui.failed > baseline.ui.failed) because.push(`${run.ui.failed - baseline.ui.failed} UI/API requests failed`);
  const live = run.data_loss.live_step_output - baseline.data_loss.live_step_output;
  if (live > 0) because.push(`live output of running steps lost for ${live} builds`);
  if (because.length > 0) return { severity: 'moderate', because };
  if (run.symptoms === undefined) return { severity: 'mild', because: ['no build affected, nothing lost (symptoms not observed in this run)'] };
  const seen = newSymptoms(run.symptoms, baseline.symptoms ?? []);
  if (seen.length === 0) return { severity: 'none', because: ['no symptom: nothing an operator would see differs from the baseline'] };
  // Effects on other services before the container's own status: they say what its absence did.
  const shown = [...seen.filter((x) => !STATUS_VIEWS.has(x.view)), ...seen.filter((x) => STATUS_VIEWS.has(x.view))].slice(0, SYMPTOMS_IN_BECAUSE);
  return { severity: 'mild', because: ['no build affected, nothing lost', ...shown.map((x) => `symptom: ${x.container} (${x.view}): ${x.what} ×${x.count}`)] };
}

/** Views that show a container's own status rather than what its absence did elsewhere. */
export const STATUS_VIEWS: ReadonlySet<string> = new Set(['docker-ps', 'health']);
