import type { World } from '../world.ts';
import type { Broker } from './broker.ts';

/**
 * The Services machine's root volume, as far as failures go: container logs grow with activity, and
 * tutum/logrotate keeps them in check. While logrotate is down they accumulate; when free space falls below
 * RabbitMQ's disk limit the broker blocks publishers (no new work is accepted: webhooks fail, builds cannot be
 * queued) and, if the disk fills completely, the stores that write to it fail ("the Services machine disk will
 * eventually run out of space and other services will fail").
 *
 * The seeds give no sizes: the settings come from the scenario (`topology.services_machine`), whose defaults
 * let a normal load fill the free space in about eight hours of logrotate downtime.
 */
export interface DiskSettings {
  capacityMb: number;
  /** Free at the start of the run. */
  freeMb: number;
  /** Log growth while logrotate is down: a base rate plus a share per build finished. */
  logMbPerHour: number;
  logMbPerBuild: number;
  /** RabbitMQ's disk_free_limit: publishers are blocked below it. */
  rabbitmqLimitMb: number;
}


/** How full the volume is: what the free space comes to, and the thresholds it has crossed. */
export interface DiskUse {
  freeMb: number;
  /** RabbitMQ's disk alarm: free space below its `disk_free_limit`, publishers blocked. */
  alarm: boolean;
  /** Nothing left: the stores that write to it fail. */
  full: boolean;
}

/**
 * How full the Services machine's volume is with `unrotatedMb` of logs written since logrotate last rotated and
 * `filledMb` taken by a `disk_fill` fault: the one rule the simulation's disk and the live stack's
 * (harness/train/live-disk.ts) apply.
 */
export function diskUse(settings: DiskSettings, unrotatedMb: number, filledMb: number): DiskUse {
  const freeMb = settings.freeMb - unrotatedMb - filledMb;
  return { freeMb, alarm: freeMb < settings.rabbitmqLimitMb, full: freeMb <= 0 };
}

/** The logs written while logrotate is down over `hours` with `builds` finished: a base rate plus a share per build. */
export function logGrowthMb(settings: DiskSettings, hours: number, builds: number): number {
  return hours * settings.logMbPerHour + builds * settings.logMbPerBuild;
}

/**
 * The logs left unrotated after one tick of `hours` with `builds` finished: none while tutum/logrotate runs (it
 * rotates them), else what was there plus that tick's growth (`logGrowthMb`). The simulation's disk and the live
 * stack's (harness/train/live-disk.ts, on the live installation's clock and finished builds) both tick with it.
 */
export function unrotatedAfterTick(settings: DiskSettings, unrotatedMb: number, logrotateUp: boolean, hours: number, builds: number): number {
  return logrotateUp ? 0 : unrotatedMb + logGrowthMb(settings, hours, builds);
}

/** Containers that write to the volume and stop when it is full. */
const WRITERS = ['postgres', 'mongo', 'rabbitmq', 'redis'] as const;

export class ServicesDisk {
  /** Log megabytes written since logrotate last rotated. */
  unrotatedMb = 0;
  /** Extra space taken by a `disk_fill` fault. */
  filledMb = 0;
  /** The fewest free megabytes seen. */
  minFreeMb: number;
  full = false;
  private lastTickMs = 0;
  private lastBuilds = 0;

  constructor(
    private readonly world: World,
    private readonly broker: Broker,
    readonly settings: DiskSettings,
  ) {
    this.minFreeMb = settings.freeMb;
    world.services.onChange('tutum/logrotate', (_n, state) => {
      if (state === 'running') this.rotate();
    });
  }

  get freeMb(): number {
    return diskUse(this.settings, this.unrotatedMb, this.filledMb).freeMb;
  }

  /** Called every statsd interval with the builds finished so far: grows logs and applies the thresholds. */
  tick(buildsFinished: number): void {
    const now = this.world.sim.nowMs;
    const hours = (now - this.lastTickMs) / 3_600_000;
    const builds = buildsFinished - this.lastBuilds;
    this.lastTickMs = now;
    this.lastBuilds = buildsFinished;
    this.unrotatedMb = unrotatedAfterTick(this.settings, this.unrotatedMb, this.world.services.isUp('tutum/logrotate'), hours, builds);
    this.apply();
  }

  /** A `disk_fill` fault: something fills the volume. */
  fill(mb: number): void {
    this.filledMb += mb;
    this.apply();
  }

  /** The space taken by a fill is freed (`for:` elapsed, or the operator cleaned up). */
  clearFill(): void {
    this.filledMb = 0;
    this.apply();
  }

  private rotate(): void {
    this.unrotatedMb = 0;
    this.apply();
  }

  private apply(): void {
    const use = diskUse(this.settings, this.unrotatedMb, this.filledMb);
    if (use.freeMb < this.minFreeMb) this.minFreeMb = use.freeMb;
    this.broker.setDiskAlarm(use.alarm);
    const { services, sim } = this.world;
    if (use.full && !this.full) {
      this.full = true;
      for (const w of WRITERS) if (services.state(w) === 'running') services.set(w, 'failed', sim.nowMs, 'disk-full');
    } else if (!use.full && this.full) {
      // Space is back: the stores that crashed are restarted (Replicated restarts failed containers).
      this.full = false;
      for (const w of WRITERS) if (services.state(w) === 'failed') services.set(w, 'running', sim.nowMs, 'start');
    }
  }
}
