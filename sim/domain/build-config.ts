import { parse } from 'yaml';
import type { JobShape } from './task-split.ts';

/** Units of parallelism when neither the job nor the config names any. */
export const DEFAULT_PARALLELISM = 1;
/** How long a job's steps run when its config gives no `x-twin-duration-ms` (scenario milliseconds). */
export const DEFAULT_DURATION_MS = 2000;
/** The class a job that names none asks for (picard-dispatcher's `:default-resource-class`). */
export const DEFAULT_RESOURCE_CLASS = 'medium';

/** What picard-dispatcher reads of one job of a `.circleci/config.yml`. */
export interface BuildConfig {
  jobName: string | undefined;
  /** Jobs in the workflow, run in sequence. */
  jobsTotal: number;
  parallelism: number;
  /** How long the job's steps run, in the scenario's (virtual) milliseconds: `x-twin-duration-ms` (its longest task). */
  durationMs: number;
  /**
   * How long each task runs, by task index (`parallelism` of them): `x-twin-duration-ms` as a list, one a task
   * (a task past its end runs `durationMs`), or the one number for every task.
   */
  taskDurationsMs: number[];
  executor: 'docker' | 'machine';
  /** A Docker job that asks for a remote Docker engine (a `setup_remote_docker` step): vm-service provides one. */
  remoteDocker: boolean;
  /** The contexts its workflow entry names (`context:`): their environment comes from contexts-service. */
  contexts: string[];
  resourceClass: string;
  fails: boolean;
  /** Artifacts it stores (`x-twin-artifacts`) and whether it stores test results (`x-twin-test-results`). */
  artifacts: number;
  testResults: boolean;
}

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Doc) : {});
const positive = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);

/**
 * Job `jobIndex` of the config's first workflow (its `jobs` in order; without workflows, the jobs in order):
 * `parallelism` (the job's, else the top level's; without workflows the top level's, else the largest of the
 * jobs'), `resource_class`, the executor (`machine:` or `docker:`), and the twin-only `x-twin-duration-ms`
 * and `x-twin-fails` (the job's, else the top level's). Throws the YAML parser's error on text that is not YAML.
 */
export function readBuildConfig(text: string, jobIndex = 0): BuildConfig {
  const doc = obj(parse(text));
  const jobs = obj(doc.jobs);
  const firstWorkflow = Object.values(obj(doc.workflows)).map(obj).find((w) => Array.isArray(w.jobs));
  const entries = firstWorkflow ? (firstWorkflow.jobs as unknown[]) : [];
  const order = firstWorkflow ? entries.map((j) => (typeof j === 'string' ? j : Object.keys(obj(j))[0])).filter((j): j is string => typeof j === 'string') : Object.keys(jobs);
  const index = Math.min(jobIndex, Math.max(0, order.length - 1));
  const jobName = order[index];
  const entry = firstWorkflow ? obj(obj(entries[index])[jobName ?? '']) : {};
  const context = entry.context;
  const contexts = (Array.isArray(context) ? context : typeof context === 'string' ? [context] : []).filter((c): c is string => typeof c === 'string');
  const job = jobName === undefined ? {} : obj(jobs[jobName]);
  // With workflows, the job's own; without (a v0 config), the top level's, else the largest of the jobs'.
  let parallelism = firstWorkflow ? (positive(job.parallelism) ?? positive(doc.parallelism)) : positive(doc.parallelism);
  if (parallelism === undefined && !firstWorkflow) {
    for (const j of Object.values(jobs)) {
      const p = positive(obj(j).parallelism);
      if (p !== undefined) parallelism = Math.max(parallelism ?? 0, p);
    }
  }
  const tasks = Math.floor(parallelism ?? DEFAULT_PARALLELISM);
  const written = job['x-twin-duration-ms'] ?? doc['x-twin-duration-ms'];
  const listed = Array.isArray(written) ? written.map(positive).filter((d): d is number => d !== undefined) : [];
  const durationMs = listed.length > 0 ? Math.max(...listed) : (positive(written) ?? DEFAULT_DURATION_MS);
  return {
    jobName,
    jobsTotal: Math.max(1, order.length),
    parallelism: tasks,
    durationMs,
    taskDurationsMs: Array.from({ length: tasks }, (_, k) => listed[k] ?? durationMs),
    executor: 'machine' in job ? 'machine' : 'docker',
    contexts,
    remoteDocker: Array.isArray(job.steps) && job.steps.some((s) => s === 'setup_remote_docker' || (typeof s === 'object' && s !== null && 'setup_remote_docker' in s)),
    resourceClass: typeof job.resource_class === 'string' ? job.resource_class : DEFAULT_RESOURCE_CLASS,
    fails: (job['x-twin-fails'] ?? doc['x-twin-fails']) === true,
    artifacts: Math.floor(positive(job['x-twin-artifacts']) ?? 0),
    testResults: job['x-twin-test-results'] === true,
  };
}

/** The value of `x-twin-duration-ms` for tasks of these durations: one number when they are all the same. */
export function writtenDurationMs(taskDurationsMs: readonly number[]): number | number[] {
  const first = taskDurationsMs[0] ?? DEFAULT_DURATION_MS;
  return taskDurationsMs.every((d) => d === first) ? first : [...taskDurationsMs];
}

/** The shape picard-dispatcher splits: a Docker job with `setup_remote_docker` needs a remote Docker engine. */
export function jobShape(cfg: BuildConfig): JobShape {
  return { executor: cfg.executor === 'machine' ? 'machine' : cfg.remoteDocker ? 'remote_docker' : 'docker', resourceClass: cfg.resourceClass, parallelism: cfg.parallelism };
}
