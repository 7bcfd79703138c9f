import type { SettledScenario } from '../../scenario/settled.ts';

/**
 * What a backup weighs and how long it takes, and the backup interval that keeps the data loss within a tolerance.
 * The seeds give no sizes or rates (only that "subsequent AMIs/snapshots are only as large as the difference
 * (changed blocks) since the last snapshot", 004, and that circleci-backup runs "without downtime", 003): the
 * figures below are the twin's assumptions, stated once here and used by the rehearsal and the sweep alike.
 */
export const BACKUP_MODEL = {
  /** A build record with its steps' metadata in PostgreSQL and MongoDB (step output and artifacts go to S3). */
  recordBytes: 256 * 1024,
  /** Other writes to the root volume between snapshots: logs, metrics, Replicated's own state. */
  churnBytesPerHour: 200 * 2 ** 20,
  /** The datastores of the installation before the rehearsal's first build: what every tarball holds. */
  baseDataBytes: 2 * 2 ** 30,
  /** An EBS snapshot's fixed time from `pending` to `completed`, and its rate over the changed blocks. */
  ebsStartMs: 30_000,
  ebsBytesPerS: 100 * 2 ** 20,
  /** circleci-backup dumps every datastore and compresses it with bzip2 on one core. */
  tarballBytesPerS: 20 * 2 ** 20,
  tarballCompression: 0.25,
} as const;

/** Backup intervals the recommendation tries, shortest first (the usual cron choices). */
export const CANDIDATE_INTERVALS_MS: readonly number[] = [5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440].map((m) => m * 60_000);

/** Bound on the backups of one schedule (a 90-day run at the shortest interval stays well under it). */
export const MAX_BACKUPS_PER_SCHEDULE = 100_000;

export type Strategy = 'ebs_snapshot' | 'tarball';

export interface BackupTiming {
  atMs: number;
  sizeBytes: number;
  durationMs: number;
  /** When it can be restored from: complete (an EBS snapshot `completed`, the tarball written). */
  completedAtMs: number;
  /** When its copy in the other region is complete (`backups.copy`); undefined without copies. */
  copiedAtMs?: number;
}

/** The Services machine's used space: what the first EBS snapshot copies in full. */
export function usedVolumeBytes(scenario: SettledScenario): number {
  const { capacityMb, freeMb } = scenario.topology.disk;
  return Math.max(0, capacityMb - freeMb) * 1e6;
}

/**
 * One backup's size and duration. An EBS snapshot holds the blocks changed since the previous one (the first: the
 * volume's used space); a tarball holds every datastore, compressed, each time.
 */
export function timeBackup(
  strategy: Strategy,
  at: { atMs: number; previousAtMs: number | null; recordsTotal: number; writesSincePrevious: number; usedVolumeBytes: number; copyTakesMs?: number },
): BackupTiming {
  const M = BACKUP_MODEL;
  let sizeBytes: number;
  let durationMs: number;
  if (strategy === 'ebs_snapshot') {
    sizeBytes = at.previousAtMs === null ? at.usedVolumeBytes : at.writesSincePrevious * M.recordBytes + (M.churnBytesPerHour * (at.atMs - at.previousAtMs)) / 3_600_000;
    durationMs = M.ebsStartMs + (1000 * sizeBytes) / M.ebsBytesPerS;
  } else {
    const raw = M.baseDataBytes + at.recordsTotal * M.recordBytes;
    sizeBytes = raw * M.tarballCompression;
    durationMs = (1000 * raw) / M.tarballBytesPerS;
  }
  sizeBytes = Math.round(sizeBytes);
  durationMs = Math.round(durationMs);
  const completedAtMs = at.atMs + durationMs;
  return { atMs: at.atMs, sizeBytes, durationMs, completedAtMs, ...(at.copyTakesMs === undefined ? {} : { copiedAtMs: completedAtMs + at.copyTakesMs }) };
}

/** When the installation's build records were created and written (sorted), as a fault-free run records them. */
export interface WriteLog {
  createdMs: readonly number[];
  writesMs: readonly number[];
}

/** The backups of a schedule every `everyMs` until `untilMs`, timed from the write log. */
export function scheduleBackups(strategy: Strategy, everyMs: number, untilMs: number, log: WriteLog, volumeBytes: number, copyTakesMs?: number): BackupTiming[] {
  if (everyMs <= 0) throw new Error(`a backup interval must be positive, got ${everyMs}`);
  if (untilMs / everyMs > MAX_BACKUPS_PER_SCHEDULE) throw new Error(`a schedule every ${everyMs} ms until ${untilMs} ms exceeds ${MAX_BACKUPS_PER_SCHEDULE} backups`);
  const out: BackupTiming[] = [];
  let created = 0;
  let written = 0;
  let previous: number | null = null;
  let writtenAtPrevious = 0;
  for (let at = everyMs; at < untilMs; at += everyMs) {
    while (created < log.createdMs.length && log.createdMs[created]! <= at) created++;
    while (written < log.writesMs.length && log.writesMs[written]! <= at) written++;
    out.push(timeBackup(strategy, { atMs: at, previousAtMs: previous, recordsTotal: created, writesSincePrevious: written - writtenAtPrevious, usedVolumeBytes: volumeBytes, ...(copyTakesMs === undefined ? {} : { copyTakesMs }) }));
    previous = at;
    writtenAtPrevious = written;
  }
  return out;
}

/**
 * The worst RPO of a schedule in steady state: the age of the newest restorable backup just before the next one
 * becomes restorable, the longest over the run (after the last backup, the next is assumed to take as long as it).
 * `viaCopy`: a backup is restorable once its copy in the other region is complete (a region outage). The start of
 * a run, before any backup, is not counted: no schedule has a backup then. Null without a backup.
 */
export function worstCaseRpoMs(backups: readonly BackupTiming[], everyMs: number, viaCopy: boolean): number | null {
  const readyAfterMs = (b: BackupTiming): number => readyAtMs(b, viaCopy) - b.atMs;
  if (backups.length === 0) return null;
  let worst = 0;
  for (let k = 0; k < backups.length; k++) {
    const b = backups[k]!;
    const next = backups[k + 1];
    // The next backup's readiness, or a virtual one an interval later that takes as long as this one.
    const nextReadyMs = next ? next.atMs + readyAfterMs(next) : b.atMs + everyMs + readyAfterMs(b);
    worst = Math.max(worst, nextReadyMs - b.atMs);
  }
  // Never copied out of the region: no backup is ever restorable there.
  return Number.isFinite(worst) ? worst : null;
}

export interface IntervalCandidate {
  every_ms: number;
  worst_rpo_ms: number | null;
  meets: boolean;
}

export interface Recommendation {
  rpo_tolerance_ms: number;
  /** The longest interval whose worst-case RPO is within the tolerance; null when none is. */
  every_ms: number | null;
  worst_rpo_ms: number | null;
  /** Whether the scenario's own interval (or replica lag) meets the tolerance. */
  current_meets: boolean;
  candidates: IntervalCandidate[];
  because: string;
}

/**
 * Sweeps the candidate intervals over the fault-free run's writes and recommends the longest one (the fewest
 * backups) whose worst-case RPO stays within the tolerance. A replica has no interval: its RPO is its lag.
 */
export function recommendInterval(scenario: SettledScenario, toleranceMs: number, log: WriteLog): Recommendation {
  const backups = scenario.backups!;
  const viaCopy = scenario.disaster?.kind === 'region_outage';
  const untilMs = scenario.durationMs;
  if (backups.strategy === 'replica') {
    const meets = backups.lagMs <= toleranceMs;
    return {
      rpo_tolerance_ms: toleranceMs,
      every_ms: null,
      worst_rpo_ms: backups.lagMs,
      current_meets: meets,
      candidates: [],
      because: meets ? `the replica's lag (${backups.lagMs} ms) is the RPO of a fail-over to it, within the tolerance` : `the replica's lag (${backups.lagMs} ms) exceeds the tolerance: shorten the replication lag`,
    };
  }
  const volume = usedVolumeBytes(scenario);
  const worstOf = (everyMs: number): number | null => worstCaseRpoMs(scheduleBackups(backups.strategy as Strategy, everyMs, untilMs, log, volume, backups.copy?.takesMs), everyMs, viaCopy);
  const candidates = CANDIDATE_INTERVALS_MS.filter((e) => e < untilMs).map((every) => {
    const worst = worstOf(every);
    return { every_ms: every, worst_rpo_ms: worst, meets: worst !== null && worst <= toleranceMs };
  });
  const best = [...candidates].reverse().find((c) => c.meets);
  const current = worstOf(backups.everyMs);
  const currentMeets = current !== null && current <= toleranceMs;
  const because = best
    ? `every ${best.every_ms} ms: its worst-case RPO ${best.worst_rpo_ms} ms (the interval plus the time a backup takes${viaCopy ? ' and its copy to the other region' : ''}) is within the tolerance; longer intervals are not`
    : `no candidate interval keeps the worst-case RPO within the tolerance: a backup takes longer than the tolerance${viaCopy ? ' with its copy to the other region' : ''}, or the run is too short for one`;
  return { rpo_tolerance_ms: toleranceMs, every_ms: best?.every_ms ?? null, worst_rpo_ms: best?.worst_rpo_ms ?? null, current_meets: currentMeets, candidates, because };
}

/** When a backup can be restored from: once complete, or, after a region outage (`viaCopy`), once its copy in the other region is. */
export function readyAtMs(b: Pick<BackupTiming, 'completedAtMs' | 'copiedAtMs'>, viaCopy: boolean): number {
  return viaCopy ? (b.copiedAtMs ?? Infinity) : b.completedAtMs;
}

/**
 * The backup a restore after a disaster at `disasterAtMs` uses: the newest taken before it and restorable at it (the
 * operator restores to before the disaster). Both runtimes choose by it: the simulation over its modelled timings,
 * the live rehearsal over the instants it saw its snapshots and their copies complete.
 */
export function newestRestorable<B extends Pick<BackupTiming, 'atMs' | 'completedAtMs' | 'copiedAtMs'>>(backups: readonly B[], disasterAtMs: number, viaCopy: boolean): B | undefined {
  let best: B | undefined;
  for (const b of backups) if (b.atMs < disasterAtMs && readyAtMs(b, viaCopy) <= disasterAtMs && (!best || b.atMs > best.atMs)) best = b;
  return best;
}

/**
 * Whether a backup could be restored after the disaster, and why (the report's `usable` and `note`), in the words both
 * runtimes print. `restored`: the one the restore used; `disasterAtMs` null: a run without a disaster.
 */
export function judgeBackup(
  b: Pick<BackupTiming, 'atMs' | 'completedAtMs' | 'copiedAtMs'>,
  at: { disasterAtMs: number | null; kind: string | undefined; restored: boolean },
): { usable: boolean; note: string } {
  const d = at.disasterAtMs;
  const viaCopy = at.kind === 'region_outage';
  if (d !== null && b.atMs >= d) return { usable: false, note: at.kind === 'settings_change' ? 'taken after the settings change: it holds the change' : 'taken after the disaster' };
  if (d !== null && readyAtMs(b, viaCopy) > d) {
    return { usable: false, note: viaCopy ? (b.copiedAtMs === undefined ? 'never copied out of the failed region' : 'its copy to the other region was not complete at the outage') : 'not complete at the disaster' };
  }
  return { usable: true, note: at.restored ? 'the newest restorable: the one a restore uses' : 'restorable, superseded by a newer one' };
}
