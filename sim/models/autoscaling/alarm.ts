/**
 * A CloudWatch-style alarm that drives a step or simple scaling policy, evaluated once per period, as AWS documents
 * it ("Evaluating an alarm", "Configuring how CloudWatch alarms treat missing data"):
 * - each period's datapoint breaches the threshold, does not, or is missing (no data);
 * - the alarm looks back over an evaluation range of `evaluationPeriods + 2` periods (AWS retrieves "a higher
 *   number of data points than Evaluation Periods" without fixing how many; its documented example uses 5 for 3);
 * - with at least `evaluationPeriods` real datapoints in the range, the most recent `evaluationPeriods` of them
 *   decide, and `treatMissingData` plays no part; the alarm is in ALARM when `datapointsToAlarm` (M of N) breach;
 * - with fewer, the missing ones are filled as `treatMissingData` says: `breaching` and `notBreaching` fill them so;
 *   `missing` evaluates the real ones alone (ALARM when min(M, their count) breach) and goes to INSUFFICIENT_DATA when
 *   the range holds none; `ignore` changes state only when the real datapoints decide it whatever the missing ones
 *   were, else keeps the current state.
 * While the alarm is in ALARM and its policy is past its cooldown, the policy runs (AWS invokes an Auto Scaling action
 * at every evaluation in ALARM) and the cooldown starts.
 * The one evaluation both the simulation's group (`asg.ts`, its step policies) and the twin's CloudWatch endpoint
 * (`metric-alarms.ts`, `PutMetricAlarm`) run.
 */

export const COMPARISON_OPERATORS = ['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

/** PutMetricAlarm's TreatMissingData values; `missing` is AWS's default. */
export const TREAT_MISSING_DATA = ['missing', 'notBreaching', 'breaching', 'ignore'] as const;
export type TreatMissingData = (typeof TREAT_MISSING_DATA)[number];

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** How many periods beyond `evaluationPeriods` the evaluation range reaches back. */
export const EXTRA_RANGE_PERIODS = 2;

export interface AlarmSpec {
  readonly threshold: number;
  readonly comparison: ComparisonOperator;
  readonly evaluationPeriods: number;
  /** M of the N evaluated datapoints that must breach (default: all N). */
  readonly datapointsToAlarm?: number;
  /** Default `missing`. */
  readonly treatMissingData?: TreatMissingData;
  /** How long after the alarm ran its policy it may run it again. */
  readonly cooldownMs: number;
}

/** One period's datapoint: breaching, not breaching, or missing. */
type Outcome = 'B' | 'G' | 'M';

export interface AlarmCount {
  /** The evaluation range's outcomes, oldest first. */
  readonly range: Outcome[];
  state: AlarmState;
  /** Breaching datapoints among those the last evaluation counted (missing ones filled as breaching included). */
  breached: number;
  cooldownUntilMs: number;
}

/**
 * A new alarm's evaluation. `steadyPeriods` good datapoints before the first evaluation stand for a metric that was
 * within its threshold before the alarm was created (AWS reads the metric's history; the simulation starts at time
 * 0 with the fleet in its steady state): the alarm starts in OK and needs its datapoints to alarm like any later.
 */
export function newAlarmCount(steadyPeriods = 0): AlarmCount {
  const range: Outcome[] = Array.from({ length: steadyPeriods }, () => 'G');
  return { range, state: steadyPeriods > 0 ? 'OK' : 'INSUFFICIENT_DATA', breached: 0, cooldownUntilMs: 0 };
}

export function breaches(comparison: ComparisonOperator, value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

/** The M of M-of-N. */
export function datapointsToAlarm(spec: Pick<AlarmSpec, 'evaluationPeriods' | 'datapointsToAlarm'>): number {
  return spec.datapointsToAlarm ?? spec.evaluationPeriods;
}

/** Whether the alarm is in ALARM after its last evaluation. */
export function inAlarm(count: AlarmCount): boolean {
  return count.state === 'ALARM';
}

/** The state the range gives, or undefined to keep the current one (`ignore` when the real datapoints do not decide). */
function judge(range: readonly Outcome[], spec: AlarmSpec): { state: AlarmState | undefined; breached: number } {
  const n = spec.evaluationPeriods;
  const m = datapointsToAlarm(spec);
  const real = range.filter((o) => o !== 'M');
  const recent = real.slice(-n);
  const bad = recent.filter((o) => o === 'B').length;
  if (real.length >= n) return { state: bad >= m ? 'ALARM' : 'OK', breached: bad };
  const fill = n - real.length;
  switch (spec.treatMissingData ?? 'missing') {
    case 'breaching':
      return { state: bad + fill >= m ? 'ALARM' : 'OK', breached: bad + fill };
    case 'notBreaching':
      return { state: bad >= m ? 'ALARM' : 'OK', breached: bad };
    case 'missing':
      if (real.length === 0) return { state: 'INSUFFICIENT_DATA', breached: 0 };
      return { state: bad >= Math.min(m, real.length) ? 'ALARM' : 'OK', breached: bad };
    case 'ignore':
      if (bad >= m) return { state: 'ALARM', breached: bad };
      if (bad + fill < m) return { state: 'OK', breached: bad };
      return { state: undefined, breached: bad };
  }
}

/**
 * One period's evaluation on `value` (undefined: no data): updates `count` and answers whether the policy runs now
 * (the alarm is in ALARM and the cooldown is over); when it does, the cooldown starts.
 */
export function evaluateAlarm(count: AlarmCount, spec: AlarmSpec, value: number | undefined, nowMs: number): boolean {
  count.range.push(value === undefined ? 'M' : breaches(spec.comparison, value, spec.threshold) ? 'B' : 'G');
  if (count.range.length > spec.evaluationPeriods + EXTRA_RANGE_PERIODS) count.range.shift();
  const { state, breached } = judge(count.range, spec);
  count.breached = breached;
  if (state !== undefined) count.state = state;
  if (!inAlarm(count) || nowMs < count.cooldownUntilMs) return false;
  count.cooldownUntilMs = nowMs + spec.cooldownMs;
  return true;
}
