import type { Twin } from '../twin.ts';
import type { FaultRecord, ObservedSeverity, Report } from './types.ts';
import type { SettledScenario } from '../scenario/settled.ts';
import { evaluateExpectations } from './expectations.ts';
import { costPerDay } from '../models/autoscaling/cost.ts';

/** The exact command that reproduces a run. */
export function replayCommand(file: string, seed: number, mode: 'sim' | 'live' = 'sim'): string {
  return `twin run ${file} --seed ${seed}${mode === 'live' ? ' --mode live' : ''}`;
}

/** Reads a finished twin into the report contract, expectations evaluated; `withSeverity` adds the verdict. */
export function buildReport(twin: Twin): Report {
  const s = twin.scenario;
  const l = twin.ledger;
  const nc = s.topology.nomadClients;
  const reserved = twin.profile.nomad_client;
  const hours = Math.max(1, s.durationMs / 3_600_000);
  const finished = l.counts.succeeded + l.counts.failed;
  const faults: FaultRecord[] = twin.faults.applied.map((a) => ({
    at_ms: a.atMs,
    action: a.fault.action,
    target: a.fault.target,
    observed_severity: 'none',
    ...(a.fault.forMs === undefined ? {} : { for_ms: a.fault.forMs }),
    ...(a.fault.target === 'nomad_client' ? { count: a.fault.count } : {}),
  }));
  const report: Report = {
    scenario: s.name,
    ...(s.description ? { description: s.description } : {}),
    version: s.version,
    mode: 'sim',
    seed: s.seed,
    passed: true,
    builds: { ...l.counts },
    queue_time_ms: twin.fleet.queueTimes.percentiles(),
    data_loss: { ...l.dataLoss },
    faults,
    observed_severity: 'none',
    expectations: [],
    replay: replayCommand(s.file, s.seed),
    duration_ms: s.durationMs,
    ended_at_ms: twin.sim.nowMs,
    webhooks: { received: twin.frontend.received, accepted: twin.frontend.accepted, dropped: twin.frontend.dropped },
    workflows: { started: twin.conductor.started, succeeded: twin.conductor.succeeded, failed: twin.conductor.failed, not_started: twin.conductor.rejected, inconsistent: twin.conductor.inconsistent },
    start_delay_ms: twin.fleet.startDelays.percentiles(),
    ui: { requests: twin.ui.requests, failed: twin.ui.failed, failed_by_kind: Object.fromEntries([...twin.ui.failedByKind.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) },
    scheduled_workflows: { triggered: twin.cron.triggered, skipped: twin.cron.skipped },
    run_queue_latency_ms: twin.runQueueLatency.percentiles(),
    throughput: {
      builds_per_hour: round2(finished / hours),
      peak_builds_per_hour: Math.max(0, ...twin.finishedPerHour),
      tasks_completed: twin.fleet.tasksCompleted,
    },
    capacity: {
      nomad_clients: twin.fleet.nodeIds.length,
      usable_cpu_milli_per_client: (nc.cpus - reserved.reserved_cpu) * 1000,
      usable_memory_mb_per_client: (nc.memoryGb - reserved.reserved_memory_gb) * 1024,
      peak_running_tasks: twin.fleet.peakRunningTasks,
      mean_cpu_utilisation: round4(twin.cpuUtilisationMean),
      peak_cpu_utilisation: round4(twin.peakCpuUtilisation),
      peak_pending_jobs: twin.peakPendingJobs,
      scheduler: s.topology.scheduler,
      fragmentation: round4(twin.fleet.fragmentation),
      wait_ms: twin.fleet.capacityWaits.percentiles(),
    },
    ...(twin.asg === undefined
      ? {}
      : {
          autoscaling: {
            launched: twin.asg.launched,
            terminated: twin.asg.terminated,
            replaced: twin.asg.replaced,
            actions: twin.asg.actions,
            peak_instances: twin.asg.peakInstances,
            final_desired: twin.asg.desired,
            final_instances: twin.fleet.instanceIds().length + twin.fleet.booting,
          },
        }),
    cost: costPerDay({
      spanMs: Math.max(1, twin.sim.nowMs),
      clientMs: twin.fleet.instanceMs.valueAt(twin.sim.nowMs),
      clientHourUsd: nc.hourUsd,
      vmMs: twin.vm.instanceMs.valueAt(twin.sim.nowMs),
      vmHourUsd: s.cost.vmInstanceHourUsd,
      queueMs: twin.fleet.queueTimeSumMs,
      developerHourUsd: s.cost.developerHourUsd,
    }),
    vm_service: {
      instances_launched: twin.vm.launched,
      instances_terminated: twin.vm.terminated,
      preallocated_used: twin.vm.preallocatedUsed,
      mean_wait_ms: twin.vm.waits.percentiles().mean,
      stale_peak: twin.vm.peakStale,
      stale_instance_hours: round2(twin.vm.staleInstanceMs / 3_600_000),
      instance_hours: round2(twin.vm.instanceMs.valueAt(twin.sim.nowMs) / 3_600_000),
      dlc_jobs: twin.vm.dlcJobs,
      dlc_without_cache: twin.vm.dlcWithoutCache,
      preallocated_cycled: twin.vm.preallocatedCycled,
    },
    severity_because: [],
    startup: { system_started: twin.startup.systemStarted, failed: twin.startup.failed.map((f) => ({ ...f })) },
    services_machine: { min_free_disk_mb: Math.round(twin.disk.minFreeMb), disk_full: twin.disk.minFreeMb <= 0 },
    test_results: { parsed: twin.testResults.parsed, peak_backlog: twin.testResults.peakBacklog },
    symptoms: twin.symptoms.symptoms(twin.services.history),
    metric_gaps: twin.telegraf.gaps,
    metrics: roundMetrics(twin.telegraf.summaries()),
    ledger: { conserved: l.conserved(), equation: l.equation() },
    affected_builds: l.affected.map((a) => ({ ...a })),
    affected_builds_total: l.affectedTotal,
    engine: { events: twin.sim.eventsFired, virtual_ms: twin.sim.nowMs, stop_reason: twin.endReason },
  };
  return judge(report, s.expect);
}

/**
 * The report with the classifier's verdict: on the run and on each of its faults (isolating each fault would
 * take a run per fault: `twin conformance` does that), then the expectations judged again.
 */
export function withSeverity(report: Report, severity: ObservedSeverity, because: string[], expect: SettledScenario['expect']): Report {
  const out: Report = { ...report, observed_severity: severity, severity_because: because, faults: report.faults.map((f) => ({ ...f, observed_severity: severity })) };
  return judge(out, expect);
}

/** Evaluates the expectations and sets `passed` (expectations met and the ledger conserved). */
export function judge(report: Report, expect: SettledScenario['expect']): Report {
  report.expectations = evaluateExpectations(report, expect);
  report.passed = report.expectations.every((e) => e.passed) && report.ledger.conserved;
  return report;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Metric summaries rounded to two decimals, as the report shows them. */
export function roundMetrics(m: Report['metrics']): Report['metrics'] {
  const out: Report['metrics'] = {};
  for (const [k, v] of Object.entries(m)) out[k] = { ...v, mean: round2(v.mean), max: round2(v.max), min: round2(v.min), last: round2(v.last) };
  return out;
}
