import { Document } from 'yaml';
import { Twin } from '../twin.ts';
import { buildReport, replayCommand } from '../report/build-report.ts';
import { classify as defaultClassify, newSymptoms, type Observation } from '../severity.ts';
import { parseScenario, type ScenarioContext } from '../scenario/parse.ts';
import type { RawScenario } from '../scenario/schema.ts';
import type { SettledScenario } from '../scenario/settled.ts';
import type { ObservedSeverity, Report, Symptom, SymptomView } from '../report/types.ts';
import { documentedEffectViews } from '../symptoms/documented-effects.ts';
import { formatDurationMs } from '../util/duration.ts';
import { documentedSeverity } from '../../fixtures/lookup.ts';
import type { Container, Profile, Severity } from '../../fixtures/schema.ts';

/**
 * `twin conformance`: every container row of the seeds' severity table is killed under one standard workload
 * and restarted after a fixed outage; the run is classified against the fault-free baseline of the same
 * seed and compared with the documented severity. Pure: scenarios are built as YAML text and settled by the
 * same validator as user files, so each row can be replayed with `twin run`.
 */

/** When the container is killed, how long it stays down, how long the workload runs. */
export const CONFORMANCE_PROTOCOL = {
  /**
   * Twelve hours: two hours of steady state before the kill, the outage, then six hours after the restart in
   * which a backlog can drain and late effects (a full disk) can show, all before the run's own drain phase.
   */
  durationMs: 12 * 3_600_000,
  killAtMs: 2 * 3_600_000,
  /**
   * Four hours. Long enough that what a container's absence does slowly can show (the `tutum/logrotate`
   * row: "if this stays down for a long period the disk will eventually run out of space"); a third of the
   * workload, so the run has steady state on both sides; and below the 6 h long-running-task timeout, so no
   * build is killed by the timeout merely for having waited out the outage.
   */
  outageMs: 4 * 3_600_000,
} as const;

/**
 * The one workload every row runs (YAML contract form): a steady Poisson stream of pushes, 120 an hour,
 * mixing the executors and features the table's rows act on: docker jobs with test results and artifacts,
 * a three-job workflow, jobs using contexts, machine and remote Docker jobs (with a few preallocated VMs),
 * parallel test jobs, a small share of red builds, and the three-job workflow also scheduled hourly (cron-service). The fleet is comfortably sized: 16 clients of 8 CPU
 * (96 usable CPUs) for about 35 CPUs of mean demand, so baseline queue times stay in seconds.
 */
export const STANDARD_WORKLOAD: RawScenario['workload'] = {
  arrivals: { kind: 'poisson', rate_per_hour: 120 },
  jobs: [
    { name: 'unit-tests', weight: 6, executor: 'docker', resource_class: 'medium', duration: { median: '5m', p95: '12m' }, test_results: true, artifacts: 2, failure_rate: 0.03 },
    { name: 'build-test-deploy', weight: 2, executor: 'docker', duration: { median: '4m', p95: '10m' }, workflow_jobs: 3, test_results: true, artifacts: 1 },
    { name: 'deploy-with-context', weight: 1, executor: 'docker', uses_contexts: true, duration: { dist: 'exponential', mean: '3m' } },
    { name: 'integration-machine', weight: 1, executor: 'machine', duration: { median: '8m', p95: '20m' }, artifacts: 1 },
    { name: 'image-build-remote-docker', weight: 1, executor: 'remote_docker', duration: { median: '6m', p95: '15m' } },
    { name: 'parallel-tests', weight: 1, executor: 'docker', duration: { median: '6m', p95: '14m' }, parallelism: 4, test_results: true },
  ],
  scheduled: [{ job: 1, every: '1h' }],
};

/**
 * The standard jobs a version profile can run: a `machine` job needs a machine resource class; where the scenario
 * context knows none, the machine job is left out and remote Docker jobs alone exercise the VM service.
 */
export function standardJobs(version: string, context: ScenarioContext): NonNullable<RawScenario['workload']>['jobs'] {
  const machineClasses = new Set(context.resourceClasses(version).filter((rc) => rc.executor === 'machine').map((rc) => rc.name));
  return STANDARD_WORKLOAD.jobs.filter((j) => j.executor !== 'machine' || machineClasses.has(j.resource_class ?? context.defaultResourceClass(version)));
}

/**
 * The standard fleet, VM pool and disk (auth and storage are set per condition). The pools cover the VM jobs'
 * rate, as an admin would size them, so that instances rarely boot on demand in the baseline. The disk starts
 * with 6.5 GB free against RabbitMQ's 5 GB limit, so that what fills it slowly (logs, while logrotate is down)
 * can reach the limit within the protocol's outage; it applies to every row alike.
 */
export const STANDARD_TOPOLOGY: NonNullable<RawScenario['topology']> = {
  nomad_clients: { count: 16, cpus: 8, memory_gb: 32 },
  vm_service: { preallocated_machine: 6, preallocated_remote_docker: 4 },
  services_machine: { disk_free_gb: 6.5, rabbitmq_disk_limit_gb: 5 },
};

/** A row's condition: `default` for unconditional rows; both sides of a conditional row's condition otherwise. */
export type ConformanceCondition = 'default' | 'ldap' | 'no-ldap' | 's3' | 'fileserved';

/** The topology switches of each condition. */
export const CONDITION_TOPOLOGY: Readonly<Record<ConformanceCondition, { auth: 'github' | 'ldap'; storage: 's3' | 'fileserved' }>> = {
  default: { auth: 'github', storage: 's3' },
  ldap: { auth: 'ldap', storage: 's3' },
  'no-ldap': { auth: 'github', storage: 's3' },
  s3: { auth: 'github', storage: 's3' },
  fileserved: { auth: 'github', storage: 'fileserved' },
};

/** The conditions under which a conditional row's container is not used at all. */
export const IDLE_CONDITIONS: ReadonlySet<ConformanceCondition> = new Set(['no-ldap', 's3']);

/** The conditions a container's row is checked under. */
export function conditionsOf(container: Container): ConformanceCondition[] {
  switch (container.severity_condition) {
    case undefined:
      return ['default'];
    case 'ldap':
      return ['ldap', 'no-ldap'];
    case 'fileserved':
      return ['s3', 'fileserved'];
  }
}

/** One row's scenario, ready to run, with the YAML it was settled from (for `twin run`). */
export interface ConformanceScenario {
  container: string;
  condition: ConformanceCondition;
  documented: Severity;
  scenario: SettledScenario;
  /** The scenario as a file a person can run: `twin run <file>` reproduces the row's faulty run. */
  yaml: string;
  /** Rows with the same key share one baseline run (same workload, topology and seed; no faults). */
  baselineKey: string;
  /** The views in which the row's documented effect shows (sim/symptoms/documented-effects.ts). */
  effectViews: readonly SymptomView[];
}

export interface ConformanceScenarioOptions {
  /** Root seed of every run (default 1). */
  seed?: number;
  /** Resolves container names and resource classes, as for scenario files (`fixtureContext()` in the harness). */
  context: ScenarioContext;
  /** Directory the row scenarios are written to, for their `file` and replay line (default `scenarios`). */
  scenarioDir?: string;
  /** Only these containers (canonical names); default every row of the table. */
  only?: readonly string[];
}

/** The file-name-safe form of a container name (`tutum/logrotate` → `tutum-logrotate`). */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** The scenario name of a row: `conformance-<container>-<condition>`. */
export function rowScenarioName(container: string, condition: ConformanceCondition): string {
  return `conformance-${slug(container)}-${condition}`;
}

/** Builds one scenario per table row and condition, in table order. Pure; throws ScenarioError if a row would not validate. */
export function conformanceScenarios(profile: Profile, opts: ConformanceScenarioOptions): ConformanceScenario[] {
  const seed = opts.seed ?? 1;
  const dir = opts.scenarioDir ?? 'scenarios';
  const out: ConformanceScenario[] = [];
  for (const container of profile.containers) {
    if (!container.in_table || (opts.only !== undefined && !opts.only.includes(container.name))) continue;
    for (const condition of conditionsOf(container)) {
      const topo = CONDITION_TOPOLOGY[condition];
      const documented = documentedSeverity(container, { ldap: topo.auth === 'ldap', storage: topo.storage });
      if (documented === null) throw new Error(`container ${container.name} is in the table but has no documented severity`);
      const name = rowScenarioName(container.name, condition);
      const yaml = rowYaml(profile.version, seed, name, container, condition, opts.context);
      const scenario = parseScenario(yaml, `${dir}/${name}.yaml`, opts.context);
      const effectViews = documentedEffectViews(container, IDLE_CONDITIONS.has(condition));
      out.push({ container: container.name, condition, documented, scenario, yaml, baselineKey: `${topo.auth}/${topo.storage}`, effectViews });
    }
  }
  return out;
}

function rowYaml(version: string, seed: number, name: string, container: Container, condition: ConformanceCondition, context: ScenarioContext): string {
  const p = CONFORMANCE_PROTOCOL;
  const topo = CONDITION_TOPOLOGY[condition];
  const raw: RawScenario = {
    name,
    description: `${container.name} (${condition}) killed at ${formatDurationMs(p.killAtMs)} and restarted ${formatDurationMs(p.outageMs)} later under the standard conformance workload`,
    version: version as RawScenario['version'],
    seed,
    duration: formatDurationMs(p.durationMs),
    topology: { ...STANDARD_TOPOLOGY, auth: topo.auth, storage: topo.storage },
    workload: { ...STANDARD_WORKLOAD, jobs: standardJobs(version, context) },
    faults: [
      { at: formatDurationMs(p.killAtMs), action: 'kill', target: container.name },
      { at: formatDurationMs(p.killAtMs + p.outageMs), action: 'restart', target: container.name },
    ],
  };
  const doc = new Document(raw);
  doc.commentBefore = ` A row of \`twin conformance\` (version ${version}): documented severity of ${container.name} vs what the twin observes.\n Generated; run it with \`twin run <this file>\`.`;
  return doc.toString({ lineWidth: 0 });
}

/**
 * A row of the conformance matrix. `match` is `documented === observed` and the documented effect seen: a symptom
 * of the row's container in one of the effect's views.
 */
export interface ConformanceRow {
  container: string;
  condition: ConformanceCondition;
  documented: Severity;
  observed: ObservedSeverity;
  match: boolean;
  /** The documented effect's views, and whether a symptom of this container was seen in one of them. */
  effect: { views: SymptomView[]; seen: boolean };
  /** The symptoms the faulty run showed beyond its baseline (`container (view): what ×count — where`), effects first. */
  symptoms: string[];
  /** The classifier's reasons, then the key counts of the run against its baseline. */
  observations: string[];
  /** The row scenario's file (as written by the CLI) and the command that replays its faulty run. */
  file: string;
  replay: string;
}

/** Runs one scenario; `withoutFaults` gives the baseline. The default builds a Twin and reads its report. */
export type ConformanceRunner = (scenario: SettledScenario, profile: Profile, opts: { withoutFaults: boolean }) => Report;

export interface ConformanceOptions extends ConformanceScenarioOptions {
  /** Called after each run (baselines included) with what was just done. */
  onProgress?: (done: number, total: number, label: string) => void;
  /** Replaces the simulation (tests). */
  runner?: ConformanceRunner;
  /** Replaces the classifier (tests: to see what it is given). It receives observations only. */
  classify?: (run: Observation, baseline: Observation) => { severity: ObservedSeverity; because: string[] };
}

export const twinRunner: ConformanceRunner = (scenario, profile, opts) => {
  const twin = new Twin(scenario, profile, { withoutFaults: opts.withoutFaults });
  twin.run();
  return buildReport(twin);
};

/**
 * Runs every row of the matrix. Each distinct baseline (one per auth/storage combination) runs once and is
 * shared by the rows of that combination. Deterministic: same profile and seed, same rows.
 */
export function runConformance(profile: Profile, opts: ConformanceOptions): ConformanceRow[] {
  const runner = opts.runner ?? twinRunner;
  const classify = opts.classify ?? defaultClassify;
  const scenarios = conformanceScenarios(profile, opts);
  const keys = [...new Set(scenarios.map((s) => s.baselineKey))];
  const total = scenarios.length + keys.length;
  let done = 0;
  const baselines = new Map<string, Report>();
  const rows: ConformanceRow[] = [];
  for (const row of scenarios) {
    let baseline = baselines.get(row.baselineKey);
    if (baseline === undefined) {
      baseline = runner(row.scenario, profile, { withoutFaults: true });
      baselines.set(row.baselineKey, baseline);
      opts.onProgress?.(++done, total, `baseline ${row.baselineKey}`);
    }
    const run = runner(row.scenario, profile, { withoutFaults: false });
    // The classifier is given the two runs' reports, nothing else: the documented severity stays out of its reach.
    const verdict = classify(run, baseline);
    const fresh = newSymptoms(run.symptoms ?? [], baseline.symptoms ?? []);
    const seen = fresh.some((x) => x.container === row.container && row.effectViews.includes(x.view));
    rows.push({
      container: row.container,
      condition: row.condition,
      documented: row.documented,
      observed: verdict.severity,
      match: verdict.severity === row.documented && seen,
      effect: { views: [...row.effectViews], seen },
      symptoms: symptomLines(fresh, row.container),
      observations: [...verdict.because, ...keyCounts(run, baseline)],
      file: row.scenario.file,
      replay: replayCommand(row.scenario.file, row.scenario.seed),
    });
    opts.onProgress?.(++done, total, `${row.container} (${row.condition})`);
  }
  return rows;
}

/** How many symptoms a row lists (the rest are counted in one line). */
export const SYMPTOMS_LISTED = 24;

/**
 * A row's symptoms as lines: the faulted container's first (its effects, then its status), then those of others
 * (a dependency's failure seen through its dependants), each `container (view): what ×count — where`.
 */
export function symptomLines(fresh: readonly Symptom[], container: string): string[] {
  const rank = (x: Symptom) => (x.container === container ? 0 : 2) + (x.view === 'docker-ps' || x.view === 'health' ? 1 : 0);
  const sorted = fresh.map((x, i) => ({ x, i })).sort((a, b) => rank(a.x) - rank(b.x) || a.i - b.i).map((e) => e.x);
  const lines = sorted.slice(0, SYMPTOMS_LISTED).map((x) => `${x.container} (${x.view}): ${x.what} ×${x.count} — ${x.where}`);
  if (sorted.length > SYMPTOMS_LISTED) lines.push(`… and ${sorted.length - SYMPTOMS_LISTED} more kinds of symptoms`);
  return lines;
}

/** How many distinct failure reasons of the run (absent from the baseline) are listed. */
const REASONS_SHOWN = 3;

/** The counts a person needs to see why a row came out as it did: each with the baseline's value. */
export function keyCounts(run: Report, baseline: Report): string[] {
  const b = run.builds;
  const b0 = baseline.builds;
  const vs = (x: number, x0: number): string => (x === x0 ? `${x}` : `${x} (baseline ${x0})`);
  const lines = [
    `builds: triggered ${vs(b.triggered, b0.triggered)}, succeeded ${vs(b.succeeded, b0.succeeded)}, failed ${vs(b.failed, b0.failed)}, lost ${vs(b.lost, b0.lost)}, stuck ${vs(b.stuck, b0.stuck)}, not triggered ${vs(b.not_triggered, b0.not_triggered)}, retried ${vs(b.retried, b0.retried)}`,
    `queue time: max ${duration(run.queue_time_ms.max)} (baseline ${duration(baseline.queue_time_ms.max)}), p95 ${duration(run.queue_time_ms.p95)} (baseline ${duration(baseline.queue_time_ms.p95)})`,
  ];
  const d0 = baseline.data_loss as unknown as Record<string, number>;
  const loss = Object.entries(run.data_loss as unknown as Record<string, number>)
    .filter(([k, v]) => v !== 0 || (d0[k] ?? 0) !== 0)
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${vs(v, d0[k] ?? 0)}`);
  lines.push(`data loss: ${loss.length === 0 ? 'none' : loss.join(', ')}`);
  const w0 = baseline.workflows as unknown as Record<string, number>;
  const workflows = Object.entries(run.workflows as unknown as Record<string, number>).filter(([k, v]) => v !== w0[k]);
  if (workflows.length > 0) lines.push(`workflows: ${workflows.map(([k, v]) => `${k.replace(/_/g, ' ')} ${vs(v, w0[k] ?? 0)}`).join(', ')}`);
  const effects = peripheralEffects(run, baseline);
  if (effects.length > 0) lines.push(`other effects: ${effects.join('; ')}`);
  const known = new Set(baseline.affected_builds.map((a) => a.reason));
  const reasons = new Map<string, number>();
  for (const a of run.affected_builds) if (!known.has(a.reason)) reasons.set(a.reason, (reasons.get(a.reason) ?? 0) + 1);
  const top = [...reasons.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, REASONS_SHOWN);
  if (top.length > 0) lines.push(`reasons (among the first ${run.affected_builds.length} affected builds listed): ${top.map(([r, n]) => `${r} ×${n}`).join('; ')}`);
  if (!run.ledger.conserved) lines.push(`ledger not conserved: ${run.ledger.equation}`);
  return lines;
}

/** What a fault did beyond builds and stored data, where it differs from the baseline: what peripheral rows act on. */
function peripheralEffects(run: Report, baseline: Report): string[] {
  const out: string[] = [];
  const differ = (label: string, x: number, x0: number, unit = ''): void => {
    if (x !== x0) out.push(`${label} ${x}${unit} (baseline ${x0}${unit})`);
  };
  differ('start delay max', Math.round(run.start_delay_ms.max / 1000), Math.round(baseline.start_delay_ms.max / 1000), ' s');
  differ('start delay p95', Math.round(run.start_delay_ms.p95 / 1000), Math.round(baseline.start_delay_ms.p95 / 1000), ' s');
  differ('mean wait for a VM', Math.round(run.vm_service.mean_wait_ms / 1000), Math.round(baseline.vm_service.mean_wait_ms / 1000), ' s');
  differ('UI/API requests failed', run.ui.failed, baseline.ui.failed);
  differ('scheduled workflows skipped', run.scheduled_workflows.skipped, baseline.scheduled_workflows.skipped);
  differ('Services machine min free disk', run.services_machine.min_free_disk_mb, baseline.services_machine.min_free_disk_mb, ' MB');
  if (run.services_machine.disk_full !== baseline.services_machine.disk_full) out.push(`disk full: ${run.services_machine.disk_full}`);
  if (!run.startup.system_started) out.push('the system did not start');
  differ('stale VMs at peak', run.vm_service.stale_peak, baseline.vm_service.stale_peak);
  differ('metric gaps (statsd flushes)', run.metric_gaps, baseline.metric_gaps);
  differ('test results peak parse backlog', run.test_results.peak_backlog, baseline.test_results.peak_backlog);
  return out;
}

function duration(ms: number): string {
  return formatDurationMs(Math.max(0, Math.round(ms / 1000) * 1000));
}

/** Rows that match and the total, for summaries. */
export function conformanceSummary(rows: readonly ConformanceRow[]): { matched: number; total: number } {
  return { matched: rows.filter((r) => r.match).length, total: rows.length };
}
