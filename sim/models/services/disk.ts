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
    return this.settings.freeMb - this.unrotatedMb - this.filledMb;
  }

  /** Called every statsd interval with the builds finished so far: grows logs and applies the thresholds. */
  tick(buildsFinished: number): void {
    const now = this.world.sim.nowMs;
    const hours = (now - this.lastTickMs) / 3_600_000;
    const builds = buildsFinished - this.lastBuilds;
    this.lastTickMs = now;
    this.lastBuilds = buildsFinished;
    if (this.world.services.isUp('tutum/logrotate')) this.unrotatedMb = 0;
    else this.unrotatedMb += hours * this.settings.logMbPerHour + builds * this.settings.logMbPerBuild;
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
    const free = this.freeMb;
    if (free < this.minFreeMb) this.minFreeMb = free;
    this.broker.setDiskAlarm(free < this.settings.rabbitmqLimitMb);
    const { services, sim } = this.world;
    if (free <= 0 && !this.full) {
      this.full = true;
      for (const w of WRITERS) if (services.state(w) === 'running') services.set(w, 'failed', sim.nowMs, 'disk-full');
    } else if (free > 0 && this.full) {
      // Space is back: the stores that crashed are restarted (Replicated restarts failed containers).
      this.full = false;
      for (const w of WRITERS) if (services.state(w) === 'failed') services.set(w, 'running', sim.nowMs, 'start');
    }
  }
}
