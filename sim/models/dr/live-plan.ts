import type { SettledScenario } from '../../scenario/settled.ts';
import { planReplay, type PlannedWorkflow } from '../workload/replay-plan.ts';

/** Where a push of a live rehearsal falls: what the restored installation should hold of it. */
export type PushPhase = 'before_snapshot' | 'after_snapshot' | 'outage' | 'after_restore';

/**
 * What a live rehearsal acts out, in the scenario's time: the window of the workload around the last backup before
 * the disaster (as long before the snapshot as the disaster comes after it), the snapshot, the disaster, and the
 * pushes after it (which go on while the runbook runs, until the installation is back). The pushes are the
 * simulation's own (`planReplay`, same seed), so the live and the simulated rehearsal see the same arrivals.
 */
export interface LiveDrPlan {
  timeScale: number;
  windowStartMs: number;
  snapshotAtMs: number;
  /**
   * The backups acted out, in order (the last is `snapshotAtMs`). A region outage restores the newest copy complete in
   * the other region at the outage, and the last backup's copy may not be: the one before it is acted out too.
   */
  backupsAtMs: number[];
  disasterAtMs: number;
  recoveryAtMs: number;
  pushes: PlannedWorkflow[];
}

/** Builds the plan; the scenario must carry `backups`, `disaster` and `recovery` (checked by the CLI before). */
export function planLiveDr(scenario: SettledScenario): LiveDrPlan {
  const { backups, disaster, recovery } = scenario;
  if (!backups || !disaster || !recovery) throw new Error('a live DR plan needs backups, disaster and recovery');
  // The last backup due strictly before the disaster (one due at the instant of the disaster is not taken); a
  // replica `lag` behind holds, at the disaster, the primary's state as of `lag` before it (as the simulation's).
  const snapshotAtMs = backups.strategy === 'replica' ? disaster.atMs - backups.lagMs : Math.floor((disaster.atMs - 1) / backups.everyMs) * backups.everyMs;
  if (snapshotAtMs <= 0) throw new Error(`no backup is due before the disaster at ${disaster.atMs} ms`);
  // A region outage restores the newest backup whose copy was complete at the outage: the one before the last too.
  const viaCopy = disaster.kind === 'region_outage' && backups.strategy !== 'replica' && snapshotAtMs > backups.everyMs;
  const backupsAtMs = viaCopy ? [snapshotAtMs - backups.everyMs, snapshotAtMs] : [snapshotAtMs];
  const firstBackupAtMs = backupsAtMs[0]!;
  const windowStartMs = Math.max(0, firstBackupAtMs - (disaster.atMs - snapshotAtMs));
  return {
    timeScale: scenario.timeScale,
    windowStartMs,
    snapshotAtMs,
    backupsAtMs,
    disasterAtMs: disaster.atMs,
    recoveryAtMs: disaster.atMs + recovery.afterMs,
    pushes: planReplay(scenario).filter((w) => w.source === 'push' && w.atMs >= windowStartMs),
  };
}

/** The phase of a push made at scenario time `atMs`, given whether the installation was back when it was made. */
export function pushPhase(plan: LiveDrPlan, atMs: number, restored: boolean): PushPhase {
  if (restored) return 'after_restore';
  if (atMs < plan.snapshotAtMs) return 'before_snapshot';
  if (atMs < plan.disasterAtMs) return 'after_snapshot';
  return 'outage';
}

/** What decides whether the builders (Nomad clients) reach a Services machine. */
export interface BuildersView {
  appRunning: boolean;
  primaryIp: string;
  secondaryIp: string | undefined;
  /** `PRIVATE_ADDRESS` in `/etc/default/replicated`: the address Replicated binds the app to when it starts. */
  replicatedIp: string;
  /** The address the builders were launched to dial (the original Services machine's, or a rotation's). */
  dialIp: string;
  /**
   * Builders launched (rotated) to dial an address other than the one they paired with at install: the
   * `CIRCLE_SECRET_PASSPHRASE` their user data gave them and the machine's secret token. Absent: the original
   * builders (or builders launched for the original address), which need no passphrase.
   */
  pairing?: { passphrase: string | undefined; secretToken: string | undefined };
}

/**
 * Builders reach the Services machine when its app runs, it holds the address they dial (its primary or a secondary
 * re-associated to it) and Replicated bound the app to the machine's own primary address: an address in
 * `/etc/default/replicated` the instance does not have as its primary leaves them unable to register (the seeds'
 * restore step 4); builders launched for a new address register only with the machine's secret token as their
 * passphrase (003, "Discovery and Re-association of Builders"). The simulation's rule (`dr-rehearsal.ts`).
 */
export function buildersReach(v: BuildersView): boolean {
  const paired = v.pairing === undefined || (v.pairing.passphrase !== undefined && v.pairing.passphrase === v.pairing.secretToken);
  return v.appRunning && (v.primaryIp === v.dialIp || v.secondaryIp === v.dialIp) && v.replicatedIp === v.primaryIp && paired;
}

/**
 * What skipping `reassign_private_ip` or `update_replicated_ips` cost when the builders do not reach the machine, in
 * both runtimes' words (`dr-rehearsal.ts`, `harness/dr/live-rehearsal.ts`): the address they dial is not the
 * machine's, or it is but Replicated names another; with the builds that were never placed.
 */
export function unreachedConsequence(v: { dialIp: string; holdsDial: boolean; replicatedIp: string; primaryIp: string; neverPlaced: number }): string {
  return v.holdsDial
    ? `builders cannot reach the Services machine: replicated names ${v.replicatedIp}, the instance's address is ${v.primaryIp}; ${v.neverPlaced} builds never placed`
    : `builders dial ${v.dialIp}, which no instance holds: they cannot reach the Services machine; ${v.neverPlaced} builds never placed`;
}

/**
 * What skipping `wipe_nomad_state` cost, in both runtimes' words: the allocations the restored /opt/nomad brought back
 * (none: nothing to wipe), and how many still held the fleet at the end. Nomad clients that cannot reach the machine
 * when its app starts miss their heartbeats and their allocations are lost with them (the rule both runtimes apply:
 * `dr-rehearsal.ts` `clientsDown`, `ServicesMachine.judgeBuilders`), so a restore at a new private IP loses them
 * before they interfere; at the old address the builders reach it from its boot and they hold the fleet.
 */
export function skippedWipeConsequence(v: { restored: number; atEnd: number; heldPercent: number; waitedBehind: number }): string {
  if (v.restored === 0) return 'none: the restored state held no allocations';
  if (v.atEnd === 0) return `the restored /opt/nomad brought back ${v.restored} stale allocations; none held the fleet at the end: they were lost when the Nomad clients went down (the builders could not reach the machine after its boot)`;
  return `the restored /opt/nomad kept ${v.restored} stale allocations holding ${v.heldPercent}% of the fleet's CPU at the end; new builds waited behind them ${v.waitedBehind} times`;
}
