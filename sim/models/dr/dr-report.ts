import { evaluateExpectations } from '../../report/expectations.ts';
import type { BuildCounts, FaultRecord, ObservedSeverity, Percentiles, Report } from '../../report/types.ts';
import type { SettledScenario } from '../../scenario/settled.ts';
import type { AnyRunbook } from './runbook.ts';
import { rehearse, type BackupRecord, type DrOutcome, type DrStepResult } from './dr-rehearsal.ts';
import { recommendInterval, type Recommendation } from './backup-schedule.ts';

/** `dr-report.json`: the report's contract fields, plus `rto_ms`, `rpo_ms`, `webhooks_dropped` and `runbook`. */
export interface DrReport
  extends Pick<Report, 'scenario' | 'description' | 'version' | 'mode' | 'seed' | 'passed' | 'builds' | 'queue_time_ms' | 'data_loss' | 'observed_severity' | 'expectations' | 'replay'> {
  faults: Omit<FaultRecord, 'for_ms' | 'count'>[];
  severity_because: string[];
  rto_ms: number | null;
  rpo_ms: number | null;
  webhooks_dropped: number;
  runbook: { step: string; status: DrStepResult['status']; consequence: string; started_at_ms: number; duration_ms: number }[];
  dr: {
    disaster: { at_ms: number; kind: string; breaks?: string; share?: number };
    recovery: { runbook: string; then: string[]; after_ms: number; skip: string[]; new_private_ip: boolean; rpo_tolerance_ms?: number };
    backups: { strategy: string; every_ms: number; lag_ms?: number; copy?: { region: string; takes_ms: number }; list: BackupRecord[] };
    target_rto_ms: number;
    /** Whether the measured RTO is within the seeds' fail-over target (15 minutes). */
    meets_target: boolean;
    /** The backup interval that keeps the worst-case RPO within `recovery.rpo_tolerance` (absent without one). */
    recommendation?: Recommendation;
    /** Records a restore replaced on a running installation (moved aside by circleci-restore, or left on the replaced machine). */
    records_lost_at_restore: number;
    builders_rotated: number;
    builders_reconnected: number;
    /** A settings_change: what it broke, how many builds failed of it, whether a restore brought the settings back. */
    settings?: { broken: string | null; builds_failed: number; restored: boolean };
    backups_taken: number;
    restored_from_ms: number | null;
    records_written_after_backup: number;
    stuck_from_snapshot: number;
    stale_allocations_restored: number;
    stale_allocations_at_end: number;
    builders_reach_services: boolean;
    hostname_matches: boolean;
    services_up_ms: number | null;
    skipped_steps: number;
    timeline: { at_ms: number; event: string }[];
  };
  baseline: { builds: BuildCounts; queue_time_ms: Percentiles };
  ledger: { conserved: boolean; equation: string };
  engine: { events: number; virtual_ms: number };
  /** A live rehearsal's own measures (the real snapshot's hold, the restore's boot, the wall times): absent in sim. */
  live?: Record<string, unknown>;
}

/**
 * Runs the rehearsal and its baseline (the same scenario and seed without the disaster) and reports both.
 * The scenario must carry `backups`, `disaster` and `recovery` (the CLI checks it with located errors first).
 */
export function runDrRehearsal(scenario: SettledScenario, runbook: AnyRunbook): DrReport {
  const outcome = rehearse(scenario, runbook);
  const baseline = rehearse(scenario, runbook, { withoutDisaster: true });
  return buildDrReport(scenario, runbook, outcome, baseline);
}

/**
 * The report of a rehearsal from its outcome and its baseline: the simulation's, or a live rehearsal's measured
 * outcome (then `mode` is live, and `live` carries what only a live run measures). One severity rule, one ledger
 * check and one expectation evaluation for both runtimes.
 */
export function buildDrReport(scenario: SettledScenario, runbook: AnyRunbook, o: DrOutcome, baseline: DrOutcome, live?: { replay: string; measures: Record<string, unknown> }): DrReport {
  const { disaster, recovery, backups } = scenario;
  if (!disaster || !recovery || !backups) throw new Error('a DR report needs backups, disaster and recovery');
  const b = o.builds;
  const measured = measuredOf(o);
  const { severity, because } = classifyDr(o, baseline);
  const rto = o.rtoMs;
  const report: DrReport = {
    scenario: scenario.name,
    ...(scenario.description ? { description: scenario.description } : {}),
    version: scenario.version,
    mode: live ? 'live' : 'sim',
    seed: scenario.seed,
    passed: true,
    builds: b,
    queue_time_ms: o.queueTimeMs,
    // The rehearsal models build records; step output, artifacts and test results live in S3 and survive.
    data_loss: { step_output: 0, artifacts: 0, test_results: 0, audit_events: 0, live_step_output: 0, build_records: o.recordsWrittenAfterBackup, workflow_records: 0 },
    faults: [{ at_ms: disaster.atMs, ...faultOf(disaster.kind), observed_severity: severity }],
    observed_severity: severity,
    severity_because: because,
    expectations: [],
    replay: live?.replay ?? `twin dr ${scenario.file} --seed ${scenario.seed}`,
    rto_ms: rto,
    rpo_ms: o.rpoMs,
    webhooks_dropped: o.webhooksDropped,
    runbook: o.runbook.map((s) => ({ step: s.step, status: s.status, consequence: s.consequence, started_at_ms: s.started_at_ms, duration_ms: s.duration_ms })),
    dr: {
      disaster: { at_ms: disaster.atMs, kind: disaster.kind, ...(disaster.breaks ? { breaks: disaster.breaks, share: disaster.share } : {}) },
      recovery: {
        runbook: recovery.runbook,
        then: recovery.then,
        after_ms: recovery.afterMs,
        skip: recovery.skip,
        new_private_ip: recovery.reassignPrivateIp,
        ...(recovery.rpoToleranceMs === undefined ? {} : { rpo_tolerance_ms: recovery.rpoToleranceMs }),
      },
      backups: {
        strategy: backups.strategy,
        every_ms: backups.everyMs,
        ...(backups.strategy === 'replica' ? { lag_ms: backups.lagMs } : {}),
        ...(backups.copy ? { copy: { region: backups.copy.region, takes_ms: backups.copy.takesMs } } : {}),
        list: o.sim?.backups ?? o.measured?.backups ?? [],
      },
      target_rto_ms: runbook.targetRtoMs,
      meets_target: rto !== null && rto <= runbook.targetRtoMs,
      // The sweep runs over the baseline's writes: the workload the schedule would see without the disaster.
      ...(recovery.rpoToleranceMs !== undefined && baseline.sim ? { recommendation: recommendInterval(scenario, recovery.rpoToleranceMs, baseline.sim.writes) } : {}),
      records_lost_at_restore: measured.recordsLostAtRestore,
      builders_rotated: o.sim?.buildersRotated ?? o.measured?.buildersRotated ?? 0,
      builders_reconnected: measured.buildersReconnected,
      ...(measured.settings?.broken ? { settings: { broken: measured.settings.broken, builds_failed: measured.settings.buildsFailed, restored: measured.settings.restored } } : {}),
      backups_taken: o.backupsTaken,
      restored_from_ms: o.restoredFromMs,
      records_written_after_backup: o.recordsWrittenAfterBackup,
      stuck_from_snapshot: o.stuckFromSnapshot,
      stale_allocations_restored: o.staleAllocationsRestored,
      stale_allocations_at_end: o.staleAllocationsAtEnd,
      builders_reach_services: o.buildersReachAtEnd,
      hostname_matches: o.hostnameMatchesAtEnd,
      services_up_ms: o.servicesUpAtMs === null ? null : o.servicesUpAtMs - disaster.atMs,
      skipped_steps: o.runbook.filter((s) => s.status === 'skipped').length,
      timeline: o.timeline,
    },
    baseline: { builds: baseline.builds, queue_time_ms: baseline.queueTimeMs },
    ledger: {
      conserved: b.succeeded + b.failed + b.lost + b.stuck === b.triggered,
      equation: `${b.succeeded} succeeded + ${b.failed} failed + ${b.lost} lost + ${b.stuck} stuck = ${b.succeeded + b.failed + b.lost + b.stuck} (triggered ${b.triggered})`,
    },
    engine: { events: o.events, virtual_ms: o.endedAtMs },
    ...(live ? { live: live.measures } : {}),
  };
  report.expectations = evaluateExpectations(report, scenario.expect);
  report.passed = report.ledger.conserved && report.expectations.every((e) => e.passed);
  return report;
}

/** The measures both runtimes give: the simulation's (`sim`), or what a live rehearsal measured of them. */
function measuredOf(o: DrOutcome): NonNullable<DrOutcome['measured']> {
  return o.sim ?? o.measured ?? { recordsLostAtRestore: 0, buildersReconnected: 0 };
}

/** The fault a disaster is, in the report's `faults` (the action and target of the scenario contract). */
function faultOf(kind: string): { action: string; target: string } {
  switch (kind) {
    case 'settings_change':
      return { action: 'settings_change', target: 'settings' };
    case 'ebs_corruption':
      return { action: 'ebs_corruption', target: 'services_machine' };
    case 'az_outage':
    case 'region_outage':
      return { action: kind, target: 'services_machine' };
    default:
      return { action: 'terminate_instance', target: 'services_machine' };
  }
}

/** The severity rules of `severity.ts`, on what a rehearsal observes, against its baseline. */
function classifyDr(o: DrOutcome, baseline: DrOutcome): { severity: ObservedSeverity; because: string[] } {
  const severe: string[] = [];
  const moderate: string[] = [];
  if (o.recordsWrittenAfterBackup > 0) severe.push(`${o.recordsWrittenAfterBackup} build records written after the last backup were lost`);
  const { recordsLostAtRestore: lostAtRestore, settings } = measuredOf(o);
  if (lostAtRestore > 0) severe.push(`${lostAtRestore} build records written on the running installation were replaced by the restore`);
  const settingsFailed = settings?.buildsFailed ?? 0;
  if (settingsFailed > 0) moderate.push(`${settingsFailed} builds failed because of the settings change`);
  if (o.builds.lost > baseline.builds.lost) severe.push(`${o.builds.lost - baseline.builds.lost} more builds lost than the baseline`);
  if (o.builds.stuck > baseline.builds.stuck) severe.push(`${o.builds.stuck - baseline.builds.stuck} more builds stuck than the baseline`);
  if (o.builds.failed > baseline.builds.failed) moderate.push(`${o.builds.failed - baseline.builds.failed} more builds failed than the baseline`);
  if (o.webhooksDropped > baseline.webhooksDropped) moderate.push(`${o.webhooksDropped - baseline.webhooksDropped} webhooks dropped`);
  if (severe.length > 0) return { severity: 'severe', because: [...severe, ...moderate] };
  if (moderate.length > 0) return { severity: 'moderate', because: moderate };
  return { severity: 'mild', because: [] };
}
