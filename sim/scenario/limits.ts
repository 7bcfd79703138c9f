/**
 * Every bound on scenario input, in one table (TigerBeetle: "put a limit on everything").
 *
 * Each limit has a name users see in the error, a value, a unit, and a hint. The schema, the parser, the
 * scenario loader and the run read their bounds from here, so a limit is raised in one place; the tests check
 * each at its value and one past it. Why each value was chosen is in `sim/README.md`, "Limits".
 */
export interface Limit {
  /** The name an error quotes (`max_duration`). */
  readonly name: string;
  readonly value: number;
  /** How the value reads in a message: `bytes`, `ms`, `per hour`, ... */
  readonly unit: string;
  /** What to do instead, for the hint. */
  readonly hint: string;
}

function limit(name: string, value: number, unit: string, hint: string): Limit {
  return { name, value, unit, hint };
}

const DAY_MS = 86_400_000;

export const LIMITS = {
  /** The scenario file is read up to this many bytes plus one, never whole when larger. */
  scenarioFileBytes: limit('max_scenario_file_bytes', 1_048_576, 'bytes', 'a scenario is a few kilobytes of YAML; put long arrival lists in a trace file'),
  /** Alias nodes (`*name`) in a scenario: alias bombs expand exponentially. */
  yamlAliases: limit('max_yaml_aliases', 100, 'aliases', 'write the values out, or use fewer anchors'),
  /** Nesting of mappings and lists; the deepest real field (workload.jobs[i].duration.median) is 5 levels. */
  yamlDepth: limit('max_yaml_depth', 16, 'levels', 'a scenario is at most a few levels deep: see scenarios/baseline.yaml'),
  /** Any string value or key. */
  stringChars: limit('max_string_chars', 4_096, 'characters', 'shorten the text'),
  /** Every duration: the scenario's, a job's, a fault's time. An empty 90-day run takes 1.1 M events (~3 s). */
  durationMs: limit('max_duration', 90 * DAY_MS, 'ms', 'simulate a representative quarter at most; split longer studies into several scenarios'),
  /** Every arrival rate (poisson, diurnal and burst rates). */
  ratePerHour: limit('max_rate_per_hour', 100_000, 'per hour', 'model a larger installation over a shorter duration'),
  /** A job template's relative weight. */
  weight: limit('max_weight', 1_000_000, '', 'weights are relative: divide them all by the same number'),
  nomadClients: limit('max_nomad_clients', 10_000, 'clients', 'a Nomad cluster of CircleCI Server is far smaller'),
  jobTemplates: limit('max_job_templates', 100, 'templates', 'merge templates that differ only in weight'),
  parallelism: limit('max_parallelism', 1_000, 'tasks', 'CircleCI parallelism is a few dozen at most in practice'),
  workflowJobs: limit('max_workflow_jobs', 50, 'jobs', 'split the workflow into several templates'),
  faults: limit('max_faults', 1_000, 'faults', 'use `for:` to undo a fault instead of a second entry, or split the scenario'),
  resourceClasses: limit('max_resource_classes', 100, 'classes', 'define only the classes the jobs use'),
  expectations: limit('max_expectations', 1_000, 'expectations', 'check fewer metrics per scenario'),
  scheduled: limit('max_scheduled_workflows', 100, 'schedules', 'merge schedules of the same job'),
  /**
   * Builds the workload is expected to trigger: arrivals (the rate integrated over the duration) and scheduled
   * workflows, times their workflow jobs. A build that runs is released when it ends: the benchmark week
   * (504,874 builds on 200 clients) peaked at 271 MB RSS in 23 s; 600,000 admit it with a margin and bound time.
   */
  simulatedBuilds: limit('max_simulated_builds', 600_000, 'builds', 'lower the rate, the duration or workflow_jobs: the run keeps every build in memory'),
  /**
   * Builds the fleet cannot run before the end (a fluid estimate of CPU and memory demand against supply).
   * A waiting build costs about 4.7 KB: 297,257 builds queued behind one client peaked at 1.62 GB RSS
   * (20,000: 309 MB; 80,000: 582 MB), so 300,000 waiting stay near 1.7 GB, under 2 GB.
   */
  queuedBuilds: limit('max_queued_builds', 300_000, 'builds', 'add Nomad clients (topology.nomad_clients.count), or lower the rate or the duration'),
  /**
   * Nomad tasks (builds × parallelism). Tasks cost time, not memory: 480,000 tasks took 1.03 M events and
   * about 8 s more than a small run, so 3,000,000 stay near a minute.
   */
  simulatedTasks: limit('max_simulated_tasks', 3_000_000, 'tasks', 'lower parallelism, workflow_jobs, the rate or the duration'),
  /** A trace file is read up to this many bytes plus one. */
  traceFileBytes: limit('max_trace_file_bytes', 16_777_216, 'bytes', 'a trace of 300,000 arrivals in CSV is about 4 MB: trim the trace'),
  /** Rows of a trace file: each is one push. */
  traceRows: limit('max_trace_rows', 300_000, 'rows', 'trim the trace or split it into several scenarios'),
  /**
   * Engine events of one run (each of the run and its fault-free baseline); past it the run stops with an error.
   * A build takes about 7 events and a task 2, so a run at the build and task limits needs about 10 M: twice that.
   */
  runEvents: limit('max_run_events', 20_000_000, 'events', 'lower the rate, the duration or the number of faults'),
} as const satisfies Record<string, Limit>;

export type LimitKey = keyof typeof LIMITS;

import { formatDurationMs } from '../util/duration.ts';

export { ECHO_CHARS, truncateEcho } from '../util/echo.ts';

/** `300,000 builds` or `31d`: a limit's value as a message shows it. */
export function formatLimit(l: Limit): string {
  if (l.unit === 'ms') return formatDurationMs(l.value);
  return l.unit === '' ? String(l.value) : `${l.value.toLocaleString('en')} ${l.unit}`;
}

/** The message of an input over a limit: names the limit and its value. */
export function overLimitMessage(l: Limit, what: string): string {
  return `${what} is over the limit ${l.name} (${formatLimit(l)})`;
}

/** A marker a schema check carries in its message, so the parser can name the limit (see `zodIssue`). */
export function limitTag(key: LimitKey): string {
  return `limit:${key}`;
}

export function limitFromTag(message: string | undefined): Limit | undefined {
  if (message === undefined || !message.startsWith('limit:')) return undefined;
  return (LIMITS as Record<string, Limit>)[message.slice('limit:'.length)];
}
