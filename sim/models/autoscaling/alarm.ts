/**
 * A CloudWatch-style alarm that drives a step or simple scaling policy, evaluated once per period: the alarm
 * counts consecutive breached periods; once `evaluationPeriods` of them held and the policy is past its cooldown,
 * the policy fires and its cooldown starts. A period without data (insufficient data) leaves the count as it was.
 * The one evaluation both the simulation's group (`asg.ts`, its step policies) and the twin's CloudWatch endpoint
 * (`metric-alarms.ts`, `PutMetricAlarm`) run.
 */

export const COMPARISON_OPERATORS = ['GreaterThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold'] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

export interface AlarmSpec {
  readonly threshold: number;
  readonly comparison: ComparisonOperator;
  readonly evaluationPeriods: number;
  /** How long after the alarm ran its policy it may run it again. */
  readonly cooldownMs: number;
}

export interface AlarmCount {
  /** Consecutive periods the alarm's condition held. */
  breached: number;
  cooldownUntilMs: number;
}

export function newAlarmCount(): AlarmCount {
  return { breached: 0, cooldownUntilMs: 0 };
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

/** Whether the alarm is in ALARM: its condition held for `evaluationPeriods` periods in a row. */
export function inAlarm(count: AlarmCount, spec: Pick<AlarmSpec, 'evaluationPeriods'>): boolean {
  return count.breached >= spec.evaluationPeriods;
}

/**
 * One period's evaluation on `value` (undefined: no data): updates `count` and answers whether the policy runs now
 * (the alarm is in ALARM and the cooldown is over); when it does, the cooldown starts.
 */
export function evaluateAlarm(count: AlarmCount, spec: AlarmSpec, value: number | undefined, nowMs: number): boolean {
  if (value === undefined) return false;
  count.breached = breaches(spec.comparison, value, spec.threshold) ? count.breached + 1 : 0;
  if (!inAlarm(count, spec) || nowMs < count.cooldownUntilMs) return false;
  count.cooldownUntilMs = nowMs + spec.cooldownMs;
  return true;
}
