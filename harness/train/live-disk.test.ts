import { describe, expect, it } from 'vitest';
import { ALARM_MARGIN_BYTES, alarmLimitBytes, LiveServicesDisk, type DiskLimitControl, type LiveDiskInputs } from './live-disk.ts';
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

/** The live installation as the disk sees it: its clock, logrotate's row, the builds finished, RabbitMQ's log. */
function installation() {
  return { nowMs: 3 * 3_600_000, logrotateUp: true, builds: 0 as number | undefined, lines: [] as [string, string][] };
}

function disk(inst: ReturnType<typeof installation>, control: DiskLimitControl, log?: (l: string) => void) {
  const inputs: LiveDiskInputs = { logrotateUp: () => inst.logrotateUp, buildsFinished: async () => inst.builds, writeLog: (c, t) => void inst.lines.push([c, t]) };
  return new LiveServicesDisk({ settings: SETTINGS, inputs, control, nowMs: () => inst.nowMs, tickMs: 250, ...(log ? { log } : {}) });
}

describe('the live disk: the simulation\'s disk ticked on the live installation', () => {
  it('grows the logs by the simulation\'s rule while logrotate is down (hours and builds finished since the last tick), none while it runs', async () => {
    const inst = installation();
    const { control } = node();
    const d = disk(inst, control);
    await d.tick(); // bearings
    inst.nowMs += 3_600_000;
    inst.builds = 10;
    await d.tick();
    expect(d.unrotatedMb).toBe(0); // logrotate up: rotated
    inst.logrotateUp = false;
    inst.nowMs += 1_800_000;
    inst.builds = 14;
    await d.tick();
    expect(d.unrotatedMb).toBeCloseTo(50 + 4 * 3, 9); // half an hour at 100 MB/h, 4 builds at 3 MB
    // PostgreSQL down: the hours count, the builds wait for the next tick that can count them.
    inst.builds = undefined;
    inst.nowMs += 1_800_000;
    await d.tick();
    expect(d.unrotatedMb).toBeCloseTo(100 + 12, 9);
    inst.builds = 20;
    await d.tick();
    expect(d.unrotatedMb).toBeCloseTo(100 + 12 + 6 * 3, 9);
    expect(d.use()).toEqual({ freeMb: 5_600 - 130, alarm: false, full: false });
    inst.logrotateUp = true;
    await d.tick();
    expect(d.unrotatedMb).toBe(0);
  });

  it('takes its bearings at the first tick that can count builds: the builds finished before it are not growth', async () => {
    const inst = installation();
    inst.logrotateUp = false;
    inst.builds = undefined;
    const d = disk(inst, node().control);
    await d.tick();
    inst.builds = 500;
    inst.nowMs += 60_000;
    await d.tick(); // bearings: 500 finished before the disk looked
    expect(d.unrotatedMb).toBe(0);
    inst.nowMs += 36_000;
    await d.tick();
    expect(d.unrotatedMb).toBeCloseTo(1, 9);
  });

  it('asks for a limit above the real free space', () => {
    expect(alarmLimitBytes(1_000)).toBe(1_000 + ALARM_MARGIN_BYTES);
    expect(alarmLimitBytes(1_000.2)).toBeGreaterThan(1_000.2);
  });

  it('sets the node\'s alarm once when the rule passes the limit (below it, not at it), logs the seeds\' report, and puts the old limit back when logrotate rotates', async () => {
    const inst = installation();
    inst.nowMs = 0;
    const { control, set } = node(50_000_000, 7 * 1024 ** 3);
    const d = disk(inst, control);
    await d.tick();
    inst.logrotateUp = false;
    inst.nowMs = 6 * 3_600_000; // 600 MB: free 5,000 MB, at the limit
    await d.tick();
    expect(d.use()).toEqual({ freeMb: 5_000, alarm: false, full: false });
    expect(set).toEqual([]);
    inst.builds = 1; // 3 MB more: under it
    await d.tick();
    await d.tick();
    expect(set).toEqual([7 * 1024 ** 3 + ALARM_MARGIN_BYTES]);
    expect(d.alarm).toBe(true);
    expect(inst.lines).toEqual([['rabbitmq', expect.stringMatching(/^=WARNING REPORT==== 5-Jan-2026::14:00:00 ===\ndisk resource limit alarm set on node rabbit@rabbitmq\.\n\n\*+\n\*\*\* Publishers will be blocked until this alarm clears \*\*\*/)]]);
    inst.logrotateUp = true;
    await d.tick();
    expect(set).toEqual([7 * 1024 ** 3 + ALARM_MARGIN_BYTES, 50_000_000]);
    expect(d.alarm).toBe(false);
    expect(inst.lines[1]).toEqual(['rabbitmq', '=INFO REPORT==== 5-Jan-2026::14:00:00 ===\ndisk resource limit alarm cleared on node rabbit@rabbitmq']);
  });

  it('a rabbitmqctl that fails leaves the alarm as the node has it and says so; the next look tries again', async () => {
    const inst = installation();
    let fail = true;
    const said: string[] = [];
    const set: number[] = [];
    const control: DiskLimitControl = { limitBytes: async () => 50_000_000, setLimitBytes: async (b) => (fail ? Promise.reject(new Error('nodedown')) : void set.push(b)), freeBytes: () => 1 };
    const d = disk(inst, control, (l) => void said.push(l));
    await d.tick();
    inst.logrotateUp = false;
    inst.nowMs += 7 * 3_600_000;
    await d.tick();
    expect(d.alarm).toBe(false);
    expect(inst.lines).toEqual([]);
    expect(said).toEqual(["the live disk could not set RabbitMQ's disk alarm: nodedown"]);
    fail = false;
    await d.tick();
    expect(d.alarm).toBe(true);
    expect(set).toEqual([1 + ALARM_MARGIN_BYTES]);
  });

  it('numbers the alarm\'s holding periods: from the set call\'s return to the clear call\'s start; a failed clear starts a new one', async () => {
    const inst = installation();
    let release: (() => void) | undefined;
    let fail = false;
    const control: DiskLimitControl = {
      limitBytes: async () => 50_000_000,
      setLimitBytes: (b) => (fail ? Promise.reject(new Error('nodedown')) : b === 50_000_000 ? new Promise<void>((r) => (release = r)) : Promise.resolve()),
      freeBytes: () => 1,
    };
    const d = disk(inst, control, () => undefined);
    await d.tick();
    expect(d.holdingPeriod).toBeUndefined();
    inst.logrotateUp = false;
    inst.nowMs += 7 * 3_600_000;
    await d.tick();
    expect(d.holdingPeriod).toBe(1);
    await d.tick();
    expect(d.holdingPeriod).toBe(1);
    inst.logrotateUp = true;
    const clearing = d.tick();
    await new Promise((r) => setTimeout(r, 0));
    expect(release).toBeDefined();
    expect(d.holdingPeriod).toBeUndefined(); // the node may unblock before the call returns
    expect(d.alarm).toBe(true);
    release!();
    await clearing;
    expect(d.alarm).toBe(false);
    expect(d.holdingPeriod).toBeUndefined();
    inst.logrotateUp = false;
    inst.nowMs += 7 * 3_600_000;
    await d.tick();
    expect(d.holdingPeriod).toBe(2);
    fail = true;
    inst.logrotateUp = true;
    await d.tick();
    expect(d.alarm).toBe(true);
    expect(d.holdingPeriod).toBe(3);
  });

  it('a look (df) reads the volume as of now: after the tick under way, one more with logrotate\'s row now', async () => {
    const inst = installation();
    let release: (() => void) | undefined;
    const control: DiskLimitControl = { limitBytes: async () => 50_000_000, setLimitBytes: (b) => (b === 50_000_000 ? Promise.resolve() : new Promise<void>((r) => (release = r))), freeBytes: () => 1 };
    const d = disk(inst, control);
    await d.tick();
    inst.logrotateUp = false;
    inst.nowMs += 7 * 3_600_000;
    // A tick under way: it read logrotate down and is setting the alarm when `docker start` brings logrotate back.
    const setting = d.tick();
    await new Promise((r) => setTimeout(r, 0));
    expect(release).toBeDefined();
    inst.logrotateUp = true;
    expect(d.use().freeMb).toBe(4_900);
    const look = d.look();
    release!();
    await setting;
    expect(await look).toEqual({ freeMb: 5_600, alarm: false, full: false });
    expect(d.alarm).toBe(false);
    expect(inst.lines.map(([, t]) => /alarm (set|cleared)/.exec(t)?.[1])).toEqual(['set', 'cleared']);
  });

  it('refuses a tick it cannot keep', () => {
    const inputs: LiveDiskInputs = { logrotateUp: () => true, buildsFinished: async () => 0, writeLog: () => undefined };
    expect(() => new LiveServicesDisk({ settings: SETTINGS, inputs, control: node().control, nowMs: () => 0, tickMs: 10 })).toThrow(/tickMs must be at least 50/);
  });

  it('df -h on the live console: the simulation\'s rows with the rule\'s figures, then the real filesystems', () => {
    const out = machineDf({ capacityMb: 100_000, freeMb: 4_900, unrotatedMb: 700 }, 'REAL');
    expect(out.startsWith(diskFree(100_000, 4_900))).toBe(true);
    expect(out).toMatch(/\/dev\/nvme0n1p1 100G {2}95G {2}4\.9G {2}96% \//);
    expect(out).toContain('700M of the installation\'s logs written since tutum/logrotate last rotated them');
    expect(out.endsWith('REAL')).toBe(true);
    expect(machineDf(undefined, 'REAL')).toBe('REAL');
  });
});
