import { z } from 'zod';
import { Duration } from '../../scenario/schema.ts';
import { parseDurationMs } from '../../util/duration.ts';
import type { DurationSpec } from '../workload/types.ts';

/**
 * The mechanics both runtimes implement, by name: a runbook step says which one it does, so a runbook is data
 * and the consequence of doing or skipping a step comes from `dr-rehearsal.ts`, never from the runbook.
 */
export const DR_MECHANICS = [
  'confirm_primary_dead',
  'register_image',
  'download_backup',
  'launch_instance',
  'restore_tarball',
  'reassign_private_ip',
  'stop_app',
  'check_hostname',
  'update_replicated_ips',
  'wipe_nomad_state',
  'start_app',
  'cleanup_stuck_builds',
  'get_secret_token',
  'update_launch_configuration',
  'rotate_builders',
] as const;
export type DrMechanic = (typeof DR_MECHANICS)[number];

/**
 * Mechanics only the simulation implements: `twin dr --mode live` refuses a runbook that uses one, so the live
 * rehearsal only ever sees `DrMechanic`s. None today (the builders' re-association is live too:
 * `harness/dr/builders-rotation.ts`).
 */
export const SIM_ONLY_MECHANICS = [] as const;
/** The builders' re-association (runbook `reassociate-builders`): live, the Nomad clients' group is rotated for real. */
export const BUILDER_MECHANICS: readonly DrMechanic[] = ['get_secret_token', 'update_launch_configuration', 'rotate_builders'];

/** Whether a runbook re-associates the builders (a live rehearsal then runs the fleet as the group's instances). */
export function reassociatesBuilders(runbook: AnyRunbook): boolean {
  return runbook.steps.some((s) => (BUILDER_MECHANICS as readonly string[]).includes(s.does));
}
export type SimOnlyMechanic = (typeof SIM_ONLY_MECHANICS)[number];
export type AnyMechanic = DrMechanic | SimOnlyMechanic;
export const ALL_MECHANICS: readonly AnyMechanic[] = [...DR_MECHANICS, ...SIM_ONLY_MECHANICS];

/** Bound on a runbook's length: a runbook is read by a person; more than this is a broken file. */
export const MAX_RUNBOOK_STEPS = 50;

const SeedRef = z.strictObject({ file: z.string().min(1), section: z.string().min(1) });

export const RunbookSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  description: z.string().min(1),
  target_rto: Duration,
  source: SeedRef,
  steps: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'snake_case'),
        seed: SeedRef,
        duration: z.strictObject({ median: Duration, p95: Duration }),
        does: z.enum([...DR_MECHANICS, ...SIM_ONLY_MECHANICS]),
        requires: z.array(z.string()).optional(),
      }),
    )
    .min(1)
    .max(MAX_RUNBOOK_STEPS),
});

export type RawRunbook = z.input<typeof RunbookSchema>;

/** A step; `M` narrows what it does (the live rehearsal takes runbooks of `DrMechanic`s only). */
export interface RunbookStep<M extends AnyMechanic = DrMechanic> {
  name: string;
  seed: { file: string; section: string };
  duration: Extract<DurationSpec, { kind: 'lognormal' }>;
  does: M;
  /** Earlier steps this one needs, or preconditions in words (for the person reading it). */
  requires: string[];
}

export interface Runbook<M extends AnyMechanic = DrMechanic> {
  name: string;
  description: string;
  targetRtoMs: number;
  source: { file: string; section: string };
  steps: RunbookStep<M>[];
}

/** A runbook as read from its file: any mechanic. */
export type AnyRunbook = Runbook<AnyMechanic>;

/** Whether every step of the runbook is one the live rehearsal carries out. */
export function isLiveRunbook(runbook: AnyRunbook): runbook is Runbook {
  return runbook.steps.every((s) => (DR_MECHANICS as readonly string[]).includes(s.does));
}

/**
 * `runbook` followed by the runbooks of `recovery.then`, as one: their steps in order, the first one's name, target
 * and source. Returns the step names that appear twice instead (names must stay unique: the report lists steps by name).
 */
export function chainRunbooks(first: AnyRunbook, then: readonly AnyRunbook[]): { runbook: AnyRunbook; repeated: [] } | { runbook: undefined; repeated: string[] } {
  if (then.length === 0) return { runbook: first, repeated: [] };
  const steps = [...first.steps, ...then.flatMap((r) => r.steps)];
  const names = steps.map((s) => s.name);
  const repeated = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (repeated.length > 0) return { runbook: undefined, repeated };
  return { runbook: { ...first, name: [first.name, ...then.map((r) => r.name)].join('+'), description: [first.description, ...then.map((r) => r.description)].join('; then '), steps }, repeated: [] };
}

/** A problem in a runbook, at a path into it (the loader turns the path into a line and column). */
export interface RunbookIssue {
  path: (string | number)[];
  message: string;
  hint: string;
}

const toMs = (d: string | number): number => (typeof d === 'number' ? d : parseDurationMs(d));

/** Validates a runbook's data: the schema, then what the schema cannot say (unique names, p95 above median). */
export function checkRunbook(data: unknown): { runbook: AnyRunbook; issues: [] } | { runbook: undefined; issues: RunbookIssue[] } {
  const parsed = RunbookSchema.safeParse(data);
  if (!parsed.success) {
    return {
      runbook: undefined,
      issues: parsed.error.issues.map((i) => ({
        path: i.path.map((p) => (typeof p === 'number' ? p : String(p))),
        message: i.message,
        hint: i.path.at(-1) === 'does' ? `one of: ${ALL_MECHANICS.join(', ')}` : 'see fixtures/runbooks/restore-from-ebs.yaml',
      })),
    };
  }
  const raw = parsed.data;
  const issues: RunbookIssue[] = [];
  const seen = new Set<string>();
  raw.steps.forEach((s, i) => {
    if (seen.has(s.name)) issues.push({ path: ['steps', i, 'name'], message: `step \`${s.name}\` appears twice`, hint: 'step names are unique within a runbook' });
    seen.add(s.name);
    if (toMs(s.duration.p95) <= toMs(s.duration.median)) issues.push({ path: ['steps', i, 'duration', 'p95'], message: 'p95 must be greater than the median', hint: 'e.g. { median: 1m, p95: 3m }' });
  });
  if (issues.length > 0) return { runbook: undefined, issues };
  return {
    runbook: {
      name: raw.name,
      description: raw.description,
      targetRtoMs: toMs(raw.target_rto),
      source: raw.source,
      steps: raw.steps.map((s) => ({
        name: s.name,
        seed: s.seed,
        duration: { kind: 'lognormal', medianMs: toMs(s.duration.median), p95Ms: toMs(s.duration.p95) },
        does: s.does,
        requires: s.requires ?? [],
      })),
    },
    issues: [],
  };
}

/** What a rehearsal's `recovery` says about the steps: skipped ones, and the operator's order for some. */
export interface RecoveryChoice {
  skip: readonly string[];
  order: readonly string[];
}

/** The steps in the order the operator runs them: `recovery.order` first, then the others in the runbook's order. */
export function stepOrder<M extends AnyMechanic>(runbook: Runbook<M>, recovery: RecoveryChoice): RunbookStep<M>[] {
  const named = recovery.order.map((n) => runbook.steps.find((s) => s.name === n)).filter((s) => s !== undefined);
  return [...named, ...runbook.steps.filter((s) => !named.includes(s))];
}

/**
 * The steps `step` requires that had not run when it ran (by name, in this runbook, not skipped): non-empty means
 * it ran out of order. Both runtimes judge compliance with this one rule.
 */
export function ranBefore<M extends AnyMechanic>(step: RunbookStep<M>, runbook: Runbook<M>, recovery: RecoveryChoice, ran: ReadonlySet<string>): string[] {
  return step.requires.filter((r) => runbook.steps.some((s) => s.name === r) && !recovery.skip.includes(r) && !ran.has(r));
}

/** A step's status and consequence as the report states it, from what it did and what ran before it. */
export function judgeStep(consequence: string, early: readonly string[]): { status: 'done' | 'out_of_order'; consequence: string } {
  return early.length > 0 ? { status: 'out_of_order', consequence: `${consequence} (ran before ${early.join(', ')})` } : { status: 'done', consequence };
}
