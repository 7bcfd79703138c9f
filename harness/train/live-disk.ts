import { statfsSync } from 'node:fs';
import { diskUse, logGrowthMb, type DiskSettings, type DiskUse } from '../../sim/models/services/disk.ts';
import { rabbitDiskAlarm } from '../../sim/symptoms/container-logs.ts';
import type { StartedRabbitMQ } from '../providers/rabbitmq/started-rabbitmq.ts';

/**
 * The Services machine's volume on the live stack: the simulation's rule (`sim/models/services/disk.ts` `diskUse`)
 * applied to the live services' real log bytes since tutum/logrotate last rotated them (`ServiceLogs`). The twin's
 * services write far fewer bytes than CircleCI's containers do, so each byte counts for what the simulation's
 * growth rule (`logGrowthMb`) says the installation wrote over the warm-up, divided by the bytes the live services
 * really wrote in it (`mbPerLogByte`): a busier or quieter live stack fills the disk faster or slower. When the rule
 * says free space is below RabbitMQ's limit, the stack's private RabbitMQ node gets a `disk_free_limit` above its
 * real free space (what `rabbitmqctl set_disk_free_limit` calls, `rabbit_disk_monitor:set_disk_free_limit/1`, a
 * runtime setting, called over Erlang distribution): its own disk alarm goes off and it blocks
 * publishers for real; when the rule says there is room again, its limit is set back and the alarm clears.
 */

/** What the disk reads of the live stack (`LiveStack`). */
export interface LiveDiskLogs {
  readonly unrotatedLogBytes: number;
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

/** What the warm-up (the installation healthy, logrotate running) showed: the basis of `mbPerLogByte`. */
export interface WarmUp {
  /** Bytes the live services wrote in it (rotated or not). */
  bytes: number;
  /** Its length in the installation's hours. */
  hours: number;
  /** Builds it took in (queued): the per-build share as a rate, the pipeline still filling in a short warm-up. */
  builds: number;
}

/**
 * Megabytes of the installation's logs one byte of the live services' logs stands for: the simulation's growth
 * over the warm-up (`logGrowthMb`) over the bytes really written in it. Throws when the warm-up wrote nothing or
 * lasted no time (nothing to scale from).
 */
export function mbPerLogByte(settings: DiskSettings, w: WarmUp): number {
  if (!(Number.isFinite(w.hours) && w.hours > 0)) throw new Error(`the live disk's warm-up lasted ${w.hours} h: it needs some of the installation's time to scale the logs from`);
  if (!(Number.isFinite(w.bytes) && w.bytes > 0)) throw new Error(`the live services wrote ${w.bytes} log bytes in the warm-up: nothing to scale the disk's logs from`);
  return logGrowthMb(settings, w.hours, w.builds) / w.bytes;
}

/** The volume with `unrotatedBytes` of live logs unrotated, at `mbPerByte`: the simulation's rule. */
export function liveDiskUse(settings: DiskSettings, unrotatedBytes: number, mbPerByte: number): DiskUse {
  return diskUse(settings, unrotatedBytes * mbPerByte, 0);
}

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
  logs: LiveDiskLogs;
  control: DiskLimitControl;
  mbPerByte: number;
  /** The installation's clock (the alarm report's time). */
  nowMs: () => number;
  /** Wall ms between two looks at the logs. */
  tickMs: number;
  /** What went wrong with rabbitmqctl (the drill's log); the next tick tries again. */
  log?: (line: string) => void;
}

/** The live volume, looked at every `tickMs`: the rule's figures, and the private node's alarm kept in step with it. */
export class LiveServicesDisk {
  /** The alarm as the node has it (set by this disk). */
  private alarmSet = false;
  private originalLimit: number | undefined;
  private originalLimitRead: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly o: LiveServicesDiskOptions) {
    if (!(Number.isFinite(o.mbPerByte) && o.mbPerByte >= 0)) throw new Error(`LiveServicesDisk: mbPerByte must be a finite number of megabytes, not ${o.mbPerByte}`);
    if (!(Number.isFinite(o.tickMs) && o.tickMs >= 50)) throw new Error(`LiveServicesDisk: tickMs must be at least 50 wall ms, not ${o.tickMs}`);
  }

  get settings(): DiskSettings {
    return this.o.settings;
  }

  /** The volume now (the rule on the logs' real bytes). */
  use(): DiskUse {
    return liveDiskUse(this.o.settings, this.o.logs.unrotatedLogBytes, this.o.mbPerByte);
  }

  /** Whether the private node's alarm is set by this disk. */
  get alarm(): boolean {
    return this.alarmSet;
  }

  start(): void {
    // The limit to put back is read at once, so that raising the alarm later is one call.
    this.originalLimitRead ??= this.o.control.limitBytes().then(
      (n) => void (this.originalLimit ??= n),
      () => undefined,
    );
    this.timer ??= setInterval(() => void this.tick(), this.o.tickMs);
  }

  /** One look: the node's limit changed when the rule's alarm did (one change at a time). */
  tick(): Promise<void> {
    this.running ??= this.step().finally(() => (this.running = undefined));
    return this.running;
  }

  private async step(): Promise<void> {
    const { alarm } = this.use();
    if (alarm === this.alarmSet) return;
    try {
      if (alarm) {
        await this.originalLimitRead;
        this.originalLimit ??= await this.o.control.limitBytes();
        await this.o.control.setLimitBytes(alarmLimitBytes(this.o.control.freeBytes()));
      } else await this.o.control.setLimitBytes(this.originalLimit!);
    } catch (e) {
      this.o.log?.(`the live disk could not ${alarm ? 'set' : 'clear'} RabbitMQ's disk alarm: ${(e as Error).message}`);
      return;
    }
    this.alarmSet = alarm;
    this.o.logs.writeLog('rabbitmq', rabbitDiskAlarm(alarm, this.o.nowMs()));
  }

  /** Stops looking (the stack goes down with the node). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
