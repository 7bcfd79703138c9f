import type { Profile } from '../../../fixtures/schema.ts';
import type { SettledScenario } from '../../../sim/scenario/settled.ts';
import type { AffectedBuild, LiveSection, Report } from '../../../sim/report/types.ts';
import { SampleSet } from '../../../sim/metrics/percentiles.ts';
import { AFFECTED_LIST_LIMIT, isConserved, ledgerEquation } from '../../../sim/ledger.ts';
import { judge, replayCommand, roundMetrics } from '../../../sim/report/build-report.ts';
import type { Telegraf } from '../../../sim/metrics/telegraf.ts';
import { gaugeGaps } from '../../../sim/symptoms/gauge-gaps.ts';
import type { GithubDelivery } from '../../github/state.ts';
import type { ReplayStack } from './stack.ts';
import { ACTION_LOGS } from '../pipeline/index.ts';
import { REASONS, unfinishedFate } from '../../../sim/domain/fates.ts';
import { storageLayout } from '../../providers/index.ts';
import { liveSymptoms } from '../../../sim/symptoms/live.ts';

/** What the replay saw, for the accounting. */
export interface LiveObservations {
  stack: ReplayStack;
  /** Wall-clock epoch (ms) of scenario time 0. */
  epochMs: number;
  scale: number;
  endedAtMs: number;
  stopReason: string;
  /** Messages left in the pipeline's queues at the end. */
  depths: Record<string, number>;
  /** RabbitMQ was killed, stopped or restarted during the run (its non-durable queues were emptied). */
  brokerWentDown: boolean;
  notTriggered: { what: string; reason: string; atMs: number }[];
  scheduled: { triggered: number; skipped: number };
  /** The UI and API requests made, and those that failed. */
  ui: Report['ui'];
  telegraf: Telegraf;
  peakPending: number;
  faultLog: string[];
  webhookDeliveries: readonly GithubDelivery[];
  eventsFired: number;
  liveSection: Omit<LiveSection, 'boot_ms' | 'boot_ms_by_component' | 'backends' | 'peak_rss_mb' | 'stored'>;
}

interface BuildRow {
  id: string;
  status: string;
  reason: string | null;
  job_name: string | null;
  workflow_id: string | null;
  dispatched: boolean;
  queued_ms: number;
  queue_ms: number | null;
  latency_ms: number | null;
  finished_ms: number | null;
  parallelism: number | null;
  artifacts: number;
  test_results: boolean;
  /** Re-run as another build (an infrastructure failure). */
  retried: boolean;
}

/** Output lines build-agent sends per container (`BuildAgentRunner`'s default). */
const LINES_PER_CONTAINER = 3;

/**
 * The live run in the report contract: every build row of PostgreSQL gets a fate (succeeded, failed, lost,
 * stuck), failed webhook deliveries and refused triggers are not triggered, queue times are scaled back to
 * scenario time. The severity and the agreement are added by the caller.
 */
export async function accountLiveRun(scenario: SettledScenario, profile: Profile, o: LiveObservations): Promise<{ report: Report; stored: LiveSection['stored'] }> {
  const { pool } = o.stack;
  // Queue time and run-queue latency start where the simulation's do, when the build entered the run queue:
  // dispatcher's `forwarded_at` (a stack without dispatcher publishes to the run queue at `queued_at`).
  const rows = (
    await pool.query<BuildRow>(
      `SELECT b.id, b.status, b.reason, b.job_name, b.workflow_id, b.dispatched_at IS NOT NULL AS dispatched, b.parallelism, b.artifacts, b.test_results,
              EXISTS (SELECT 1 FROM builds r WHERE r.retry_of = b.id) AS retried,
              EXTRACT(EPOCH FROM b.queued_at) * 1000 - $1 AS queued_ms,
              EXTRACT(EPOCH FROM (b.started_at - COALESCE(b.forwarded_at, b.queued_at))) * 1000 AS queue_ms,
              EXTRACT(EPOCH FROM (b.dispatched_at - COALESCE(b.forwarded_at, b.queued_at))) * 1000 AS latency_ms,
              EXTRACT(EPOCH FROM b.finished_at) * 1000 - $1 AS finished_ms
         FROM builds b ORDER BY b.id`,
      [o.epochMs],
    )
  ).rows;
  // Stored step output, per build, from MongoDB's action logs.
  // The build records in MongoDB: stored step output, and the fate of a build that ended while PostgreSQL could
  // not record it (its row still says queued, scheduled or running).
  const linesStored = new Map<number, number>();
  const recorded = new Map<number, string>();
  for (const d of await o.stack.documents.collection<{ build_id: number; lines: string[]; status: string }>(ACTION_LOGS).find({})) {
    linesStored.set(d.build_id, d.lines.length);
    recorded.set(d.build_id, d.status);
  }
  // What reached object storage, per build: `<prefix><build>/…`.
  const { objects } = o.stack;
  const perBuild = async (prefix: string) => {
    const n = new Map<number, number>();
    for (const obj of await objects.list(prefix)) {
      const id = Number(obj.key.slice(prefix.length).split('/')[0]);
      if (Number.isInteger(id)) n.set(id, (n.get(id) ?? 0) + 1);
    }
    return n;
  };
  const layout = storageLayout(profile);
  const [artifactsStored, resultsStored, logsStored] = await Promise.all([perBuild(layout.prefixes.artifact), perBuild(layout.prefixes['test-results']), perBuild(layout.prefixes['step-output'])]);
  // Audit events written, each counted once (delivery is at least once: a file can repeat events).
  const auditIds = new Set<string>();
  for (const f of await objects.list(layout.prefixes['audit-log'])) {
    for (const line of ((await objects.get(f.key))?.body.toString('utf8') ?? '').split('\n')) if (line.trim() !== '') auditIds.add((JSON.parse(line) as { id: string }).id);
  }
  const auditPersisted = auditIds.size;
  const { recorded: auditRecorded, lost: auditLost } = await o.stack.auditCounts();
  const vm = await o.stack.vmCounts();
  const loss = { step_output: 0, artifacts: 0, test_results: 0 };
  const v = (wallMs: number | null) => (wallMs === null ? 0 : Math.max(0, Math.round(Number(wallMs) * o.scale)));
  const counts = { triggered: rows.length, succeeded: 0, failed: 0, lost: 0, stuck: 0, not_triggered: o.notTriggered.length, retried: 0 };
  const affected: AffectedBuild[] = [];
  const note = (build: string, fate: AffectedBuild['fate'], reason: string, atMs: number) => {
    affected.push({ build, fate, reason, at_ms: atMs });
  };
  for (const n of o.notTriggered) note(n.what, 'not_triggered', n.reason, n.atMs);
  // Messages still waiting in a queue at the end belong to the newest queued builds: those are stuck, not lost.
  const waiting: Record<string, number> = { 'run-queue': o.depths['run-queue'] ?? 0, schedulerer: o.depths['schedulerer'] ?? 0 };
  const queueTimes = new SampleSet();
  const latencies = new SampleSet();
  const finishedPerHour: number[] = [];
  let liveOutputLost = 0;
  const stuckWorkflows = new Set<string>();
  for (const r of [...rows].reverse()) {
    const name = `build-${r.id}${r.job_name ? ` (${r.job_name})` : ''}`;
    const at = v(r.queued_ms);
    if (r.queue_ms !== null) queueTimes.add(v(r.queue_ms));
    if (r.latency_ms !== null) latencies.add(v(r.latency_ms));
    const status = r.status === 'succeeded' || r.status === 'failed' || r.status === 'lost' ? r.status : (recorded.get(Number(r.id)) ?? r.status);
    if (r.retried) {
      counts.retried++;
      note(name, 'retried', r.reason ?? REASONS.retried, at);
    }
    const id = Number(r.id);
    switch (status) {
      case 'succeeded':
      case 'failed': {
        counts[status]++;
        const hour = Math.floor(v(r.finished_ms) / 3_600_000);
        finishedPerHour[hour] = (finishedPerHour[hour] ?? 0) + 1;
        if (status === 'failed') note(name, 'failed', r.reason ?? REASONS.testsFailed, at);
        // A build that failed before it ran (in picard-dispatcher) had nothing to show or store.
        if (r.queue_ms === null && !recorded.has(id)) break;
        // A partition cut its build agents' stream while they ran: the live output of its running steps is lost.
        const interrupted = o.stack.runner.interrupted.has(id);
        // Its allocation was lost (and the build re-run): nothing was to be stored (the re-run stores it).
        if (status === 'failed' && r.reason === REASONS.allocationLost) {
          if (interrupted) liveOutputLost++;
          break;
        }
        // Output held in Redis while the build ran and not there when it was copied: lost with Redis.
        if (interrupted || (linesStored.get(id) ?? 0) < (r.parallelism ?? 1) * LINES_PER_CONTAINER) liveOutputLost++;
        // A build that ran must have all its objects in object storage.
        if (!logsStored.has(id)) loss.step_output++;
        loss.artifacts += Math.max(0, r.artifacts - (artifactsStored.get(id) ?? 0));
        if (r.test_results && !resultsStored.has(id)) loss.test_results++;
        break;
      }
      case 'lost':
        counts.lost++;
        note(name, 'lost', r.reason ?? 'lost', at);
        break;
      default: {
        // Still queued (in run-queue, or in schedulerer's queue once dispatched), scheduled (pending in Nomad)
        // or running: the domain decides, as the simulation's ledger does at the end of its run.
        const stage = status === 'queued' ? (r.dispatched ? 'scheduling' : 'run-queue') : status === 'running' ? 'running' : 'pending';
        const queue = stage === 'scheduling' ? 'schedulerer' : 'run-queue';
        const messageWaiting = status === 'queued' && waiting[queue]! > 0;
        if (messageWaiting) waiting[queue]!--;
        const { fate, reason } = unfinishedFate({ stage, messageWaiting, nomadWiped: o.stack.wipedBuilds.has(id), brokerWentDown: o.brokerWentDown });
        counts[fate]++;
        note(name, fate, reason, at);
        if (fate !== 'stuck') break;
        if (stage === 'running') {
          // Left Running: its build agent's reports never reached output-processor, so nothing it was to store
          // was stored, and its workflow will never move on (inconsistent).
          loss.step_output++;
          loss.artifacts += r.artifacts;
          if (r.test_results) loss.test_results++;
        } else if (r.workflow_id) stuckWorkflows.add(r.workflow_id);
      }
    }
  }
  // The first ones in scenario time, as the simulation's ledger lists them (the counts are complete).
  affected.sort((a, b) => a.at_ms - b.at_ms);
  const outcomes = affected.slice();
  const affectedTotal = affected.length;
  affected.length = Math.min(affected.length, AFFECTED_LIST_LIMIT);

  const wf = (
    await pool.query<{ id: string; status: string }>('SELECT id, status FROM workflows')
  ).rows;
  const workflows = { started: wf.length, succeeded: 0, failed: 0, not_started: 0, inconsistent: 0 };
  for (const w of wf) {
    if (w.status === 'succeeded') workflows.succeeded++;
    else if (w.status === 'failed') workflows.failed++;
    // Running with nothing of it waiting to run (a build lost, or left Running): no job will ever move it on.
    else if (!stuckWorkflows.has(w.id)) workflows.inconsistent++;
  }

  // Webhooks as the simulation counts them: every push GHE sent, whether frontend took it (a 2xx on some
  // attempt) or dropped it (an error answer, or no answer at all while it was down).
  const byGuid = new Map<string, boolean>();
  for (const d of o.webhookDeliveries) byGuid.set(d.guid, (byGuid.get(d.guid) ?? false) || d.ok);
  const received = byGuid.size;
  const accepted = [...byGuid.values()].filter((ok) => ok).length;

  const nc = scenario.topology.nomadClients;
  const reserved = profile.nomad_client;
  const hours = Math.max(1, scenario.durationMs / 3_600_000);
  const q = queueTimes.percentiles();
  const report: Report = {
    scenario: scenario.name,
    ...(scenario.description ? { description: scenario.description } : {}),
    version: scenario.version,
    mode: 'live',
    seed: scenario.seed,
    passed: true,
    builds: counts,
    queue_time_ms: q,
    data_loss: { ...loss, audit_events: auditLost + Math.max(0, auditRecorded - auditPersisted - (o.depths['audit-events'] ?? 0)), live_step_output: liveOutputLost, build_records: 0, workflow_records: 0 },
    faults: scenario.faults.map((f) => ({ at_ms: f.atMs, action: f.action, target: f.target, observed_severity: 'none', ...(f.forMs === undefined ? {} : { for_ms: f.forMs }) })),
    observed_severity: 'none',
    expectations: [],
    replay: replayCommand(scenario.file, scenario.seed, 'live'),
    duration_ms: scenario.durationMs,
    ended_at_ms: o.endedAtMs,
    webhooks: { received, accepted, dropped: received - accepted },
    workflows,
    start_delay_ms: q,
    ui: o.ui,
    scheduled_workflows: { ...o.scheduled },
    run_queue_latency_ms: latencies.percentiles(),
    throughput: {
      builds_per_hour: Math.round(((counts.succeeded + counts.failed) / hours) * 100) / 100,
      peak_builds_per_hour: Math.max(0, ...finishedPerHour.map((x) => x ?? 0)),
      tasks_completed: o.stack.runner.completed,
    },
    capacity: {
      // The scenario's clients and the replacements the Auto Scaling Group launched.
      nomad_clients: o.stack.nomadClients,
      usable_cpu_milli_per_client: (nc.cpus - reserved.reserved_cpu) * 1000,
      usable_memory_mb_per_client: (nc.memoryGb - reserved.reserved_memory_gb) * 1024,
      peak_running_tasks: o.stack.runner.peakRunning,
      mean_cpu_utilisation: 0,
      peak_cpu_utilisation: 0,
      peak_pending_jobs: o.peakPending,
    },
    vm_service: {
      instances_launched: vm.launched,
      instances_terminated: vm.terminated,
      preallocated_used: vm.preallocatedUsed,
      mean_wait_ms: vm.meanWaitMs,
      stale_peak: 0,
      stale_instance_hours: 0,
    },
    severity_because: [],
    startup: { system_started: true, failed: [] },
    services_machine: { min_free_disk_mb: scenario.topology.disk.freeMb, disk_full: false },
    test_results: { parsed: resultsStored.size, peak_backlog: 0 },
    metric_gaps: 0,
    metrics: roundMetrics(o.telegraf.summaries()),
    ledger: { conserved: isConserved(counts), equation: ledgerEquation(counts) },
    affected_builds: affected,
    affected_builds_total: affectedTotal,
    engine: { events: o.eventsFired, virtual_ms: o.endedAtMs, stop_reason: o.stopReason },
  };
  // What an operator would have seen (sim/symptoms/live.ts), from every outcome before the list was cut.
  // The services' own lines in scenario time, those the run's window holds (not the boot's).
  const serviceLogs = o.stack
    .logEntries()
    .map(({ container, entry }) => ({ container, atMs: Math.round((entry.atEpochMs - o.epochMs) * o.scale), text: entry.text }))
    .filter((e) => e.atMs >= 0 && e.atMs <= o.endedAtMs);
  // telegraf's series in scenario time (its flushes during the boot only anchor the run's first gap).
  const written = o.stack.gauges();
  const gauges = { flushes: written.flushes.map((f) => ({ atMs: Math.round((f.atEpochMs - o.epochMs) * o.scale), names: f.names })), periodMs: written.periodMs * o.scale };
  report.symptoms = liveSymptoms({ containers: profile.containers, faults: scenario.faults, endedAtMs: o.endedAtMs, outcomes, dataLoss: report.data_loss, ui: o.ui, flushMs: profile.metrics.statsd_interval_ms, serviceLogs, gauges });
  // The flush intervals in which telegraf forwarded nothing, as the series shows them (the simulation's `metric_gaps`).
  report.metric_gaps = gaugeGaps(gauges.flushes, { periodMs: gauges.periodMs, flushMs: profile.metrics.statsd_interval_ms, fromMs: 0, toMs: o.endedAtMs })
    .filter((g) => g.container === 'telegraf')
    .reduce((n, g) => n + g.flushes, 0);
  const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const stored: LiveSection['stored'] = {
    action_logs: sum(logsStored),
    artifacts: sum(artifactsStored),
    test_results: sum(resultsStored),
    audit_events_recorded: auditRecorded,
    audit_events_persisted: auditPersisted,
    audit_events_lost: auditLost,
  };
  return { report: judge(report, scenario.expect), stored };
}
