import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateSnapshotCommand } from '@aws-sdk/client-ec2';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { makeTempDir, removeDir } from '../providers/temp-dir.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import type { Runbook, RunbookStep } from '../../sim/models/dr/runbook.ts';
import type { BackupRecord, DrOutcome } from '../../sim/models/dr/dr-rehearsal.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';
import { formatDurationMs } from '../../sim/util/duration.ts';
import { LiveDrError, LiveRun, runLiveDr, type LiveDrOptions } from './live-rehearsal.ts';
import { BackupError, circleciBackup, TARBALL_NAME, type TarballBackup } from './circleci-backup.ts';
import { circleciRestore, RestoreError, type TarballRestore } from './circleci-restore.ts';

export { LiveDrError } from './live-rehearsal.ts';

/** Documented ports at 16000 + port, as the EBS rehearsal (`twin dr --mode live`); the live test passes another offset. */
export const TARBALL_DR_PORT_OFFSET = 16_000;

/** One scheduled `circleci-backup`, and what became of it. */
interface TakenTarball {
  /** Its instant in the scenario's time. */
  atMs: number;
  wallMs: number;
  done: Promise<void>;
  backup?: TarballBackup;
  /** Wall epoch ms at which the tarball was written. */
  completedWallMs?: number;
  error?: string;
}

/**
 * `twin dr --mode live` of a scenario whose backups are `circleci-backup` tarballs: the EBS rehearsal's machinery
 * (`LiveRun`: the pushes, the disaster, the runbook's order and judgement, the measures from the real PostgreSQL) with
 * the tarball's own steps:
 * - before the workload, the installation as CircleCI's clean AMI: `CreateSnapshot` of the fresh Services volume and
 *   `RegisterImage` of it (a configured installation holding no builds, Nomad empty);
 * - on the scenario's schedule (each `backups.every` inside the acted window), `circleci-backup` of the running stack
 *   into the backup store (the S3 bucket's stand-in, off the Services machine: it survives the disaster), while the
 *   pushes go on; the disaster waits for a backup still being written (the delay is reported);
 * - `download_backup`: the newest tarball written before the disaster copied from the store (`aws s3 cp`);
 * - `launch_instance`: `RunInstances` of the clean AMI (at the old private IP unless `recovery.reassign_private_ip`):
 *   the clean install boots and its app starts, taking webhooks;
 * - `restore_tarball`: `circleci-restore` on it (`circleci-restore.ts`): the builds the clean install took are moved
 *   to `/data/circleci-restore-<timestamp>` with the rest of its data, and lost.
 */
export class TarballRun extends LiveRun {
  private readonly tarballs: TakenTarball[] = [];
  private bucket = '';
  private cleanImageId: string | undefined;
  private downloaded: { path: string; tarball: TakenTarball } | undefined;
  private restore: TarballRestore | undefined;
  private movedAside = 0;
  private disasterDelayMs = 0;

  protected override backupTimes(): number[] {
    const every = this.scenario.backups!.everyMs;
    const out: number[] = [];
    for (let at = Math.ceil(Math.max(1, this.plan.windowStartMs) / every) * every; at < this.plan.disasterAtMs; at += every) out.push(at);
    return out;
  }

  /** The runbook restores on the running installation (`restore-tarball-in-place`): no clean install is launched. */
  private get inPlace(): boolean {
    return !this.runbook.steps.some((s) => s.does === 'launch_instance');
  }

  override async act(): Promise<{ outcome: DrOutcome; measures: Record<string, unknown> }> {
    this.bucket = await makeTempDir('circleci-backups');
    try {
      if (!this.inPlace) await this.registerCleanImage();
      return await super.act();
    } finally {
      await Promise.all(this.tarballs.map((t) => t.done));
      await removeDir(this.bucket);
    }
  }

  /** The clean CircleCI AMI: the fresh installation's volume snapshotted and registered, before any push. */
  private async registerCleanImage(): Promise<void> {
    const box = await this.servicesInstance();
    const snap = await this.call(this.ec2.send(new CreateSnapshotCommand({ VolumeId: box.BlockDeviceMappings?.[0]?.Ebs?.VolumeId, Description: 'CircleCI Services clean install (the AMI a tarball restore launches)' })));
    this.cleanImageId = await this.registerImage(snap.SnapshotId!, 'circleci-services-clean');
    this.note(`clean AMI ${this.cleanImageId} registered from ${snap.SnapshotId} of the fresh installation (no builds)`);
  }

  /** `circleci-backup` of the running stack into the backup store, not awaited: the pushes go on meanwhile. */
  protected override async backup(): Promise<void> {
    const atMs = this.backupTimes().find((t) => !this.tarballs.some((x) => x.atMs === t)) ?? this.plan.snapshotAtMs;
    const dir = join(this.bucket, clockName(atMs));
    const t: TakenTarball = { atMs, wallMs: Date.now(), done: Promise.resolve() };
    this.note(`backup: circleci-backup ${dir} starts (${formatDurationMs(atMs)} of scenario time)`);
    t.done = circleciBackup(this.stack, this.machine.etcDir, dir).then(
      (b) => {
        t.backup = b;
        t.completedWallMs = Date.now();
        this.note(`backup: ${TARBALL_NAME} of ${formatDurationMs(atMs)} written: ${b.bytes} bytes in ${b.durationMs} ms (${b.parts.map((p) => `${p.name} ${p.bytes} B`).join(', ')})`);
      },
      (e: unknown) => {
        t.error = e instanceof BackupError ? `${e.message} (${e.hint})` : (e as Error).message;
        this.note(`backup of ${formatDurationMs(atMs)} failed: ${t.error}`);
      },
    );
    this.tarballs.push(t);
  }

  /** The disaster, once the tarballs being written are written (a tarball cut off half-way restores nothing). */
  protected override async disaster(): Promise<void> {
    const t0 = Date.now();
    await Promise.all(this.tarballs.map((t) => t.done));
    this.disasterDelayMs = Date.now() - t0;
    if (this.disasterDelayMs > 0) this.note(`disaster held ${this.disasterDelayMs} ms for circleci-backup to finish`);
    await super.disaster();
  }

  protected override async apply(step: RunbookStep): Promise<string> {
    const m = this.machine;
    switch (step.does) {
      case 'download_backup': {
        const t = [...this.tarballs].reverse().find((x) => x.backup !== undefined && x.completedWallMs! <= this.disasterWallMs);
        if (t === undefined) return 'no tarball written before the disaster: nothing to download';
        const dir = join(this.bucket, 'download');
        mkdirSync(dir, { recursive: true });
        const path = join(dir, 'backup.tar.bz2');
        copyFileSync(t.backup!.path, path);
        this.downloaded = { path, tarball: t };
        return `${TARBALL_NAME} of ${formatDurationMs(t.atMs)} downloaded (${t.backup!.bytes} bytes)`;
      }
      case 'launch_instance': {
        // The clean AMI, launched as the EBS path launches a restored one; the volume holds a fresh installation.
        this.imageId = this.cleanImageId;
        const launched = await super.apply(step);
        return launched.replace(/ on the restored volume in (\d+) ms: .*$/, ' on a clean install (the clean AMI: no builds, Nomad empty) in $1 ms; its app takes webhooks');
      }
      case 'restore_tarball': {
        if (m.phase !== 'running') return 'no instance';
        if (this.downloaded === undefined) return 'no tarball downloaded: nothing to restore';
        const before = await this.shas();
        const frontendWas = this.stack.rows.get('frontend')?.ports.join(' ');
        // On a running installation its data is about to be moved aside: what a disaster kind reads of it, read now.
        if (m.appRunning) await m.beforeReplaced?.();
        try {
          this.restore = await circleciRestore(this.stack, m, this.downloaded.path);
        } catch (e) {
          if (e instanceof RestoreError) throw new LiveDrError(`live DR: ${e.message}`, e.hint);
          throw e;
        }
        const frontendIs = this.stack.rows.get('frontend')?.ports.join(' ');
        // A frontend back on another port leaves GitHub Enterprise's hook for the old one failing (every push then has a failed delivery).
        if (frontendIs !== frontendWas) this.note(`circleci-restore: frontend came back on ${frontendIs} (was ${frontendWas})`);
        this.restoredShas = await this.shas();
        this.movedAside = [...before].filter((s) => !this.restoredShas.has(s)).length;
        const r = await this.postgres.query<{ n: string }>(PIPELINE_DB, "SELECT count(*) AS n FROM builds WHERE status IN ('queued', 'scheduled', 'running')");
        this.stuckFromSnapshot = Number(r.rows[0]!.n);
        this.staleRestored = m.nomad?.state.staleAllocations().length ?? 0;
        const aside = this.restore.movedAsideTo === null ? '' : `; the install's data moved to ${this.restore.movedAsideTo} (${this.movedAside} workflows written on it since it booted)`;
        return `circleci-restore loaded ${this.restoredShas.size} workflows (${this.stuckFromSnapshot} build records queued or running) in ${this.restore.durationMs} ms${aside}`;
      }
      default:
        return super.apply(step);
    }
  }

  protected override async measure(): Promise<{ outcome: DrOutcome; measures: Record<string, unknown> }> {
    const { outcome, measures } = await super.measure();
    const S = this.plan.timeScale;
    const used = this.restore === undefined ? undefined : this.downloaded?.tarball;
    // The workload is paused while the disaster waits for a tarball (no push is made then): that wait is not age.
    const age = (t: TakenTarball) => (t.backup === undefined ? null : Math.round((this.disasterWallMs - this.disasterDelayMs - t.backup.startedAtMs) * S));
    const backups: BackupRecord[] = this.tarballs.map((t) => ({
      at_ms: t.atMs,
      size_bytes: t.backup?.bytes ?? 0,
      duration_ms: t.backup?.durationMs ?? 0,
      // In the scenario's time; one the disaster waited for is written at the disaster at the latest.
      completed_at_ms: t.completedWallMs === undefined ? t.atMs : Math.min(this.plan.disasterAtMs, t.atMs + Math.round((t.completedWallMs - t.wallMs) * S)),
      age_ms: age(t),
      usable: t.backup !== undefined,
      note:
        t.backup === undefined
          ? `circleci-backup failed: ${t.error ?? 'unfinished'}`
          : `${t === used ? 'restored; ' : ''}duration_ms is wall time (real dumps); age_ms in the scenario's time (wall × ${S}${this.disasterDelayMs > 0 ? `, without the ${this.disasterDelayMs} ms the disaster waited for it` : ''})`,
    }));
    outcome.backupsTaken = this.tarballs.filter((t) => t.backup !== undefined).length;
    outcome.rpoMs = used === undefined ? null : age(used);
    outcome.restoredFromMs = used === undefined ? null : used.atMs;
    outcome.sim = {
      backups,
      recordsLostAtRestore: this.movedAside,
      buildersRotated: 0,
      // Restored in place, the machine (and its address) stayed: the builders that reach it reconnected; a clean
      // install launched for the restore is paired with none of them.
      buildersReconnected: this.inPlace ? (outcome.measured?.buildersReconnected ?? 0) : 0,
      // A settings change's own measures (its kind's, laid over the outcome by LiveRun).
      settings: outcome.measured?.settings ?? { broken: null, buildsFailed: 0, restored: false },
      writes: { createdMs: [], writesMs: [] },
    };
    const { snapshot: _ebs, ...rest } = measures;
    return {
      outcome,
      measures: {
        ...rest,
        rpo_scenario_ms: outcome.rpoMs,
        clean_ami: this.cleanImageId ?? null,
        restored_in_place: this.inPlace,
        tarballs: this.tarballs.map((t) => ({ at_ms: t.atMs, bytes: t.backup?.bytes ?? null, duration_ms: t.backup?.durationMs ?? null, parts: t.backup?.parts.map((p) => ({ name: p.name, bytes: p.bytes })) ?? [], not_in_tarball: t.backup?.notInTarball ?? [], error: t.error ?? null })),
        disaster_held_for_backup_ms: this.disasterDelayMs,
        restore: this.restore ? { duration_ms: this.restore.durationMs, moved_aside_to: this.restore.movedAsideTo, moved_aside_bytes: this.restore.movedAsideBytes, workflows_moved_aside: this.movedAside, loaded: this.restore.loaded } : null,
      },
    };
  }
}

/** `030000` for 3h: the per-backup prefix in the bucket, as a cron job uploading circleci-backup's output names it. */
function clockName(ms: number): string {
  const s = Math.floor(ms / 1000);
  return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60].map((n) => String(n).padStart(2, '0')).join('');
}

/** `twin dr --mode live` of a tarball scenario. */
export function runTarballDr(scenario: SettledScenario, runbook: Runbook, opts: LiveDrOptions = {}): Promise<DrReport> {
  return runLiveDr(scenario, runbook, { ...opts, runner: TarballRun });
}
