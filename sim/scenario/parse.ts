import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ScenarioSchema, FAULT_ACTIONS, type RawScenario } from './schema.ts';
import type { SettledResourceClass, SettledScenario } from './settled.ts';
import { settle } from './settle.ts';
import { didYouMean, suggest } from '../util/suggest.ts';
import { parseDurationMs } from '../util/duration.ts';
import { reportPaths, isDurationMetric, DR_REPORT_PATHS } from '../report/paths.ts';
import { sampleReport } from '../report/sample.ts';
import { parseTrace, TraceParseError } from '../models/workload/trace-file.ts';

/** One problem in a scenario file, located for an editor: `file:line:column: field: message` and a hint. */
export interface ScenarioIssue {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
  hint?: string;
}

/** A scenario that cannot run. Carries every issue found, not just the first. */
export class ScenarioError extends Error {
  readonly code = 'SCENARIO_INVALID';
  constructor(readonly issues: ScenarioIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ScenarioError';
  }
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
  /** Reads a file named in the scenario (a trace), relative to the scenario file. Throws with a message if absent. */
  readFile?(relativePath: string): string;
  /**
   * The command the scenario is read for: `dr` also knows `dr-report.json`'s paths in `expect`
   * (`rto_ms`, `rpo_ms`, `runbook.N.status`, ...); `run` refuses `backups`, `disaster` and `recovery` (they are
   * `twin dr`'s). Unset (`twin validate`): a scenario with `disaster` or `recovery` is read as `dr` would.
   */
  command?: 'run' | 'dr';
}

type PathSeg = string | number;

const SPECIAL_TARGETS = ['nomad_client', 'services_machine'] as const;
/** Actions that `for:` can undo, and the action that undoes them. */
export const UNDO_ACTION: Partial<Record<(typeof FAULT_ACTIONS)[number], string>> = {
  kill: 'start',
  stop: 'start',
  pause: 'unpause',
  partition: 'heal',
  drain: 'undrain',
  disk_fill: 'free the space',
};
const STATEFUL = new Set(['nomad_server', 'redis', 'mongo', 'postgres', 'rabbitmq', 'vault-cci', 'fileserved']);

/** Parses and validates a scenario file's text; returns the settled scenario or throws a ScenarioError. */
export function parseScenario(text: string, file: string, ctx: ScenarioContext): SettledScenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const located = new Locator(doc, lineCounter, file);

  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, hint: yamlHint(e.code) };
      }),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: 'a scenario file must be a YAML mapping', hint: 'start with `name: my-scenario`' }]);
  }

  const parsed = ScenarioSchema.safeParse(data);
  if (!parsed.success) {
    throw new ScenarioError(sortIssues(parsed.error.issues.flatMap((i) => zodIssue(i, located, data))));
  }
  const raw = parsed.data as RawScenario;
  const issues = semanticIssues(raw, ctx, located);
  if (issues.length > 0) throw new ScenarioError(sortIssues(issues));

  const traceText = raw.workload.arrivals.kind === 'trace' ? readTrace(raw.workload.arrivals.file, raw.workload.jobs.length, ctx, located) : undefined;
  return settle(raw, { file, ctx, traceText });
}

function readTrace(traceFile: string, jobCount: number, ctx: ScenarioContext, at: Locator): string {
  const path = ['workload', 'arrivals', 'file'];
  if (!ctx.readFile) throw new ScenarioError([at.issue(path, 'trace files cannot be read here', 'run the scenario from a file on disk')]);
  let text: string;
  try {
    text = ctx.readFile(traceFile);
  } catch (e) {
    throw new ScenarioError([at.issue(path, `cannot read trace file \`${traceFile}\`: ${(e as Error).message}`, 'the path is relative to the scenario file')]);
  }
  try {
    parseTrace(text, { source: traceFile, jobCount });
  } catch (e) {
    if (e instanceof TraceParseError) {
      throw new ScenarioError([{ file: traceFile, line: e.line, column: e.column ?? 1, field: e.field, message: e.problem, hint: e.hint }]);
    }
    throw e;
  }
  return text;
}

class Locator {
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
  if (typeof v === 'string') return `\`${v}\``;
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
        return at.issue([...path, key], `unknown key \`${key}\`${dym ? `; ${dym}` : ''}`, `allowed here: ${allowed.join(', ')}`, true);
      });
    case 'invalid_type': {
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
      const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
      const what = issue.origin === 'array' ? 'items' : issue.origin === 'string' ? 'characters' : '';
      return [at.issue(path, `${describeValue(value)} is out of range: must be ${bound}${what ? ` ${what}` : ''}`)];
    }
    case 'custom':
      if (value !== undefined && (typeof value === 'string' || typeof value === 'number')) return [at.issue(path, `${describeValue(value)} is not valid: expected ${issue.message}`)];
      return [at.issue(path, issue.message ?? 'invalid value')];
    default:
      return [at.issue(path, issue.message ?? 'invalid value')];
  }
}

/** Among a union's branches, the one whose complaint is not merely a type mismatch at the top. */
function pickUnionBranch(branches: ZodIssue[][]): ZodIssue[] | undefined {
  const typed = branches.filter((b) => !(b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0));
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

let cachedReportPaths: string[] | undefined;
function knownReportPaths(): string[] {
  cachedReportPaths ??= reportPaths(sampleReport());
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
    } else {
      const problem = actionTargetProblem(f.action, canonical);
      if (problem) issues.push(at.issue(['faults', i, 'action'], problem.message, problem.hint));
    }
    const atMs = toMs(f.at);
    const unsupported = canonical === undefined ? undefined : ctx.faultSupport?.(f.action, canonical, atMs);
    if (unsupported !== undefined) issues.push(at.issue(['faults', i, 'action'], unsupported, 'see README.md, "Faults", for what the simulation models'));
    if (atMs > durationMs) issues.push(at.issue(['faults', i, 'at'], `fault at ${f.at} is after the end of the scenario (duration ${raw.duration})`, 'faults must happen within `duration`'));
    if (f.for !== undefined && UNDO_ACTION[f.action] === undefined) {
      issues.push(at.issue(['faults', i, 'for'], `\`for\` cannot undo \`${f.action}\``, `\`for\` applies to: ${Object.keys(UNDO_ACTION).join(', ')}; schedule the opposite action as its own fault`));
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
    if (typeof d === 'object' && d !== null) {
      if ('p95' in d && 'median' in d && toMs(d.p95) <= toMs(d.median)) issues.push(at.issue(['workload', 'jobs', i, 'duration', 'p95'], 'p95 must be greater than the median'));
      if ('min' in d && 'max' in d && toMs(d.max) < toMs(d.min)) issues.push(at.issue(['workload', 'jobs', i, 'duration', 'max'], 'max must be at least min'));
    }
  });

  // Expectations: the metric must be a path of the report; duration bounds only for *_ms metrics.
  // A DR scenario (read by `twin dr`, or carrying `disaster`/`recovery`) may also name dr-report.json's paths.
  const isDr = ctx.command === 'dr' || (ctx.command !== 'run' && (raw.disaster !== undefined || raw.recovery !== undefined));
  if (ctx.command === 'run') {
    for (const key of ['backups', 'disaster', 'recovery'] as const) {
      if (raw[key] !== undefined) issues.push(at.issue([key], `\`${key}\` belongs to a disaster-recovery rehearsal, which \`twin run\` does not run`, `run it with \`twin dr ${at.file}\``));
    }
  }
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
      issues.push(at.issue(['expect', i, 'equals'], `\`${String(e.equals)}\` is not a severity`, 'one of: none, mild, moderate, severe'));
    }
  });

  (raw.workload.scheduled ?? []).forEach((s, i) => {
    if (s.job >= raw.workload.jobs.length) issues.push(at.issue(['workload', 'scheduled', i, 'job'], `job ${s.job} does not exist: the workload has ${raw.workload.jobs.length} job templates (0 to ${raw.workload.jobs.length - 1})`));
    if (toMs(s.every) < 60_000) issues.push(at.issue(['workload', 'scheduled', i, 'every'], 'a schedule runs at most once a minute', 'use 1m or more'));
  });

  if (raw.autoscaling && raw.autoscaling.min > raw.autoscaling.max) issues.push(at.issue(['autoscaling', 'min'], 'min must not exceed max'));
  return issues;
}

function actionTargetProblem(action: string, target: string): { message: string; hint: string } | undefined {
  const fleet = target === 'nomad_client';
  const machine = target === 'services_machine';
  if (action === 'drain' && !fleet) return { message: `\`drain\` applies to \`nomad_client\`, not \`${target}\``, hint: 'drain Nomad clients; stop a container instead' };
  if (action === 'terminate_instance' && !fleet && !machine) return { message: `\`terminate_instance\` applies to \`nomad_client\` or \`services_machine\`, not \`${target}\``, hint: 'use `kill` for a container' };
  if ((action === 'partition' || action === 'heal') && !fleet && !machine) return { message: `\`${action}\` cuts the network between the Services machine and the Nomad clients`, hint: 'target `services_machine` or `nomad_client`' };
  if ((action === 'snapshot' || action === 'restore') && !machine) return { message: `\`${action}\` applies to \`services_machine\``, hint: 'snapshots are of the Services machine volume' };
  if (action === 'wipe_state' && !STATEFUL.has(target)) return { message: `\`${target}\` keeps no state to wipe`, hint: `stateful targets: ${[...STATEFUL].join(', ')}` };
  if (fleet && !['drain', 'terminate_instance', 'partition', 'heal', 'kill', 'restart', 'start', 'stop'].includes(action)) {
    return { message: `\`${action}\` does not apply to \`nomad_client\``, hint: 'Nomad clients can be drained, terminated, partitioned, killed, stopped or started' };
  }
  return undefined;
}

function toMs(d: string | number): number {
  return typeof d === 'number' ? d : parseDurationMs(d);
}
