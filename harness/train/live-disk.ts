import { statfsSync } from 'node:fs';
import { diskUse, unrotatedAfterTick, type DiskSettings, type DiskUse } from '../../sim/models/services/disk.ts';
import { rabbitDiskAlarm } from '../../sim/symptoms/container-logs.ts';
import type { StartedRabbitMQ } from '../providers/rabbitmq/started-rabbitmq.ts';

/**
 * The Services machine's volume on the live stack: the simulation's disk (`sim/models/services/disk.ts`) ticked on
 * the live installation. Every statsd interval of the installation's time (at the time scale) the logs left
 * unrotated follow the simulation's rule (`unrotatedAfterTick`): none while the live tutum/logrotate runs (its row
 * running), else the growth of that interval's installation hours and the
 * builds the live pipeline finished in it (`logGrowthMb`), and the volume's free space is `diskUse`'s. The twin's
 * services write far fewer bytes than CircleCI's containers, so the volume counts what the installation's would have
 * written, not the twin's bytes. When the rule says free space is below RabbitMQ's limit, the stack's private
 * RabbitMQ node gets a `disk_free_limit` above its real free space (what `rabbitmqctl set_disk_free_limit` calls,
 * `rabbit_disk_monitor:set_disk_free_limit/1`, a runtime setting, called over Erlang distribution): its own disk
 * alarm goes off and it blocks publishers for real; when the rule says there is room again, its limit is set back
 * and the alarm clears.
 */

/** What the disk looks at on the live installation. */
export interface LiveDiskInputs {
  /** Whether tutum/logrotate runs (its row running, not killed, stopped or hung). */
  logrotateUp(): boolean;
  /** Builds the live pipeline finished so far; undefined when it cannot say now (PostgreSQL down): the tick waits. */
  buildsFinished(): Promise<number | undefined>;
  /** A line in a container's log as the stack writes it (RabbitMQ's alarm report). */
  writeLog(container: string, text: string): void;
}

/** RabbitMQ's disk limit on the stack's private node. */
export interface DiskLimitControl {
  /** Its `disk_free_limit` now, in bytes. */
  limitBytes(): Promise<number>;
  setLimitBytes(bytes: number): Promise<void>;
  /** Bytes free now on the filesystem where the node keeps its data: a limit above it sets the alarm. */
  freeBytes(): number;
}

/** A limit this far above the real free space sets the alarm even while other processes free a little. */
export const ALARM_MARGIN_BYTES = 1024 ** 3;

/** The `disk_free_limit` that raises the node's alarm with `freeBytes` really free. */
export function alarmLimitBytes(freeBytes: number): number {
  return Math.ceil(freeBytes) + ALARM_MARGIN_BYTES;
}

/** The disk limit of the stack's private node (never the system one: `StartedRabbitMQ.rpc` names its own node). */
export function rabbitDiskControl(mq: StartedRabbitMQ): DiskLimitControl {
  if (!mq.controllable || mq.dataDir === undefined) throw new Error(`the live disk needs the stack's private RabbitMQ node (its disk limit set over Erlang distribution), not ${mq.backendDetail}`);
  const dir = mq.dataDir;
  return {
    limitBytes: async () => {
      const out = await mq.rpc('rabbit_disk_monitor', 'get_disk_free_limit', []);
      const n = Number(out);
      if (!Number.isInteger(n)) throw new Error(`rabbit_disk_monitor:get_disk_free_limit() answered ${JSON.stringify(out)}, not a number of bytes`);
      return n;
    },
    // What `rabbitmqctl set_disk_free_limit <bytes>` calls (a runtime setting: the node checks its disk at once).
    setLimitBytes: async (bytes) => void (await mq.rpc('rabbit_disk_monitor', 'set_disk_free_limit', [bytes])),
    freeBytes: () => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
  };
}

export interface LiveServicesDiskOptions {
  settings: DiskSettings;
  inputs: LiveDiskInputs;
  control: DiskLimitControl;
  /** The installation's clock (each tick's hours, the alarm report's time). */
  nowMs: () => number;
  /** Wall ms between two ticks (the statsd interval at the time scale). */
  tickMs: number;
  /** What went wrong with rabbitmqctl (the drill's log); the next tick tries again. */
  log?: (line: string) => void;
}

/** The live volume, looked at every `tickMs`: the rule's figures, and the private node's alarm kept in step with it. */
export class LiveServicesDisk {
  /** The alarm as the node has it (set by this disk). */
  private alarmSet = false;
  /**
   * The alarm's holding periods, numbered: `holding` from the set call's return (the node has the alarm) to the clear
   * call's start (the node may unblock at any moment from then on); what the pushes sent meanwhile are judged by.
   */
  private period = 0;
  private holding = false;
  private originalLimit: number | undefined;
  private originalLimitRead: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Megabytes of the installation's logs written since tutum/logrotate last rotated them (the rule's). */
  private unrotated = 0;
  /** The last tick: the installation's instant and the builds finished by then (none before the first). */
  private last: { atMs: number; builds: number } | undefined;

  constructor(private readonly o: LiveServicesDiskOptions) {
    if (!(Number.isFinite(o.tickMs) && o.tickMs >= 50)) throw new Error(`LiveServicesDisk: tickMs must be at least 50 wall ms, not ${o.tickMs}`);
  }

  get settings(): DiskSettings {
    return this.o.settings;
  }

  /** The volume now (`diskUse` on the logs the rule has left unrotated). */
  use(): DiskUse {
    return diskUse(this.o.settings, this.unrotated, 0);
  }

  /** Megabytes of logs written since tutum/logrotate last rotated them, as of the last tick. */
  get unrotatedMb(): number {
    return this.unrotated;
  }

  /** Whether the private node's alarm is set by this disk. */
  get alarm(): boolean {
    return this.alarmSet;
  }

  /**
   * The number of the alarm's holding period now, undefined outside one: the node certainly has the alarm from the
   * set call's return until the clear call starts, so a publish sent and confirmed within one period was not blocked.
   */
  get holdingPeriod(): number | undefined {
    return this.holding ? this.period : undefined;
  }

  /**
   * The volume as of now, as `df` reads a filesystem: the tick under way (which may have read logrotate's row before
   * a `docker start` returned) waited for, then one more on the installation's clock and logrotate's row now.
   */
  async look(): Promise<DiskUse> {
    await this.running;
    await this.tick();
    return this.use();
  }

  start(): void {
    // The limit to put back is read at once, so that raising the alarm later is one call.
    this.originalLimitRead ??= this.o.control.limitBytes().then(
      (n) => void (this.originalLimit ??= n),
      () => undefined,
    );
    this.timer ??= setInterval(() => void this.tick(), this.o.tickMs);
  }

  /**
   * One tick: the logs grown (or rotated) by the rule over the installation's time since the last, with the builds
   * finished meanwhile (none counted while PostgreSQL does not answer: they count at the next tick that can), then the
   * node's limit changed when the rule's alarm did (one change at a time). The first tick only takes its bearings.
   */
  tick(): Promise<void> {
    this.running ??= this.step().finally(() => (this.running = undefined));
    return this.running;
  }

  private async step(): Promise<void> {
    const finished = await this.o.inputs.buildsFinished().catch(() => undefined);
    const atMs = this.o.nowMs();
    if (this.last === undefined) {
      if (finished !== undefined) this.last = { atMs, builds: finished };
    } else {
      const builds = finished ?? this.last.builds;
      const hours = Math.max(0, atMs - this.last.atMs) / 3_600_000;
      this.unrotated = unrotatedAfterTick(this.o.settings, this.unrotated, this.o.inputs.logrotateUp(), hours, Math.max(0, builds - this.last.builds));
      this.last = { atMs, builds };
    }
    const { alarm } = this.use();
    if (alarm === this.alarmSet) return;
    // A clear may unblock the node before its call returns: the holding period ends as it starts.
    if (!alarm) this.holding = false;
    try {
      if (alarm) {
        await this.originalLimitRead;
        this.originalLimit ??= await this.o.control.limitBytes();
        await this.o.control.setLimitBytes(alarmLimitBytes(this.o.control.freeBytes()));
      } else await this.o.control.setLimitBytes(this.originalLimit!);
    } catch (e) {
      this.o.log?.(`the live disk could not ${alarm ? 'set' : 'clear'} RabbitMQ's disk alarm: ${(e as Error).message}`);
      // A clear that failed leaves the alarm on: a new holding period (the pushes of the last one cannot tell).
      if (!alarm) this.holdAgain();
      return;
    }
    this.alarmSet = alarm;
    if (alarm) this.holdAgain();
    this.o.inputs.writeLog('rabbitmq', rabbitDiskAlarm(alarm, this.o.nowMs()));
  }

  private holdAgain(): void {
    this.period++;
    this.holding = true;
  }

  /** Stops looking (the stack goes down with the node). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
