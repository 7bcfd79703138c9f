import { LineCounter, parseDocument, isAlias, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ScenarioSchema, FAULT_ACTIONS, WHOLE_MS, type RawExpectation, type RawScenario } from './schema.ts';
import { LIMITS, limitFromTag, overLimitMessage, truncateEcho, type Limit } from './limits.ts';
import { tuneSpecIssues } from '../tune/spec.ts';
import { expectedWorkload } from './expected-workload.ts';
import { validateArrivalSpec } from '../models/workload/arrivals.ts';
import { validateDurationSpec } from '../models/workload/durations.ts';
import { JobMix } from '../models/workload/job-mix.ts';
import type { SettledResourceClass, SettledScenario } from './settled.ts';
import { settle } from './settle.ts';
import { didYouMean, suggest } from '../util/suggest.ts';
import { formatDurationMs, parseDurationMs } from '../util/duration.ts';
import { reportPaths, isDurationMetric, getPath, normalizePath, DR_REPORT_PATHS } from '../report/paths.ts';
import { SELF_REFERENTIAL } from '../report/expectations.ts';
import { sampleReport } from '../report/sample.ts';
import { parseTrace, TraceParseError } from '../models/workload/trace-file.ts';
import { targetProblem, undoOf, UNDOABLE_ACTIONS } from '../faults/catalogue.ts';

/** One problem in a scenario file, located for an editor: `file:line:column: field: message` and a hint. */
export interface ScenarioIssue {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
  hint?: string;
}

/** YAML syntax errors reported (a page of garbage has thousands); the rest are counted in a last issue. */
export const MAX_SYNTAX_ISSUES = 50;
/** Longest message or hint of an issue; a field name is cut at `ECHO_CHARS`. */
export const MAX_ISSUE_CHARS = 400;

/** A scenario that cannot run. Carries every issue found, not just the first, each of bounded length. */
export class ScenarioError extends Error {
  readonly code = 'SCENARIO_INVALID';
  readonly issues: ScenarioIssue[];
  constructor(issues: ScenarioIssue[]) {
    const bounded = issues.map(boundIssue);
    super(bounded.map(formatIssue).join('\n'));
    this.issues = bounded;
    this.name = 'ScenarioError';
  }
}

function boundIssue(i: ScenarioIssue): ScenarioIssue {
  const cut = (t: string) => truncateEcho(t, MAX_ISSUE_CHARS);
  return { ...i, line: Math.max(1, i.line), column: Math.max(1, i.column), field: truncateEcho(i.field), message: cut(i.message), ...(i.hint === undefined ? {} : { hint: cut(i.hint) }) };
}

export function formatIssue(issue: ScenarioIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  const field = issue.field === '' ? '' : ` ${issue.field}:`;
  return `${where}:${field} ${issue.message}${issue.hint ? `\n    hint: ${issue.hint}` : ''}`;
}

/** What a scenario is checked against: the version profile's containers and resource classes (from fixtures). */
export interface ScenarioContext {
  resolveContainer(version: string, name: string): string | undefined;
  containerNames(version: string): readonly string[];
  resourceClasses(version: string): readonly SettledResourceClass[];
  defaultResourceClass(version: string): string;
  /** Why the runtime cannot apply a fault (refused with its location), or undefined when it can. */
  faultSupport?(action: (typeof FAULT_ACTIONS)[number], target: string, atMs: number): string | undefined;
  /**
   * Reads a file named in the scenario (a trace), relative to the scenario file, within `max_trace_file_bytes`.
   * Throws an Error whose message says why it cannot (never the file's contents), with an optional `hint`.
   */
  readFile?(relativePath: string): string;
  /**
   * The command the scenario is read for: `dr` also knows `dr-report.json`'s paths in `expect`
   * (`rto_ms`, `rpo_ms`, `runbook.N.status`, ...); `run` refuses `backups`, `disaster` and `recovery` (they are
   * `twin dr`'s). Unset (`twin validate`): a scenario with `disaster` or `recovery` is read as `dr` would.
   * `tune` reads it as `run` does, and also takes its `tune` section, which `run` and `dr` refuse.
   */
  command?: 'run' | 'dr' | 'tune';
}

type PathSeg = string | number;

const SPECIAL_TARGETS = ['nomad_client', 'services_machine'] as const;
/** Parses and validates a scenario file's text; returns the settled scenario or throws a ScenarioError. */
export function parseScenario(text: string, file: string, ctx: ScenarioContext): SettledScenario {
  const size = LIMITS.scenarioFileBytes;
  if (text.length > size.value) throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: overLimitMessage(size, `the file (${text.length} characters)`), hint: size.hint }]);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const located = new Locator(doc, lineCounter, file);

  if (doc.errors.length > 0) {
    const more = doc.errors.length - MAX_SYNTAX_ISSUES;
    const last = lineCounter.linePos(doc.errors[doc.errors.length - 1]!.pos[0]);
    throw new ScenarioError([
      ...doc.errors.slice(0, MAX_SYNTAX_ISSUES).map((e) => {
        const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
        // The parser turns its own stack overflow on deep nesting into this code.
        if (e.code === 'RESOURCE_EXHAUSTION') return { file, line: pos.line, column: pos.col, field: '', message: overLimitMessage(LIMITS.yamlDepth, 'the nesting'), hint: LIMITS.yamlDepth.hint };
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, hint: yamlHint(e.code) };
      }),
      ...(more > 0 ? [{ file, line: last.line, column: last.col, field: '', message: `and ${more} more YAML syntax errors`, hint: 'is this a YAML file? fix the first ones above' }] : []),
    ]);
  }
  const shapeIssues = documentShapeIssues(doc, lineCounter, file);
  if (shapeIssues.length > 0) throw new ScenarioError(shapeIssues);
  let data: unknown;
  try {
    // The library counts the anchor itself as the first use: the limit plus one lets exactly the limit of aliases through.
    data = doc.toJS({ maxAliasCount: LIMITS.yamlAliases.value + 1 });
  } catch (e) {
    // Aliases within the count can still expand past it (an alias of an alias of ...): the library refuses those.
    if (e instanceof ReferenceError) throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: overLimitMessage(LIMITS.yamlAliases, 'the expansion of aliases'), hint: LIMITS.yamlAliases.hint }]);
    throw e;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: 'a scenario file must be a YAML mapping', hint: 'start with `name: my-scenario`' }]);
  }

  const parsed = ScenarioSchema.safeParse(data);
  if (!parsed.success) {
    throw new ScenarioError(sortIssues(parsed.error.issues.flatMap((i) => zodIssue(i, located, data))));
  }
  const raw = parsed.data as RawScenario;
  const issues = [...notYetRunIssues(raw, located), ...semanticIssues(raw, ctx, located)];
  if (issues.length > 0) throw new ScenarioError(sortIssues(issues));

  const traceText = raw.workload.arrivals.kind === 'trace' ? readTrace(raw.workload.arrivals.file, raw.workload.jobs.length, ctx, located) : undefined;
  const settled = settle(raw, { file, ctx, traceText });
  const runIssues = settledIssues(settled, located);
  if (runIssues.length > 0) throw new ScenarioError(sortIssues(runIssues));
  return settled;
}

/**
 * Sections and keys the schema knows (DESIGN.md names them) but no command runs yet: accepting them would let
 * a scenario validate and then change nothing: delete a key's entry here once a command acts on it. (`backups`,
 * `disaster` and `recovery` are run by `twin dr`, and `twin run` refuses them below, pointing to it; `autoscaling`,
 * `cost`, `topology.scheduler` and the clients' `instance_type` and `hour_usd` act in every simulated run.)
 */
const NOT_YET_RUN: readonly { path: readonly PathSeg[]; message: string; hint: string }[] = [
  { path: ['topology', 'vm_service', 'max_instances'], message: '`max_instances` is not modelled: the simulated vm-service launches every instance asked for', hint: 'remove it' },
];

function notYetRunIssues(raw: RawScenario, at: Locator): ScenarioIssue[] {
  return NOT_YET_RUN.filter((n) => valueAt(raw, n.path) !== undefined).map((n) => at.issue(n.path, n.message, n.hint, true));
}

/**
 * The shape of the document before anything is built from it: nesting depth, alias count and string length,
 * walked iteratively (a deep document must not overflow the stack here either).
 */
function documentShapeIssues(doc: Document, lines: LineCounter, file: string): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const issueAt = (node: unknown, l: Limit, what: string): void => {
    const pos = lines.linePos(rangeStart(node) ?? 0);
    issues.push({ file, line: pos.line, column: pos.col, field: '', message: overLimitMessage(l, what), hint: l.hint });
  };
  let aliases = 0;
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  while (stack.length > 0 && issues.length < MAX_SYNTAX_ISSUES) {
    const { node, depth } = stack.pop()!;
    if (isAlias(node)) {
      aliases++;
      if (aliases === LIMITS.yamlAliases.value + 1) issueAt(node, LIMITS.yamlAliases, `alias number ${aliases}`);
    } else if (isScalar(node)) {
      if (typeof node.value === 'string' && node.value.length > LIMITS.stringChars.value) issueAt(node, LIMITS.stringChars, `a text of ${node.value.length} characters`);
    } else if (isMap(node) || isSeq(node)) {
      if (depth + 1 > LIMITS.yamlDepth.value) {
        issueAt(node, LIMITS.yamlDepth, `nesting ${depth + 1} levels deep`);
        continue;
      }
      // Pushed last to first, so that nodes are visited in document order (the alias past the limit is the last).
      for (const item of [...node.items].reverse()) {
        if (isPair(item)) {
          // A mapping or list as a key (`? [a, b]`) has no place in a scenario, and JavaScript objects cannot hold it.
          if (item.key !== null && !isScalar(item.key)) {
            const pos = lines.linePos(rangeStart(item.key) ?? 0);
            issues.push({ file, line: pos.line, column: pos.col, field: '', message: 'a key must be a plain name, not a mapping or a list', hint: 'write keys such as `name:`' });
          }
          stack.push({ node: item.value, depth: depth + 1 });
          stack.push({ node: item.key, depth: depth + 1 });
        } else stack.push({ node: item, depth: depth + 1 });
      }
    }
  }
  return issues;
}

function readTrace(traceFile: string, jobCount: number, ctx: ScenarioContext, at: Locator): string {
  const path = ['workload', 'arrivals', 'file'];
  const name = truncateEcho(traceFile);
  if (!ctx.readFile) throw new ScenarioError([at.issue(path, 'trace files cannot be read here', 'run the scenario from a file on disk')]);
  let text: string;
  try {
    text = ctx.readFile(traceFile);
  } catch (e) {
    const hint = (e as { hint?: unknown }).hint;
    throw new ScenarioError([at.issue(path, `cannot read trace file \`${name}\`: ${(e as Error).message}`, typeof hint === 'string' ? hint : 'the path is relative to the scenario file')]);
  }
  if (text.length > LIMITS.traceFileBytes.value) throw new ScenarioError([at.issue(path, overLimitMessage(LIMITS.traceFileBytes, `trace file \`${name}\` (${text.length} characters)`), LIMITS.traceFileBytes.hint)]);
  try {
    parseTrace(text, { source: traceFile, jobCount, maxRows: LIMITS.traceRows.value, maxRowsName: LIMITS.traceRows.name });
  } catch (e) {
    if (e instanceof TraceParseError) {
      throw new ScenarioError([{ file: traceFile, line: e.line, column: e.column ?? 1, field: e.field, message: e.problem, hint: e.hint }]);
    }
    throw e;
  }
  return text;
}

export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly file: string,
  ) {}

  /** Line and column of the value at `path` (or of its key when `atKey`), falling back to the nearest ancestor. */
  position(path: readonly PathSeg[], atKey = false): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (last && atKey) {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        node = pair.value;
        offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (node === undefined) break;
        offset = rangeStart(node) ?? offset;
      } else break;
    }
    return this.lines.linePos(offset);
  }

  issue(path: readonly PathSeg[], message: string, hint?: string, atKey = false): ScenarioIssue {
    const pos = this.position(path, atKey);
    return { file: this.file, line: pos.line, column: pos.col, field: fieldName(path), message, ...(hint ? { hint } : {}) };
  }
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | undefined)?.range;
  return r ? r[0] : undefined;
}

export function fieldName(path: readonly PathSeg[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

/** Sorted by position, one issue per field (a value failing two checks is reported once). */
function sortIssues(issues: ScenarioIssue[]): ScenarioIssue[] {
  const seen = new Set<string>();
  const unique = issues.filter((i) => {
    const key = `${i.file}:${i.line}:${i.column}:${i.field}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.line - b.line || a.column - b.column || a.field.localeCompare(b.field));
}

function yamlHint(code: string): string | undefined {
  if (code === 'DUPLICATE_KEY') return 'each key may appear once in a mapping';
  if (code === 'BAD_INDENT' || code === 'MISSING_CHAR') return 'check indentation and closing brackets';
  if (code === 'TAB_AS_INDENT') return 'indent with spaces, not tabs';
  return undefined;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return `\`${truncateEcho(v)}\``;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `\`${String(v)}\``;
}

function valueAt(data: unknown, path: readonly PathSeg[]): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

type ZodIssue = z.core.$ZodIssue;

function zodIssue(issue: ZodIssue, at: Locator, data: unknown): ScenarioIssue[] {
  const path = issue.path as PathSeg[];
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const allowed = allowedKeys(ScenarioSchema, path, data);
        const dym = didYouMean(key, allowed);
        return at.issue([...path, key], `unknown key \`${truncateEcho(key)}\`${dym ? `; ${dym}` : ''}`, `allowed here: ${allowed.join(', ')}`, true);
      });
    case 'invalid_type': {
      if (issue.message === WHOLE_MS) {
        return [at.issue(path, `${describeValue(value)} is not a whole number of milliseconds: a bare number is milliseconds`, `give a unit, such as ${value}s, ${value}m or ${value}h, or a whole number of ms`)];
      }
      if (value === undefined) return [at.issue(path, `required field is missing`, `add \`${String(path[path.length - 1])}:\``, true)];
      return [at.issue(path, `expected ${issue.expected}, got ${describeValue(value)}`)];
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      const dym = typeof value === 'string' ? didYouMean(value, options) : '';
      return [at.issue(path, `${describeValue(value)} is not allowed${dym ? `; ${dym}` : ''}`, `one of: ${options.join(', ')}`)];
    }
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator) {
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
        const dym = typeof value === 'string' ? didYouMean(value, options) : '';
        return [at.issue(path, `${describeValue(value)} is not a known ${issue.discriminator}${dym ? `; ${dym}` : ''}`, `one of: ${options.join(', ')}`)];
      }
      // Report the alternative whose type matched (the most specific complaint); durations get their own hint.
      const best = pickUnionBranch(issue.errors);
      if (best && best.length > 0) return best.flatMap((i) => zodIssue({ ...i, path: [...path, ...(i.path as PathSeg[])] } as ZodIssue, at, data));
      return [at.issue(path, `unexpected value ${describeValue(value)}`)];
    }
    case 'invalid_format':
      if (issue.format === 'regex') return [at.issue(path, `${describeValue(value)} is not valid: expected ${issue.message ?? 'another form'}`)];
      return [at.issue(path, issue.message ?? 'invalid format')];
    case 'too_small':
    case 'too_big': {
      const l = issue.code === 'too_big' ? limitFromTag(issue.message) : undefined;
      if (l) return [at.issue(path, overLimitMessage(l, Array.isArray(value) ? `a list of ${value.length}` : describeValue(value)), l.hint)];
      const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      const what = issue.origin === 'array' ? 'items' : issue.origin === 'string' ? 'characters' : '';
      return [at.issue(path, `${describeValue(value)} is out of range: must be ${bound}${what ? ` ${what}` : ''}`)];
    }
    case 'custom': {
      const l = limitFromTag(issue.message);
      if (l) return [at.issue(path, overLimitMessage(l, typeof value === 'object' && value !== null ? `${Object.keys(value).length} entries` : describeValue(value)), l.hint)];
      if (value !== undefined && (typeof value === 'string' || typeof value === 'number')) return [at.issue(path, `${describeValue(value)} is not valid: expected ${issue.message}`)];
      return [at.issue(path, issue.message ?? 'invalid value')];
    }
    default:
      return [at.issue(path, issue.message ?? 'invalid value')];
  }
}

/** Among a union's branches, the one whose complaint is not merely a type mismatch at the top. */
function pickUnionBranch(branches: ZodIssue[][]): ZodIssue[] | undefined {
  const typed = branches.filter((b) => !(b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0 && b[0]!.message !== WHOLE_MS));
  const pool = typed.length > 0 ? typed : branches;
  return [...pool].sort((a, b) => a.length - b.length)[0];
}

/** The keys a mapping at `path` accepts, read from the schema (unions contribute all their options' keys). */
function allowedKeys(schema: z.ZodType, path: readonly PathSeg[], data: unknown): string[] {
  const keys = new Set<string>();
  const visit = (s: z.ZodType, rest: readonly PathSeg[]): void => {
    const def = (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'nullable':
      case 'readonly':
        return visit(def.innerType as z.ZodType, rest);
      case 'pipe':
        return visit(def.in as z.ZodType, rest);
      case 'union':
        for (const o of def.options as z.ZodType[]) visit(o, rest);
        return;
      case 'array':
        if (rest.length > 0) visit(def.element as z.ZodType, rest.slice(1));
        return;
      case 'record':
        if (rest.length > 0) visit(def.valueType as z.ZodType, rest.slice(1));
        return;
      case 'object': {
        const shape = def.shape as Record<string, z.ZodType>;
        if (rest.length === 0) for (const k of Object.keys(shape)) keys.add(k);
        else if (shape[String(rest[0])]) visit(shape[String(rest[0])]!, rest.slice(1));
        return;
      }
      default:
        return;
    }
  };
  void data;
  visit(schema, path);
  return [...keys].sort();
}

let cachedSample: ReturnType<typeof sampleReport> | undefined;
let cachedReportPaths: string[] | undefined;
function sample(): ReturnType<typeof sampleReport> {
  cachedSample ??= sampleReport();
  return cachedSample;
}
function knownReportPaths(): string[] {
  cachedReportPaths ??= reportPaths(sample());
  return cachedReportPaths;
}

function semanticIssues(raw: RawScenario, ctx: ScenarioContext, at: Locator): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const version = raw.version ?? '2.19.6';
  const durationMs = toMs(raw.duration);

  // Fault targets and actions.
  const names = [...ctx.containerNames(version), ...SPECIAL_TARGETS];
  (raw.faults ?? []).forEach((f, i) => {
    const canonical = SPECIAL_TARGETS.includes(f.target as (typeof SPECIAL_TARGETS)[number]) ? f.target : ctx.resolveContainer(version, f.target);
    if (canonical === undefined) {
      const dym = didYouMean(f.target, names);
      issues.push(
        at.issue(['faults', i, 'target'], `unknown target \`${f.target}\`${dym ? `; ${dym}` : ''}`, `targets are container names or aliases of version ${version} (see \`twin topology --version ${version}\`), \`nomad_client\` or \`services_machine\``),
      );
    }
    // The fault catalogue (sim/faults/catalogue.ts) says which targets an action names and what `for` undoes.
    const problem = canonical === undefined ? undefined : targetProblem(f.action, canonical);
    if (problem) issues.push(at.issue(['faults', i, 'action'], problem.message, problem.hint));
    const atMs = toMs(f.at);
    const unsupported = canonical === undefined || problem ? undefined : ctx.faultSupport?.(f.action, canonical, atMs);
    if (unsupported !== undefined) issues.push(at.issue(['faults', i, 'action'], unsupported, 'see sim/faults/README.md for what the simulation models'));
    if (atMs > durationMs) issues.push(at.issue(['faults', i, 'at'], `fault at ${f.at} is after the end of the scenario (duration ${raw.duration})`, 'faults must happen within `duration`'));
    if (f.for !== undefined && undoOf(f.action) === undefined) {
      issues.push(at.issue(['faults', i, 'for'], `\`for\` cannot undo \`${f.action}\``, `\`for\` applies to: ${UNDOABLE_ACTIONS.join(', ')}; schedule the opposite action as its own fault`));
    }
    if (f.count !== undefined && canonical !== 'nomad_client') issues.push(at.issue(['faults', i, 'count'], '`count` applies only to the `nomad_client` target'));
  });

  // Resource classes: known for the executor, and fitting a client after the reservation.
  const classes = new Map<string, SettledResourceClass>();
  for (const rc of ctx.resourceClasses(version)) classes.set(`${rc.executor}:${rc.name}`, rc);
  for (const [name, rc] of Object.entries(raw.topology?.resource_classes ?? {})) {
    classes.set(`docker:${name}`, { name, executor: 'docker', cpuMilli: Math.round(rc.cpu * 1000), memoryMb: rc.ram_mb });
  }
  const clients = raw.topology?.nomad_clients;
  const usableCpuMilli = ((clients?.cpus ?? 8) - 2) * 1000;
  const usableMemMb = ((clients?.memory_gb ?? 32) - 4) * 1024;
  raw.workload.jobs.forEach((job, i) => {
    const executor = job.executor === 'machine' ? 'machine' : 'docker';
    const name = job.resource_class ?? ctx.defaultResourceClass(version);
    const rc = classes.get(`${executor}:${name}`);
    if (!rc) {
      const known = [...classes.values()].filter((c) => c.executor === executor).map((c) => c.name);
      const dym = didYouMean(name, known);
      issues.push(at.issue(['workload', 'jobs', i, 'resource_class'], `unknown ${executor} resource class \`${name}\`${dym ? `; ${dym}` : ''}`, `known: ${known.join(', ')}; add one under topology.resource_classes`));
    } else if (clients?.count !== 0 && (rc.cpuMilli > usableCpuMilli || rc.memoryMb > usableMemMb)) {
      issues.push(
        at.issue(
          ['workload', 'jobs', i, 'resource_class'],
          `resource class \`${name}\` needs ${rc.cpuMilli / 1000} CPU / ${rc.memoryMb} MB but a Nomad client has ${usableCpuMilli / 1000} CPU / ${usableMemMb} MB usable after the 2 vCPU / 4 GB reservation`,
          'raise topology.nomad_clients.cpus or memory_gb, or use a smaller class: such jobs would stay queued forever',
        ),
      );
    }
    const d = job.duration;
    const dPath = ['workload', 'jobs', i, 'duration'];
    if (typeof d === 'object' && d !== null) {
      if ('median' in d && toMs(d.median) === 0) issues.push(at.issue([...dPath, 'median'], 'the median of a lognormal duration must be above 0', 'a lognormal is positive: give a median such as 5m'));
      else if ('p95' in d && 'median' in d && toMs(d.p95) <= toMs(d.median)) issues.push(at.issue([...dPath, 'p95'], 'p95 must be greater than the median', 'for a fixed duration write it alone, e.g. `duration: 5m`'));
      if ('mean' in d && toMs(d.mean) === 0) issues.push(at.issue([...dPath, 'mean'], 'the mean of an exponential duration must be above 0', 'give a mean such as 3m'));
      if ('min' in d && 'max' in d && toMs(d.max) < toMs(d.min)) issues.push(at.issue([...dPath, 'max'], 'max must be at least min'));
    }
  });

  // Arrival shapes the processes cannot run.
  const a = raw.workload.arrivals;
  if (a.kind === 'diurnal' && a.width !== undefined && toMs(a.width) === 0) {
    issues.push(at.issue(['workload', 'arrivals', 'width'], 'the width of the working-hours bell must be above 0', 'the default is 2h30m'));
  }
  if (a.kind === 'burst') {
    if (toMs(a.every) === 0) issues.push(at.issue(['workload', 'arrivals', 'every'], 'bursts must be some time apart: `every` must be above 0', 'e.g. every: 1h'));
    else if (toMs(a.length) > toMs(a.every)) issues.push(at.issue(['workload', 'arrivals', 'length'], `a burst of ${a.length} does not fit in its period of ${a.every}: bursts would overlap`, 'make `length` at most `every`'));
  }

  // The Services machine's volume bounds its free space and RabbitMQ's limit.
  const sm = raw.topology?.services_machine;
  if (sm?.disk_gb !== undefined) {
    if (sm.disk_free_gb !== undefined && sm.disk_free_gb > sm.disk_gb) issues.push(at.issue(['topology', 'services_machine', 'disk_free_gb'], `${sm.disk_free_gb} GB free is more than the volume's ${sm.disk_gb} GB`, 'disk_free_gb is at most disk_gb'));
    if (sm.rabbitmq_disk_limit_gb !== undefined && sm.rabbitmq_disk_limit_gb > sm.disk_gb) issues.push(at.issue(['topology', 'services_machine', 'rabbitmq_disk_limit_gb'], `RabbitMQ's limit of ${sm.rabbitmq_disk_limit_gb} GB is more than the volume's ${sm.disk_gb} GB`, 'rabbitmq_disk_limit_gb is at most disk_gb'));
  }

  // Expectations: the metric must be a path of the report; duration bounds only for *_ms metrics.
  // A DR scenario (read by `twin dr`, or carrying `disaster`/`recovery`) may also name dr-report.json's paths.
  const runLike = ctx.command === 'run' || ctx.command === 'tune';
  const isDr = ctx.command === 'dr' || (!runLike && (raw.disaster !== undefined || raw.recovery !== undefined));
  if (raw.tune !== undefined) {
    if (ctx.command === 'run' || ctx.command === 'dr') issues.push(at.issue(['tune'], `\`tune\` is a sweep of this scenario, which \`twin ${ctx.command}\` does not run`, `run the sweep with \`twin tune ${at.file}\`, or remove the section to ${ctx.command} the scenario as written`));
    for (const i of tuneSpecIssues(raw.tune)) issues.push(at.issue(['tune', ...i.path], i.message, i.hint));
  }
  if (runLike) {
    for (const key of ['backups', 'disaster', 'recovery'] as const) {
      if (raw[key] !== undefined) issues.push(at.issue([key], `\`${key}\` belongs to a disaster-recovery rehearsal, which \`twin run\` does not run`, `run it with \`twin dr ${at.file}\``));
    }
  }
  if (ctx.command !== 'run') issues.push(...drSectionIssues(raw, at));
  const paths = isDr ? [...knownReportPaths(), ...DR_REPORT_PATHS] : knownReportPaths();
  (raw.expect ?? []).forEach((e, i) => {
    // Any element of a list stands for all of them: `faults.2.target` is known if `faults.0.target` is.
    const asFirst = e.metric.replace(/\[(\d+)\]/g, '.$1').replace(/\.\d+(?=\.|$)/g, '.0');
    const known = paths.includes(e.metric) || paths.includes(asFirst) || e.metric.startsWith('metrics.');
    if (!known) {
      const s = suggest(e.metric, paths);
      issues.push(at.issue(['expect', i, 'metric'], `unknown metric \`${e.metric}\`${s ? `; did you mean \`${s}\`?` : ''}`, 'a dotted path into report.json, e.g. builds.lost, queue_time_ms.p95, observed_severity'));
    }
    for (const op of ['max', 'min'] as const) {
      const v = e[op];
      if (typeof v === 'string' && !isDurationMetric(e.metric)) {
        issues.push(at.issue(['expect', i, op], `a duration (${v}) is only allowed for *_ms metrics`, 'give a plain number'));
      }
    }
    if (e.metric === 'observed_severity' && e.equals !== undefined && !['none', 'mild', 'moderate', 'severe'].includes(String(e.equals))) {
      issues.push(at.issue(['expect', i, 'equals'], `\`${truncateEcho(String(e.equals))}\` is not a severity`, 'one of: none, mild, moderate, severe'));
    } else if (known) {
      const problem = expectationTypeProblem(e, asFirst);
      if (problem) issues.push(at.issue(['expect', i, problem.op], problem.message, problem.hint));
    }
  });

  (raw.workload.scheduled ?? []).forEach((s, i) => {
    if (s.job >= raw.workload.jobs.length) issues.push(at.issue(['workload', 'scheduled', i, 'job'], `job ${s.job} does not exist: the workload has ${raw.workload.jobs.length} job templates (0 to ${raw.workload.jobs.length - 1})`));
    if (toMs(s.every) < 60_000) issues.push(at.issue(['workload', 'scheduled', i, 'every'], 'a schedule runs at most once a minute', 'use 1m or more'));
  });

  if (raw.autoscaling && raw.autoscaling.min > raw.autoscaling.max) issues.push(at.issue(['autoscaling', 'min'], 'min must not exceed max'));
  return issues;
}

/**
 * What the DR sections' schema cannot say: which keys go with which strategy or disaster, and the replica's limits.
 * Each refusal names the mechanics behind it, so a user learns why and what to write instead.
 */
function drSectionIssues(raw: RawScenario, at: Locator): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const b = raw.backups;
  const d = raw.disaster;
  if (b) {
    if (b.strategy === 'replica') {
      if (b.every !== undefined) issues.push(at.issue(['backups', 'every'], 'a replica is kept in sync continuously: it takes no scheduled backups', 'remove `every`; give the replication `lag`'));
      if (b.lag === undefined) issues.push(at.issue(['backups'], 'a replica needs its replication `lag` (the RPO of a fail-over to it)', 'e.g. backups: { strategy: replica, lag: 30s }'));
      if (b.copy !== undefined) issues.push(at.issue(['backups', 'copy'], 'a replica is not copied to another region', 'copies are of ebs_snapshot or tarball backups'));
      if (d && (d.kind === 'ebs_corruption' || d.kind === 'settings_change')) {
        issues.push(at.issue(['backups', 'strategy'], `a replica replicates the ${d.kind === 'ebs_corruption' ? 'corrupted blocks' : 'settings change'} within its lag: it cannot restore to before it`, 'restore from backups taken before it: strategy ebs_snapshot or tarball'));
      }
    } else {
      if (b.every === undefined) issues.push(at.issue(['backups'], `${b.strategy} backups need their interval \`every\``, 'e.g. backups: { strategy: ebs_snapshot, every: 1h }'));
      if (b.lag !== undefined) issues.push(at.issue(['backups', 'lag'], '`lag` is a replica\'s', 'remove it, or use strategy: replica'));
    }
  }
  if (d) {
    if (d.kind === 'settings_change' && d.breaks === undefined) issues.push(at.issue(['disaster'], 'a settings_change needs what it `breaks`', 'breaks: contexts (jobs with uses_contexts fail) or project_settings (builds of the changed projects fail)'));
    if (d.kind !== 'settings_change' && d.breaks !== undefined) issues.push(at.issue(['disaster', 'breaks'], `\`breaks\` is a settings_change's, not a ${d.kind}'s`, 'remove it'));
    if (d.share !== undefined && d.breaks !== 'project_settings') issues.push(at.issue(['disaster', 'share'], '`share` is the share of projects a project_settings change touches', 'remove it, or set breaks: project_settings'));
    if (d.kind === 'settings_change' && d.breaks === 'contexts' && !raw.workload.jobs.some((j) => j.uses_contexts === true)) {
      issues.push(at.issue(['disaster', 'breaks'], 'no job of the workload uses contexts: breaking them would change nothing', 'set uses_contexts: true on a job, or break project_settings'));
    }
  }
  return issues;
}

/**
 * A value of the wrong type for its metric (a text for a count, a bound on a text): found now, not as a failed
 * run. The metric's type is read from the sample report; `metrics.*` (statsd names) are numbers.
 */
function expectationTypeProblem(e: RawExpectation, samplePath: string): { op: 'equals' | 'max' | 'min'; message: string; hint: string } | undefined {
  const lookup = e.metric.startsWith('metrics.') ? { found: true as const, value: 0 } : getPath(sample(), samplePath);
  if (!lookup.found) return undefined;
  const value = lookup.value;
  const metric = truncateEcho(e.metric);
  const op = e.equals !== undefined ? 'equals' : e.max !== undefined ? 'max' : 'min';
  if (SELF_REFERENTIAL.includes(normalizePath(e.metric).split('.')[0] ?? '')) {
    return { op, message: `\`${metric}\` is decided by the expectations themselves`, hint: 'name a measured field, e.g. builds.lost' };
  }
  const kind = typeof value;
  if (e.equals !== undefined) {
    const v = e.equals;
    const durationText = typeof v === 'string' && kind === 'number' && isDurationMetric(e.metric);
    if (v !== null && value !== null && typeof v !== kind && !durationText) {
      return { op: 'equals', message: `\`${metric}\` is a ${kind}, but the expected value ${describeValue(v)} is a ${typeof v}`, hint: kind === 'number' ? 'give a number' : kind === 'boolean' ? 'give true or false' : 'give a text' };
    }
    return undefined;
  }
  if (value !== null && kind !== 'number') return { op, message: `\`${metric}\` is a ${kind}, not a number: \`${op}\` cannot compare it`, hint: 'use `equals` for it' };
  return undefined;
}

/**
 * Checks of the settled scenario: the work it asks for against the memory limits, then the models' own
 * validators, so that anything `validate` accepts is something `run` can run (a gap here is a located error,
 * never a crash of the run).
 */
function settledIssues(s: SettledScenario, at: Locator): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const work = expectedWorkload(s);
  const arrivalsPath = ['workload', 'arrivals'];
  const rounded = (n: number) => Math.round(n).toLocaleString('en');
  if (work.builds > LIMITS.simulatedBuilds.value) {
    issues.push(at.issue(arrivalsPath, overLimitMessage(LIMITS.simulatedBuilds, `about ${rounded(work.builds)} builds over ${formatDurationMs(s.durationMs)}`), LIMITS.simulatedBuilds.hint));
  } else if (work.queuedBuilds > LIMITS.queuedBuilds.value) {
    issues.push(
      at.issue(arrivalsPath, overLimitMessage(LIMITS.queuedBuilds, `about ${rounded(work.queuedBuilds)} builds left waiting for the ${s.topology.nomadClients.count} Nomad clients`), LIMITS.queuedBuilds.hint),
    );
  } else if (work.tasks > LIMITS.simulatedTasks.value) {
    issues.push(at.issue(arrivalsPath, overLimitMessage(LIMITS.simulatedTasks, `about ${rounded(work.tasks)} tasks over ${formatDurationMs(s.durationMs)}`), LIMITS.simulatedTasks.hint));
  }
  const modelCheck = (path: PathSeg[], check: () => void): void => {
    try {
      check();
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      issues.push(at.issue(path, `the simulation cannot run this: ${e.message}`, 'please report this scenario: validation should have said why in its own words'));
    }
  };
  modelCheck(arrivalsPath, () => validateArrivalSpec(s.workload.arrivals));
  s.workload.jobs.forEach((j, i) => modelCheck(['workload', 'jobs', i, 'duration'], () => validateDurationSpec(j.duration)));
  modelCheck(['workload', 'jobs'], () => new JobMix(s.workload.jobs));
  return issues;
}

function toMs(d: string | number): number {
  return typeof d === 'number' ? d : parseDurationMs(d);
}
