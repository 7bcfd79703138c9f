import type { Report } from './types.ts';

/**
 * A complete, realistic report: RabbitMQ killed at peak for ten minutes, then two Nomad clients terminated.
 *
 * For tests and docs. Every field is filled; the numbers agree with each other (the ledger adds up, the
 * expectations are what `evaluateExpectations` gives for this report: two pass, one fails, so `passed` is
 * false). Each call returns a fresh object; `overrides` replaces top-level fields as given (nothing is
 * recomputed, so a test can build an inconsistent report on purpose).
 */
export function sampleReport(overrides: Partial<Report> = {}): Report {
  const base: Report = {
    scenario: 'kill-rabbitmq-midday',
    description: 'RabbitMQ is killed at peak and restarted ten minutes later; two Nomad clients are lost later on',
    version: '2.19.6',
    mode: 'sim',
    seed: 42,
    passed: false,
    builds: { triggered: 2391, succeeded: 2310, failed: 52, lost: 27, stuck: 2, not_triggered: 9, retried: 14 },
    queue_time_ms: { mean: 4180, p50: 2350, p95: 12_400, p99: 185_000, max: 642_000 },
    data_loss: { step_output: 31, artifacts: 0, test_results: 4, audit_events: 0, live_step_output: 12, build_records: 0, workflow_records: 0 },
    faults: [
      { at_ms: 3_600_000, action: 'kill', target: 'rabbitmq', for_ms: 600_000, observed_severity: 'severe' },
      { at_ms: 9_000_000, action: 'terminate_instance', target: 'nomad_client', count: 2, observed_severity: 'moderate' },
    ],
    observed_severity: 'severe',
    expectations: [
      { metric: 'builds.lost', op: 'max', expected: 0, actual: 27, passed: false },
      { metric: 'queue_time_ms.p95', op: 'max', expected: 60_000, actual: 12_400, passed: true },
      { metric: 'observed_severity', op: 'equals', expected: 'severe', actual: 'severe', passed: true },
    ],
    replay: 'twin run scenarios/failures/kill-rabbitmq.yaml --seed 42',

    duration_ms: 14_400_000,
    ended_at_ms: 15_312_000,
    webhooks: { received: 2400, accepted: 2391, dropped: 9 },
    workflows: { started: 2391, succeeded: 2310, failed: 81, not_started: 9, inconsistent: 0 },
    start_delay_ms: { mean: 9_300, p50: 2_100, p95: 61_000, p99: 150_000, max: 181_000 },
    ui: { requests: 1_200, failed: 10, failed_by_kind: { 'builds page': 10 } },
    scheduled_workflows: { triggered: 4, skipped: 0 },
    run_queue_latency_ms: { mean: 620, p50: 180, p95: 1900, p99: 96_000, max: 610_000 },
    throughput: { builds_per_hour: 555.3, peak_builds_per_hour: 1042, tasks_completed: 2771 },
    capacity: {
      nomad_clients: 10,
      usable_cpu_milli_per_client: 6000,
      usable_memory_mb_per_client: 28_672,
      peak_running_tasks: 46,
      mean_cpu_utilisation: 0.412,
      peak_cpu_utilisation: 0.967,
      peak_pending_jobs: 183,
      scheduler: 'binpack',
      fragmentation: 0.3715,
      wait_ms: { mean: 4_100, p50: 0, p95: 21_000, p99: 95_000, max: 170_000 },
    },
    autoscaling: { launched: 9, terminated: 9, replaced: 0, actions: 2, peak_instances: 12, final_desired: 3, final_instances: 3 },
    cost: { total_per_day: 158.67, machines_per_day: 69.1, vm_service_per_day: 0, waiting_per_day: 89.57 },
    vm_service: { instances_launched: 24, instances_terminated: 22, preallocated_used: 11, mean_wait_ms: 41_500, stale_peak: 1, stale_instance_hours: 0.17, instance_hours: 31.5, dlc_jobs: 4, dlc_without_cache: 1, preallocated_cycled: 6 },
    severity_because: ['31 builds lost', 'step output lost: 31'],
    startup: { system_started: true, failed: [{ name: 'cron-service-migrator', reason: 'failed at startup' }, { name: 'cron-service', reason: 'its startup dependency cron-service-migrator did not start' }] },
    services_machine: { min_free_disk_mb: 11_200, disk_full: false },
    test_results: { parsed: 1_980, peak_backlog: 0 },
    metric_gaps: 0,
    metrics: {
      'circle.backend.build.run-queue': { type: 'gauge', samples: 1531, mean: 3.1, max: 412, min: 0, last: 0 },
      'circle.dispatcher.find-containers-failed': { type: 'counter', samples: 1531, mean: 0.02, max: 4, min: 0, last: 0 },
      'circle.nomad.server_agent.jobs.pending': { type: 'gauge', samples: 1531, mean: 8.4, max: 183, min: 0, last: 0 },
      'circle.nomad.server_agent.jobs.running': { type: 'gauge', samples: 1531, mean: 21.7, max: 46, min: 0, last: 0 },
      'circle.run-queue.latency': { type: 'timer', samples: 2391, mean: 620, max: 610_000, min: 12, last: 140 },
    },
    ledger: { conserved: true, equation: '2310 + 52 + 27 + 2 = 2391' },
    affected_builds: [
      { build: 'acme/api#1042', fate: 'lost', reason: 'run-queue message lost when rabbitmq was killed', at_ms: 3_600_000 },
      { build: 'acme/api#1043', fate: 'lost', reason: 'run-queue message lost when rabbitmq was killed', at_ms: 3_600_000 },
      { build: 'acme/web#877', fate: 'stuck', reason: 'left Running: its Nomad client was terminated mid-build', at_ms: 9_000_000 },
      { build: 'acme/web#878', fate: 'failed', reason: 'infrastructure failure: Nomad client terminated', at_ms: 9_000_000 },
      { build: 'acme/mobile#310', fate: 'retried', reason: 'rerun after infrastructure failure', at_ms: 9_240_000 },
      { build: 'acme/api@4f2a9c1', fate: 'not_triggered', reason: 'webhook dropped: frontend could not enqueue while rabbitmq was down', at_ms: 3_912_000 },
    ],
    affected_builds_total: 6,
    engine: { events: 184_233, virtual_ms: 15_312_000, stop_reason: 'drained' },
  };
  return { ...base, ...overrides };
}
