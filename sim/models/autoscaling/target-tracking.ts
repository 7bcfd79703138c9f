/**
 * Target-tracking scaling, as AWS Auto Scaling runs it: a target value on a utilisation-like metric (one that
 * falls as capacity grows); the policy owns two CloudWatch alarms on one-minute datapoints, a high alarm that
 * fires after `TT_SCALE_OUT_DATAPOINTS` consecutive datapoints above the target and a low alarm after
 * `TT_SCALE_IN_DATAPOINTS` below it (out quickly, in conservatively). Either way the new capacity is the one that
 * would bring the metric back to the target, `ceil(inService × value / target)`.
 *
 * Scale-out counts instances still booting or warming up as capacity already there (it only adds when the new
 * capacity exceeds the desired capacity) and needs no cooldown; scale-in waits until no instance is warming up and
 * the scale-in cooldown since the policy's last activity has passed, and never runs with `disableScaleIn`. With
 * several target-tracking policies the group scales out when any asks and to the largest capacity asked, and
 * scales in only when all agree, to the largest of their capacities (AWS's "the policy that provides the largest
 * capacity").
 */

/** Consecutive one-minute datapoints above the target before the high alarm scales out. */
export const TT_SCALE_OUT_DATAPOINTS = 3;
/** Consecutive one-minute datapoints below the target before the low alarm scales in. */
export const TT_SCALE_IN_DATAPOINTS = 15;

export interface TargetTrackingSpec {
  target: number;
  warmupMs: number;
  scaleInCooldownMs: number;
  disableScaleIn: boolean;
}

/** One policy's alarm state: consecutive datapoints above and below the target, and its last scale-in. */
export interface TargetTrackingAlarms {
  above: number;
  below: number;
  lastScaleInMs: number;
}

export function newAlarms(): TargetTrackingAlarms {
  return { above: 0, below: 0, lastScaleInMs: Number.NEGATIVE_INFINITY };
}

/** What the group looks like at one evaluation. */
export interface GroupSample {
  nowMs: number;
  /** The metric's value this minute; undefined is INSUFFICIENT_DATA (the alarms keep their state). */
  value: number | undefined;
  /** Instances in service that report the metric. */
  inService: number;
  /** The desired capacity now (counting instances booting and warming up). */
  desired: number;
  /** Whether any instance is still booting or within its warm-up. */
  warming: boolean;
}

/** A policy's verdict for this minute: scale out or in to `capacity`, or hold. */
export type Proposal = { kind: 'out' | 'in'; capacity: number } | { kind: 'hold' };

/** Updates the alarms with this minute's datapoint and says what the policy asks for. */
export function evaluateTargetTracking(spec: TargetTrackingSpec, alarms: TargetTrackingAlarms, s: GroupSample): Proposal {
  if (s.value === undefined) return { kind: 'hold' };
  alarms.above = s.value > spec.target ? alarms.above + 1 : 0;
  alarms.below = s.value < spec.target ? alarms.below + 1 : 0;
  const capacity = s.inService === 0 ? 0 : Math.ceil((s.inService * s.value) / spec.target - 1e-9);
  if (alarms.above >= TT_SCALE_OUT_DATAPOINTS) {
    // The alarm stays in ALARM and invokes the policy every minute; warming capacity already counts in `desired`.
    return capacity > s.desired ? { kind: 'out', capacity } : { kind: 'hold' };
  }
  if (alarms.below >= TT_SCALE_IN_DATAPOINTS && !spec.disableScaleIn && !s.warming && s.nowMs >= alarms.lastScaleInMs + spec.scaleInCooldownMs) {
    return capacity < s.desired ? { kind: 'in', capacity } : { kind: 'hold' };
  }
  return { kind: 'hold' };
}

/**
 * Combines the policies' proposals into the new desired capacity (before the group's min/max): the largest
 * scale-out if any asks; else a scale-in only if every policy asks for one, to the largest capacity asked.
 */
export function combineProposals(desired: number, proposals: readonly Proposal[]): { desired: number; kind: 'out' | 'in' | 'hold' } {
  let out = -1;
  let inCap = -1;
  let allIn = proposals.length > 0;
  for (const p of proposals) {
    if (p.kind === 'out') out = Math.max(out, p.capacity);
    if (p.kind === 'in') inCap = Math.max(inCap, p.capacity);
    else allIn = false;
  }
  if (out > desired) return { desired: out, kind: 'out' };
  if (allIn && inCap < desired) return { desired: inCap, kind: 'in' };
  return { desired, kind: 'hold' };
}

/** One policy at one evaluation: its settings, its alarms and the metric's value this minute. */
export interface TrackedPolicy {
  readonly spec: TargetTrackingSpec;
  readonly alarms: TargetTrackingAlarms;
  readonly value: number | undefined;
}

/**
 * One evaluation of a group's target-tracking policies, as both the simulation (`asg.ts`) and the twin's Auto
 * Scaling endpoint (`tracking-scaler.ts`) run it: every policy's alarms take this minute's datapoint, and their
 * proposals combine into the group's new desired capacity (before its min/max).
 */
export function trackTargets(policies: readonly TrackedPolicy[], group: Omit<GroupSample, 'value'>): { desired: number; kind: 'out' | 'in' | 'hold' } {
  const proposals = policies.map((p) => evaluateTargetTracking(p.spec, p.alarms, { ...group, value: p.value }));
  return combineProposals(group.desired, proposals);
}

/** A scale-in the group carried out starts every policy's scale-in cooldown. */
export function noteScaleIn(policies: readonly { readonly alarms: TargetTrackingAlarms }[], nowMs: number): void {
  for (const p of policies) p.alarms.lastScaleInMs = nowMs;
}
