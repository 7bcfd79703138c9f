import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { Duration, FAULT_ACTIONS } from '../scenario/schema.ts';
import { Locator, ScenarioError, type ScenarioIssue, type ScenarioContext } from '../scenario/parse.ts';
import type { SettledFault } from '../scenario/settled.ts';
import { parseDurationMs } from '../util/duration.ts';
import { didYouMean } from '../util/suggest.ts';
import { truncateEcho } from '../scenario/limits.ts';
import { simSupport, targetProblem } from '../faults/catalogue.ts';
import { parsePipeline, parseShellLine } from './shell.ts';

/**
 * A training drill as data (fixtures/drills/NAME.yaml): the installation it breaks (a scenario file), the hidden
 * fault in the scenario's fault terms, the ticket the trainee gets, the root cause, the fixes, how the twin checks
 * the fix, hints and the shortest diagnostic path. Parsed with located errors, as scenarios are.
 */

/** The causes a trainee can name (`answer <container> <cause>`). */
export const CAUSES = {
  down: 'the container is not running (stopped, killed, or it exited)',
  hung: 'the container runs but does nothing: no work taken, no heartbeat, health times out',
  draining: 'Nomad clients are draining or ineligible: nothing is placed on them',
  unreachable: 'the service cannot be reached where others expect it (its port)',
  disk_full: 'the Services machine\'s disk is full',
  no_clients: 'there is no Nomad client at all: the Auto Scaling Group keeps none (its desired and minimum capacity)',
  stale_state: 'the Nomad server\'s state (/opt/nomad) is stale: restored jobs and allocations that no client runs hold the capacity',
} as const;
export type Cause = keyof typeof CAUSES;
const CAUSE_NAMES = Object.keys(CAUSES) as [Cause, ...Cause[]];

export const DIFFICULTIES = ['easy', 'medium', 'hard'] as const;

const Check = z.union([
  z.enum(['queue_drains', 'next_build_succeeds', 'no_stale_allocations']),
  z.strictObject({ health_200: z.string().min(1) }),
  z.strictObject({ container_running: z.string().min(1) }),
  z.strictObject({ clients_eligible: z.number().int().min(1).max(10_000) }),
]);

const Line = z.string().min(1).max(400);
const Capacity = z.number().int().min(0).max(10_000);

/** Hidden changes the fault catalogue has no action for: a person's change to the Auto Scaling Group, a restore that kept /opt/nomad. */
const Change = z.union([
  z.strictObject({ at: Duration, asg: z.strictObject({ min: Capacity.optional(), max: Capacity.optional(), desired: Capacity.optional() }) }),
  z.strictObject({ at: Duration, restored_nomad_state: z.strictObject({ stale_allocations: z.number().int().min(1).max(500) }) }),
]);
const CHANGE_HINT = 'a change is { at: 30m, asg: { min: 0, desired: 0 } } (the installation needs `autoscaling`) or { at: 0s, restored_nomad_state: { stale_allocations: 10 } }';

export const DrillSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a kebab-case name such as queued-at-picard-dispatcher'),
  title: z.string().min(1).max(200),
  difficulty: z.enum(DIFFICULTIES),
  installation: z.string().min(1).describe('The scenario file of the healthy installation, relative to the drill file.'),
  faults: z
    .array(
      z.strictObject({
        at: Duration,
        action: z.enum(FAULT_ACTIONS),
        target: z.string().min(1),
        count: z.number().int().min(1).max(10_000).optional(),
      }),
    )
    .max(20)
    .optional(),
  changes: z.array(Change).max(10).optional().describe('Hidden changes outside the fault catalogue (fixtures/drills/README.md).'),
  starts_at: Duration.describe('When the trainee logs in (virtual time since the installation booted).'),
  ticket: z.string().min(1).max(2_000),
  root_cause: z.strictObject({ container: z.string().min(1), cause: z.enum(CAUSE_NAMES) }),
  fixes: z.array(z.array(Line).min(1).max(20)).min(1).max(20),
  verify: z.strictObject({ within: Duration, checks: z.array(Check).min(1).max(20) }),
  hints: z.strictObject({ nudge: Line, pointer: Line, answer: Line }),
  shortest_path: z.array(Line).min(1).max(50),
});
type RawDrill = z.infer<typeof DrillSchema>;

/** A verification check, settled (containers canonical). */
export type VerifyCheck = { kind: 'queue_drains' } | { kind: 'next_build_succeeds' } | { kind: 'no_stale_allocations' } | { kind: 'health_200'; container: string } | { kind: 'container_running'; container: string } | { kind: 'clients_eligible'; count: number };

/** A hidden change, settled: the Auto Scaling Group's bounds set by someone, or a restore that kept a stale /opt/nomad. */
export type HiddenChange = { atMs: number; kind: 'asg'; min?: number; max?: number; desired?: number } | { atMs: number; kind: 'restored_nomad_state'; staleAllocations: number };

/** A drill with its names resolved and durations in ms. */
export interface SettledDrill {
  name: string;
  title: string;
  difficulty: (typeof DIFFICULTIES)[number];
  file: string;
  installation: string;
  faults: SettledFault[];
  changes: HiddenChange[];
  startsAtMs: number;
  ticket: string;
  rootCause: { container: string; cause: Cause };
  fixes: string[][];
  verify: { withinMs: number; checks: VerifyCheck[] };
  hints: { nudge: string; pointer: string; answer: string };
  shortestPath: string[];
}

/** What a drill is checked against: the installation's version and containers (the scenario context of fixtures). */
export interface DrillContext {
  scenario: ScenarioContext;
  version: string;
  /** Containers with a health endpoint (health_200 needs one). */
  hasHealth(container: string): boolean;
}

/** Resolves a name a trainee or drill writes (canonical, alias, or the `docker ps` name) to a canonical one; `nomad_client` stays. */
export function resolveTarget(ctx: ScenarioContext, version: string, name: string): string | undefined {
  if (name === 'nomad_client' || name === 'services_machine') return name;
  return ctx.resolveContainer(version, name);
}

/** Parses a drill file's text; throws ScenarioError with every problem located. */
export function parseDrill(text: string, file: string, ctx: DrillContext): SettledDrill {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = new Locator(doc, lines, file);
  if (doc.errors.length > 0) {
    throw new ScenarioError(doc.errors.slice(0, 20).map((e) => {
      const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      return { file, line: pos.line, column: pos.col, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` };
    }));
  }
  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: 'a drill file must be a YAML mapping', hint: 'start with `name: my-drill`' }]);
  const parsed = DrillSchema.safeParse(data);
  if (!parsed.success) throw new ScenarioError(parsed.error.issues.map((i) => zodIssue(i, at, data)));
  const raw = parsed.data;
  const issues: ScenarioIssue[] = [];
  const settled = settleDrill(raw, file, ctx, at, issues);
  if (issues.length > 0) throw new ScenarioError(issues.sort((a, b) => a.line - b.line || a.column - b.column));
  return settled;
}

function zodIssue(i: z.core.$ZodIssue, at: Locator, data: unknown): ScenarioIssue {
  const path = i.path as (string | number)[];
  if (i.code === 'unrecognized_keys') {
    const keys = Object.keys(DrillSchema.shape);
    const key = i.keys[0]!;
    const allowed = path.length === 0 ? keys : [];
    const dym = path.length === 0 ? didYouMean(key, keys) : '';
    return at.issue([...path, key], `unknown key \`${truncateEcho(key)}\`${dym ? `; ${dym}` : ''}`, allowed.length > 0 ? `allowed here: ${allowed.join(', ')}` : 'remove it; see fixtures/drills/README.md', true);
  }
  let value: unknown = data;
  for (const seg of path) value = value === null || typeof value !== 'object' ? undefined : (value as Record<string | number, unknown>)[seg];
  if (value === undefined) return at.issue(path, 'required field is missing', `add \`${String(path[path.length - 1])}:\`; see fixtures/drills/README.md`, true);
  if (i.code === 'invalid_value') {
    const options = i.values.map(String);
    const dym = typeof value === 'string' ? didYouMean(value, options) : '';
    return at.issue(path, `\`${truncateEcho(String(value))}\` is not allowed${dym ? `; ${dym}` : ''}`, `one of: ${options.join(', ')}`);
  }
  if (i.code === 'invalid_union' && path[0] === 'changes') return at.issue(path, `unexpected value ${truncateEcho(JSON.stringify(value) ?? '')}`, CHANGE_HINT);
  if (i.code === 'invalid_union') return at.issue(path, `unexpected value ${truncateEcho(JSON.stringify(value) ?? '')}`, 'a check is queue_drains, next_build_succeeds, { health_200: C }, { container_running: C } or { clients_eligible: N }');
  return at.issue(path, i.message, 'see fixtures/drills/README.md');
}

function settleDrill(raw: RawDrill, file: string, ctx: DrillContext, at: Locator, issues: ScenarioIssue[]): SettledDrill {
  const ms = (v: string | number) => (typeof v === 'number' ? v : parseDurationMs(v));
  const startsAtMs = ms(raw.starts_at);
  const names = ctx.scenario.containerNames(ctx.version);
  const container = (path: (string | number)[], name: string): string => {
    const c = resolveTarget(ctx.scenario, ctx.version, name);
    if (c === undefined) {
      const dym = didYouMean(name, names);
      issues.push(at.issue(path, `unknown container \`${truncateEcho(name)}\`${dym ? `; ${dym}` : ''}`, 'a container of `twin topology`, or nomad_client'));
      return name;
    }
    return c;
  };
  const faults: SettledFault[] = (raw.faults ?? []).map((f, i) => {
    const target = container(['faults', i, 'target'], f.target);
    const atMs = ms(f.at);
    if (resolveTarget(ctx.scenario, ctx.version, f.target) !== undefined) {
      const wrong = targetProblem(f.action, target);
      if (wrong !== undefined) issues.push(at.issue(['faults', i, 'target'], wrong.message, wrong.hint));
      else {
        const unsupported = simSupport(f.action, target, atMs);
        if (unsupported !== undefined) issues.push(at.issue(['faults', i, 'action'], unsupported, 'a drill runs in the simulation: pick an action its sim column lists (sim/faults/README.md)'));
      }
    }
    if (atMs >= startsAtMs && f.action !== 'fail_at_startup') issues.push(at.issue(['faults', i, 'at'], `the fault comes at or after the trainee logs in (starts_at ${String(raw.starts_at)}): it would not be hidden`, 'put the fault before starts_at, as long before as the ticket says'));
    return { atMs, action: f.action, target, writtenTarget: f.target, count: target === 'nomad_client' ? (f.count ?? 1) : 1 };
  });
  const changes: HiddenChange[] = (raw.changes ?? []).map((c, i) => {
    const atMs = ms(c.at);
    if (atMs >= startsAtMs) issues.push(at.issue(['changes', i, 'at'], `the change comes at or after the trainee logs in (starts_at ${String(raw.starts_at)}): it would not be hidden`, 'put it before starts_at'));
    if ('asg' in c) {
      const { min, max, desired } = c.asg;
      if (min === undefined && max === undefined && desired === undefined) issues.push(at.issue(['changes', i, 'asg'], 'the change sets nothing', 'set min, max or desired'));
      return { atMs, kind: 'asg', ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }), ...(desired === undefined ? {} : { desired }) };
    }
    return { atMs, kind: 'restored_nomad_state', staleAllocations: c.restored_nomad_state.stale_allocations };
  });
  if (faults.length === 0 && changes.length === 0) issues.push(at.issue(['faults'], 'the drill breaks nothing: no `faults` and no `changes`', 'add the hidden fault, e.g. - { at: 40m, action: pause, target: picard-dispatcher }', true));
  const rootContainer = container(['root_cause', 'container'], raw.root_cause.container);
  const checks: VerifyCheck[] = raw.verify.checks.map((c, i) => {
    if (typeof c === 'string') return { kind: c };
    if ('health_200' in c) {
      const name = container(['verify', 'checks', i, 'health_200'], c.health_200);
      if (resolveTarget(ctx.scenario, ctx.version, c.health_200) !== undefined && !ctx.hasHealth(name)) issues.push(at.issue(['verify', 'checks', i, 'health_200'], `\`${name}\` has no health endpoint in the seeds' table`, 'use { container_running: NAME } for it'));
      return { kind: 'health_200', container: name };
    }
    if ('container_running' in c) return { kind: 'container_running', container: container(['verify', 'checks', i, 'container_running'], c.container_running) };
    return { kind: 'clients_eligible', count: c.clients_eligible };
  });
  const shellLines = (path: (string | number)[], lines: readonly string[]) =>
    lines.forEach((l, i) => {
      const pipe = parsePipeline(l);
      const p = 'kind' in pipe ? pipe : parseShellLine(pipe.command);
      if (p.kind === 'refusal' || p.kind === 'noop' || p.kind === 'exit') issues.push(at.issue([...path, i], `\`${truncateEcho(l)}\` is not a command the drill shell carries out${p.kind === 'refusal' ? ` (${p.output.split('\n')[0]})` : ''}`, 'write it as the trainee would type it; `help` inside a drill lists the commands'));
    });
  shellLines(['shortest_path'], raw.shortest_path);
  raw.fixes.forEach((f, i) => shellLines(['fixes', i], f));
  if (!raw.shortest_path.some((l) => /^(twin )?answer /.test(l.trim()))) issues.push(at.issue(['shortest_path'], 'the shortest path names no root cause (`answer <container> <cause>`)', 'add the answer line where the trainee would know it'));
  return {
    name: raw.name,
    title: raw.title,
    difficulty: raw.difficulty,
    file,
    installation: raw.installation,
    faults,
    changes,
    startsAtMs,
    ticket: raw.ticket.trim(),
    rootCause: { container: rootContainer, cause: raw.root_cause.cause },
    fixes: raw.fixes,
    verify: { withinMs: ms(raw.verify.within), checks },
    hints: raw.hints,
    shortestPath: raw.shortest_path,
  };
}
