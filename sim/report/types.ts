import type { Agreement } from '../agreement.ts';
/**
 * The report contract of DESIGN.md (`report.json`). Field names are snake_case and stable: acceptance
 * scenarios outside the repository read them. Extend freely; never rename or remove.
 */
export type SeverityLevel = 'mild' | 'moderate' | 'severe';
export type ObservedSeverity = 'none' | SeverityLevel;

export interface Percentiles {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface BuildCounts {
  triggered: number;
  succeeded: number;
  failed: number;
  lost: number;
  stuck: number;
  not_triggered: number;
  retried: number;
}

/** What was lost, counted per item (builds for step output and test results, objects for artifacts, events). */
export interface DataLoss {
  /** Builds whose step output (to be kept in mongo / action-logs) was lost in part or whole. */
  step_output: number;
  /** Artifacts that never reached object storage or were deleted. */
  artifacts: number;
  /** Builds whose test results were lost. */
  test_results: number;
  /** Audit events never persisted under audit-logs/audit_log/v1. */
  audit_events: number;
  /** Builds whose live output of running steps (held in redis) was lost: shown while running, never stored. */
  live_step_output: number;
  /** Build records lost from mongo (a wiped data store). */
  build_records: number;
  /** Workflow records lost from postgres (a wiped data store). */
  workflow_records: number;
}

export interface FaultRecord {
  at_ms: number;
  action: string;
  target: string;
  observed_severity: ObservedSeverity;
  for_ms?: number;
  count?: number;
}

export interface ExpectationResult {
  metric: string;
  op: 'equals' | 'max' | 'min';
  expected: number | string | boolean | null;
  actual: number | string | boolean | null;
  passed: boolean;
  /** Set when the metric path does not exist in the report (the expectation fails). */
  error?: string;
}

export interface MetricSummary {
  /** statsd type as telegraf would aggregate it. */
  type: 'gauge' | 'timer' | 'counter';
  samples: number;
  mean: number;
  max: number;
  min: number;
  last: number;
}

export interface AffectedBuild {
  build: string;
  fate: 'failed' | 'lost' | 'stuck' | 'not_triggered' | 'retried' | 'succeeded';
  reason: string;
  at_ms: number;
}

/** Where an operator sees a symptom: `docker ps`, a health endpoint, a service's log, the UI, metrics, mail, ... */
export type SymptomView = 'docker-ps' | 'health' | 'logs' | 'metrics' | 'ui' | 'builds' | 'email' | 'live-updates' | 'audit-log' | 'usage-stats' | 'replicated' | 'disk' | 'vm';

/** One kind of visible effect of a failure, attributed to the container whose absence caused it, and how often it was seen. */
export interface Symptom {
  container: string;
  view: SymptomView;
  what: string;
  /** The command or place where an operator sees it. */
  where: string;
  count: number;
  first_at_ms: number;
  last_at_ms: number;
}

export interface Report {
  scenario: string;
  description?: string;
  version: string;
  mode: 'sim' | 'live';
  seed: number;
  passed: boolean;
  builds: BuildCounts;
  /** Queue time (Insights): from entering the run queue until the first task runs on a Nomad client. */
  queue_time_ms: Percentiles;
  data_loss: DataLoss;
  faults: FaultRecord[];
  observed_severity: ObservedSeverity;
  expectations: ExpectationResult[];
  replay: string;

  // Extensions beyond the minimal contract.
  duration_ms: number;
  /** Virtual time when the run ended (after the workload stopped and in-flight work drained or timed out). */
  ended_at_ms: number;
  webhooks: { received: number; accepted: number; dropped: number };
  /** `inconsistent`: left running forever, e.g. a job finished while workflows-conductor could not record it. */
  workflows: { started: number; succeeded: number; failed: number; not_started: number; inconsistent: number };
  /** Run-queue entry until the build's first task runs steps: queue time plus the wait for a VM (machine, remote Docker). */
  start_delay_ms: Percentiles;
  /** People's UI and API requests (one of each kind a minute while the workload runs) and how many failed. */
  ui: { requests: number; failed: number; failed_by_kind: Record<string, number> };
  /** cron-service: scheduled workflows triggered and skipped. */
  scheduled_workflows: { triggered: number; skipped: number };
  /** circle.run-queue.latency: run queue entry until picard-dispatcher accepts the build. */
  run_queue_latency_ms: Percentiles;
  throughput: { builds_per_hour: number; peak_builds_per_hour: number; tasks_completed: number };
  capacity: {
    nomad_clients: number;
    usable_cpu_milli_per_client: number;
    usable_memory_mb_per_client: number;
    peak_running_tasks: number;
    mean_cpu_utilisation: number;
    peak_cpu_utilisation: number;
    peak_pending_jobs: number;
    /** Nomad's placement algorithm of the run: binpack or spread (simulation only). */
    scheduler?: 'binpack' | 'spread';
    /** Mean share (0–1, every 10 s) of the fleet's free usable CPU on partly used clients rather than empty ones (simulation only). */
    fragmentation?: number;
    /**
     * The wait for capacity (simulation only): from the build's registration with the Nomad server until its first
     * task is placed, the part of queue time that fleet size and scaling control (the rest is the pipeline's own).
     */
    wait_ms?: Percentiles;
  };
  /**
   * USD per day (simulation only): Nomad clients' machine-hours following the fleet size, vm-service
   * instance-hours, and queue time priced at cost.developer_hour_usd; the run's span scaled to 24 h.
   */
  /** The Auto Scaling Group of Nomad clients (simulation with `autoscaling` only); `replaced`: instances terminated outside it (`terminate_instance`) that it replaced. */
  autoscaling?: { launched: number; terminated: number; replaced: number; actions: number; peak_instances: number; final_desired: number; final_instances: number };
  cost?: { total_per_day: number; machines_per_day: number; vm_service_per_day: number; waiting_per_day: number };
  vm_service: {
    instances_launched: number;
    instances_terminated: number;
    preallocated_used: number;
    mean_wait_ms: number;
    /** Instances left running after their job (a failed termination) that vm-gc had not reaped yet: most at once. */
    stale_peak: number;
    /** Instance-hours spent on stale instances (cost). */
    stale_instance_hours: number;
    /** Simulation only: all vm-service instance-hours (pooled, booting, assigned, stale): what `cost.vm_service_per_day` prices. */
    instance_hours?: number;
    /** Jobs using Docker Layer Caching, and those of them that got a preallocated instance and so ran without their cache. */
    dlc_jobs?: number;
    dlc_without_cache?: number;
    /** Idle preallocated instances replaced by the daily cycle. */
    preallocated_cycled?: number;
  };
  /** The observations behind `observed_severity` (empty without faults). */
  severity_because: string[];
  /** The Services machine's boot: containers that did not come up, and whether the system started at all. */
  startup: { system_started: boolean; failed: { name: string; reason: string }[] };
  /** The Services machine's disk: the least free space seen, and whether it filled. */
  services_machine: { min_free_disk_mb: number; disk_full: boolean };
  /** test-results: results parsed, and the most that waited for parsing at once (an outage's back-fill). */
  test_results: { parsed: number; peak_backlog: number };
  /**
   * What an operator would have seen (simulation only): each kind of symptom with its container, view and count,
   * sorted by container, view and text. The classifier compares them with the baseline's.
   */
  symptoms?: Symptom[];
  /** statsd flush intervals lost while telegraf was down. */
  metric_gaps: number;
  metrics: Record<string, MetricSummary>;
  ledger: { conserved: boolean; equation: string };
  /** The first AFFECTED_LIST_LIMIT (50) affected builds, in the order they were affected. */
  affected_builds: AffectedBuild[];
  /** How many builds and webhooks were affected in all (`affected_builds` lists the first 50); absent in reports from before it was counted. */
  affected_builds_total?: number;
  engine: { events: number; virtual_ms: number; stop_reason: string };
  /** Live runs only: how the replay ran on real components. */
  live?: LiveSection;
  /** Live runs only: the comparison with the simulated run of the same scenario and seed. */
  agreement?: Agreement;
}

export interface LiveSection {
  /** Scenario ms per wall-clock ms. */
  time_scale: number;
  /** Wall-clock time of the replay (after boot): the workload's steps, then the drain; and of the boot. */
  wall_ms: number;
  workload_wall_ms: number;
  drain_wall_ms: number;
  /** How long each part took to start (postgres, redis, rabbitmq, mongo, objects, migrations, pipeline), ms. */
  boot_ms_by_component: Record<string, number>;
  boot_ms: number;
  stop_reason: string;
  /** What each component ran on. */
  backends: Record<string, string>;
  /** The whole stack's peak resident memory: this process and every process it started. */
  peak_rss_mb: number;
  /** The same as proportional memory (Linux's PSS): shared pages counted once across the stack's processes, not once per process. */
  peak_pss_mb?: number;
  /** Each fault as it was carried out: scenario time planned, when it happened, what was done. */
  fault_log: string[];
  /** A deliberate defect of the live side this run had (`TWIN_LIVE_MUTANT`), said so it is never silent. */
  mutant?: string;
  /** What reached object storage (objects under the seeds' prefixes) and the audit log (events). */
  stored: { action_logs: number; artifacts: number; test_results: number; audit_events_recorded: number; audit_events_persisted: number; audit_events_lost: number };
  /** Report fields a live run does not measure yet (they hold zeros or the scenario's settings). */
  not_measured: string[];
  /** The replay's main thread's event-loop delay over the workload, wall ms: how late the timeline and the endpoints ran. */
  main_loop_delay_ms?: { p50: number; p99: number; max: number };
}
