import { describe, expect, it } from 'vitest';
import { ALARM_MARGIN_BYTES, alarmLimitBytes, liveDiskUse, LiveServicesDisk, mbPerLogByte, type DiskLimitControl } from './live-disk.ts';
import { machineDf } from './live-commands.ts';
import { diskFree } from '../../sim/training/session.ts';

/** small-team-full-disk.yaml's volume: 5.6 GB free, RabbitMQ blocks publishers under 5 GB, 100 MB/h and 3 MB a build. */
const SETTINGS = { capacityMb: 100_000, freeMb: 5_600, logMbPerHour: 100, logMbPerBuild: 3, rabbitmqLimitMb: 5_000 };

/** A node whose limit the disk sets: what it was told, in order. */
function node(limit = 50_000_000, free = 40 * 1024 ** 3) {
  const set: number[] = [];
  const control: DiskLimitControl = { limitBytes: async () => limit, setLimitBytes: async (b) => void set.push(b), freeBytes: () => free };
  return { control, set };
}

function disk(logs: { unrotatedLogBytes: number; lines: [string, string][] }, control: DiskLimitControl, mbPerByte = 0.01) {
  return new LiveServicesDisk({ settings: SETTINGS, logs: { get unrotatedLogBytes() { return logs.unrotatedLogBytes; }, writeLog: (c, t) => void logs.lines.push([c, t]) }, control, mbPerByte, nowMs: () => 3 * 3_600_000 + 240_000, tickMs: 250 });
}

describe('the live disk: the simulation\'s rule on the live logs\' bytes', () => {
  it('scales a byte to what the simulation\'s growth rule says the warm-up wrote', () => {
    // 10 minutes and 4 builds: 100/6 + 12 MB over 20 000 bytes.
    expect(mbPerLogByte(SETTINGS, { bytes: 20_000, hours: 1 / 6, builds: 4 })).toBeCloseTo((100 / 6 + 12) / 20_000, 12);
    expect(mbPerLogByte(SETTINGS, { bytes: 10_000, hours: 1 / 6, builds: 4 })).toBeCloseTo((100 / 6 + 12) / 10_000, 12);
    expect(() => mbPerLogByte(SETTINGS, { bytes: 0, hours: 1 / 6, builds: 4 })).toThrow(/wrote 0 log bytes in the warm-up/);
    expect(() => mbPerLogByte(SETTINGS, { bytes: 100, hours: 0, builds: 4 })).toThrow(/warm-up lasted 0 h/);
  });

  it('frees what the rule frees: the alarm below the limit, not at it', () => {
    expect(liveDiskUse(SETTINGS, 0, 0.01)).toEqual({ freeMb: 5_600, alarm: false, full: false });
    expect(liveDiskUse(SETTINGS, 60_000, 0.01)).toEqual({ freeMb: 5_000, alarm: false, full: false });
    expect(liveDiskUse(SETTINGS, 60_001, 0.01).alarm).toBe(true);
    expect(liveDiskUse(SETTINGS, 560_000, 0.01)).toMatchObject({ freeMb: 0, full: true });
  });

  it('asks for a limit above the real free space', () => {
    expect(alarmLimitBytes(1_000)).toBe(1_000 + ALARM_MARGIN_BYTES);
    expect(alarmLimitBytes(1_000.2)).toBeGreaterThan(1_000.2);
  });

  it('sets the node\'s alarm once when the rule passes the limit, logs the seeds\' report, and puts the old limit back when there is room', async () => {
    const logs = { unrotatedLogBytes: 10_000, lines: [] as [string, string][] };
    const { control, set } = node(50_000_000, 7 * 1024 ** 3);
    const d = disk(logs, control);
    await d.tick();
    expect(set).toEqual([]);
    expect(d.alarm).toBe(false);
    logs.unrotatedLogBytes = 70_000;
    await d.tick();
    await d.tick();
    expect(set).toEqual([7 * 1024 ** 3 + ALARM_MARGIN_BYTES]);
    expect(d.alarm).toBe(true);
    expect(logs.lines).toEqual([['rabbitmq', expect.stringMatching(/^=WARNING REPORT==== 5-Jan-2026::11:04:00 ===\ndisk resource limit alarm set on node rabbit@rabbitmq\.\n\n\*+\n\*\*\* Publishers will be blocked until this alarm clears \*\*\*/)]]);
    // logrotate ran: nothing unrotated, the limit as it was.
    logs.unrotatedLogBytes = 0;
    await d.tick();
    expect(set).toEqual([7 * 1024 ** 3 + ALARM_MARGIN_BYTES, 50_000_000]);
    expect(d.alarm).toBe(false);
    expect(logs.lines[1]).toEqual(['rabbitmq', '=INFO REPORT==== 5-Jan-2026::11:04:00 ===\ndisk resource limit alarm cleared on node rabbit@rabbitmq']);
  });

  it('a rabbitmqctl that fails leaves the alarm as the node has it and says so; the next look tries again', async () => {
    const logs = { unrotatedLogBytes: 70_000, lines: [] as [string, string][] };
    let fail = true;
    const said: string[] = [];
    const set: number[] = [];
    const control: DiskLimitControl = { limitBytes: async () => 50_000_000, setLimitBytes: async (b) => (fail ? Promise.reject(new Error('nodedown')) : void set.push(b)), freeBytes: () => 1 };
    const d = new LiveServicesDisk({ settings: SETTINGS, logs: { get unrotatedLogBytes() { return logs.unrotatedLogBytes; }, writeLog: (c, t) => void logs.lines.push([c, t]) }, control, mbPerByte: 0.01, nowMs: () => 0, tickMs: 250, log: (l) => void said.push(l) });
    await d.tick();
    expect(d.alarm).toBe(false);
    expect(logs.lines).toEqual([]);
    expect(said).toEqual(["the live disk could not set RabbitMQ's disk alarm: nodedown"]);
    fail = false;
    await d.tick();
    expect(d.alarm).toBe(true);
    expect(set).toEqual([1 + ALARM_MARGIN_BYTES]);
  });

  it('refuses settings it cannot look with', () => {
    const { control } = node();
    expect(() => new LiveServicesDisk({ settings: SETTINGS, logs: { unrotatedLogBytes: 0, writeLog: () => undefined }, control, mbPerByte: Number.NaN, nowMs: () => 0, tickMs: 250 })).toThrow(/mbPerByte/);
    expect(() => new LiveServicesDisk({ settings: SETTINGS, logs: { unrotatedLogBytes: 0, writeLog: () => undefined }, control, mbPerByte: 1, nowMs: () => 0, tickMs: 10 })).toThrow(/tickMs must be at least 50/);
  });

  it('df -h on the live console: the simulation\'s rows with the rule\'s figures, then the real filesystems', () => {
    const out = machineDf({ capacityMb: 100_000, freeMb: 4_900, unrotatedLogBytes: 70 * 1024 }, 'REAL');
    expect(out.startsWith(diskFree(100_000, 4_900))).toBe(true);
    expect(out).toMatch(/\/dev\/nvme0n1p1 100G {2}95G {2}4\.9G {2}96% \//);
    expect(out).toContain('70K unrotated');
    expect(out.endsWith('REAL')).toBe(true);
    expect(machineDf(undefined, 'REAL')).toBe('REAL');
  });
});
