import { describe, expect, it } from 'vitest';
import { BACKUP_MODEL, MAX_BACKUPS_PER_SCHEDULE, judgeBackup, newestRestorable, scheduleBackups, timeBackup, worstCaseRpoMs } from './backup-schedule.ts';

const HOUR = 3_600_000;
const NO_WRITES = { createdMs: [], writesMs: [] };

describe('backup timing', () => {
  it('an EBS snapshot copies the used volume first, then only the changes since the previous one', () => {
    const first = timeBackup('ebs_snapshot', { atMs: HOUR, previousAtMs: null, recordsTotal: 10, writesSincePrevious: 30, usedVolumeBytes: 88e9 });
    expect(first.sizeBytes).toBe(88e9);
    expect(first.durationMs).toBe(Math.round(BACKUP_MODEL.ebsStartMs + (1000 * 88e9) / BACKUP_MODEL.ebsBytesPerS));
    const next = timeBackup('ebs_snapshot', { atMs: 2 * HOUR, previousAtMs: HOUR, recordsTotal: 10, writesSincePrevious: 4, usedVolumeBytes: 88e9 });
    expect(next.sizeBytes).toBe(4 * BACKUP_MODEL.recordBytes + BACKUP_MODEL.churnBytesPerHour);
    expect(next.completedAtMs).toBe(2 * HOUR + next.durationMs);
  });

  it('a tarball holds every datastore each time, and grows with the records', () => {
    const a = timeBackup('tarball', { atMs: HOUR, previousAtMs: null, recordsTotal: 0, writesSincePrevious: 0, usedVolumeBytes: 88e9 });
    const b = timeBackup('tarball', { atMs: 2 * HOUR, previousAtMs: HOUR, recordsTotal: 1000, writesSincePrevious: 0, usedVolumeBytes: 88e9, copyTakesMs: 600_000 });
    expect(a.sizeBytes).toBe(BACKUP_MODEL.baseDataBytes * BACKUP_MODEL.tarballCompression);
    expect(b.sizeBytes - a.sizeBytes).toBe(1000 * BACKUP_MODEL.recordBytes * BACKUP_MODEL.tarballCompression);
    expect(b.copiedAtMs).toBe(b.completedAtMs + 600_000);
    expect(a.copiedAtMs).toBeUndefined();
  });

  it('a schedule counts the writes between backups from the log', () => {
    const log = { createdMs: [10, 20, HOUR + 5], writesMs: [10, 20, 30, HOUR + 5, HOUR + 6] };
    const [one, two] = scheduleBackups('ebs_snapshot', HOUR, 2 * HOUR + 1, log, 1e9);
    expect(one!.sizeBytes).toBe(1e9);
    expect(two!.sizeBytes).toBe(2 * BACKUP_MODEL.recordBytes + BACKUP_MODEL.churnBytesPerHour);
    const tar = scheduleBackups('tarball', HOUR, 2 * HOUR + 1, log, 1e9);
    expect(tar[1]!.sizeBytes - tar[0]!.sizeBytes).toBe(BACKUP_MODEL.recordBytes * BACKUP_MODEL.tarballCompression);
  });

  it(`a schedule has at most ${MAX_BACKUPS_PER_SCHEDULE} backups: at the limit it runs, past it it throws`, () => {
    expect(scheduleBackups('tarball', 1000, MAX_BACKUPS_PER_SCHEDULE * 1000, NO_WRITES, 0)).toHaveLength(MAX_BACKUPS_PER_SCHEDULE - 1);
    expect(() => scheduleBackups('tarball', 1000, MAX_BACKUPS_PER_SCHEDULE * 1000 + 1001, NO_WRITES, 0)).toThrow(/exceeds 100000 backups/);
    expect(() => scheduleBackups('tarball', 0, HOUR, NO_WRITES, 0)).toThrow(/must be positive/);
  });
});

describe('worst-case RPO', () => {
  it('is the interval plus the time the slowest next backup takes to become restorable', () => {
    const backups = scheduleBackups('tarball', HOUR, 5 * HOUR, NO_WRITES, 0);
    const d = backups[0]!.durationMs;
    expect(worstCaseRpoMs(backups, HOUR, false)).toBe(HOUR + d);
    const copied = scheduleBackups('tarball', HOUR, 5 * HOUR, NO_WRITES, 0, 20 * 60_000);
    expect(worstCaseRpoMs(copied, HOUR, true)).toBe(HOUR + d + 20 * 60_000);
    // Never copied out of the region: nothing is ever restorable there.
    expect(worstCaseRpoMs(backups, HOUR, true)).toBeNull();
    expect(worstCaseRpoMs([], HOUR, false)).toBeNull();
  });

  it('a slow backup in the middle sets the worst case', () => {
    const mk = (atMs: number, durationMs: number) => ({ atMs, sizeBytes: 0, durationMs, completedAtMs: atMs + durationMs });
    expect(worstCaseRpoMs([mk(HOUR, 1000), mk(2 * HOUR, 30 * 60_000), mk(3 * HOUR, 1000)], HOUR, false)).toBe(HOUR + 30 * 60_000);
  });
});

describe('the backup a restore uses', () => {
  const b = (atMs: number, completedAtMs: number, copiedAtMs?: number) => ({ atMs, completedAtMs, ...(copiedAtMs === undefined ? {} : { copiedAtMs }) });
  const D = 3 * HOUR + 10 * 60_000;
  const backups = [b(HOUR, HOUR + 60_000, HOUR + 21 * 60_000), b(2 * HOUR, 2 * HOUR + 60_000, 2 * HOUR + 21 * 60_000), b(3 * HOUR, 3 * HOUR + 60_000, 3 * HOUR + 21 * 60_000)];

  it('after a region outage: the newest whose copy was complete at the outage, not the newest complete one', () => {
    expect(newestRestorable(backups, D, true)?.atMs).toBe(2 * HOUR);
    expect(newestRestorable(backups, D, false)?.atMs).toBe(3 * HOUR);
    // A copy complete at the very instant counts; one never copied never does.
    expect(newestRestorable([b(HOUR, HOUR, D)], D, true)?.atMs).toBe(HOUR);
    expect(newestRestorable([b(HOUR, HOUR)], D, true)).toBeUndefined();
    // A backup taken at the disaster is not restored to.
    expect(newestRestorable([b(D, D, D)], D, false)).toBeUndefined();
  });

  it('says why a backup cannot be restored', () => {
    const at = { disasterAtMs: D, kind: 'region_outage', restored: false };
    expect(judgeBackup(backups[2]!, at)).toEqual({ usable: false, note: 'its copy to the other region was not complete at the outage' });
    expect(judgeBackup(b(3 * HOUR, 3 * HOUR + 60_000), at)).toEqual({ usable: false, note: 'never copied out of the failed region' });
    expect(judgeBackup(backups[1]!, { ...at, restored: true })).toEqual({ usable: true, note: 'the newest restorable: the one a restore uses' });
    expect(judgeBackup(backups[2]!, { ...at, kind: 'services_machine_terminated' })).toEqual({ usable: true, note: 'restorable, superseded by a newer one' });
  });
});
