import { performance } from 'node:perf_hooks';
import type { Profile } from '../../fixtures/schema.ts';
import type { FaultOrder } from '../../sim/faults/port.ts';
import type { NomadScheduler } from '../../sim/models/nomad/scheduler.ts';
import { planReplay, type PlannedWorkflow } from '../../sim/models/workload/replay-plan.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { clockTime, isoLogTime, virtualStamp } from '../../sim/symptoms/clock-text.ts';
import type { DevConsoleQueue } from '../../sim/training/dev-console.ts';
import type { SettledDrill } from '../../sim/training/drill.ts';
import { waitingBuilds, type LiveBuildsSince, type LiveQueues } from '../../sim/training/live-support.ts';
import { NomadClient } from '../nomad/client.ts';
import { StartedNomadApiServer } from '../nomad/server.ts';
import { RUN_QUEUE, SCHEDULERER_QUEUE } from '../live/pipeline/index.ts';
import { devConsoleQueue } from './usage-queue.ts';
import { LiveChanges } from './live-changes.ts';
import { workflowConfig } from '../live/replay/config.ts';
import { PUSH_REPO, ReplayStack } from '../live/replay/stack.ts';
import type { LiveInstallation, LiveLogSource, LiveRowView } from './live-session.ts';
import { attachMachine, type LiveMachine, type TrainingMachine } from './live-commands.ts';
import { LiveServicesDisk, rabbitDiskControl, type LiveDiskInputs } from './live-disk.ts';
import { StartedRabbitMQ } from '../providers/rabbitmq/started-rabbitmq.ts';

/**
 * Documented ports at 22000 + port for a drill on the live stack (frontend's 80 at 22080): apart from `twin up`'s
 * 10000, the replay's 16000 and the live tests' 11000-21000; a port in use falls back to a free one.
 */
export const TRAIN_PORT_OFFSET = 22_000;
/** Pushes in flight at once (a slow frontend does not pile up requests without bound). */
export const MAX_PUSHES_IN_FLIGHT = 8;

/** tutum/logrotate's row states in which it runs (and rotates). */
const LOGROTATE_RUNNING: ReadonlySet<string> = new Set(['healthy', 'unhealthy']);

/**
 * The installation runs healthy this much of its time before the first fault (pushes taken, picard-dispatcher's
 * heartbeat written), so its services' logs show what healthy looked like before they go quiet.
 */
export const WARM_UP_MS = 10 * 60_000;
/** How often the workload looks for pushes that are due (wall ms). */
export const PUSH_TICK_MS = 250;

export interface LiveInstallationOptions {
  /** Installation ms per wall ms (default the installation's `time_scale`). */
  timeScale?: number;
  portOffset?: number;
  log?: (line: string) => void;
}

/**
 * A drill's installation on the live stack: the replay's stack (`ReplayStack`: `twin up`'s containers, the
 * pipeline's stages, GitHub Enterprise, PostgreSQL, RabbitMQ, the twin's Nomad API) booted from the drill's
 * installation scenario, broken by the drill's hidden fault through the stack's fault port, with the installation's
 * pushes replayed to GitHub Enterprise from the fault on, at the time scale, so a backlog really grows. The
 * installation's clock starts `WARM_UP_MS` before the fault: the healthy hours before that are not replayed.
 */
export class LiveDrillInstallation implements LiveInstallation {
  private t0 = 0;
  private wallEpochMs = 0;
  private startMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private pending: PlannedWorkflow[] = [];
  /** The hidden changes outside the fault catalogue carried out on the stack (`live-changes.ts`). */
  private readonly changes = new LiveChanges();
  private inFlight = 0;
  /** Pushes GitHub Enterprise took, and those whose webhook frontend did not answer with 200. */
  readonly pushes = { sent: 0, undelivered: 0, failed: 0 };
  /**
   * Pushes sent while RabbitMQ's disk alarm held (`LiveServicesDisk.holdingPeriod`): frontend took each (200) in
   * that same period, after it (its publish confirmed once the alarm cleared), or not at all (GHE's delivery timed out).
   */
  readonly alarmPushes = { sent: 0, takenWhileHeld: 0, takenAfter: 0, notTaken: 0 };
  /** The Services machine around the stack (its EC2 endpoint's instance, Replicated's app, the Nomad clients' group). */
  private services: TrainingMachine | undefined;
  /** The Services machine's volume (live-disk.ts), from the installation's start. */
  private disk: LiveServicesDisk | undefined;
  /** `down` was called: the disk is not started any more. */
  private closed = false;

  private constructor(
    private readonly installation: SettledScenario,
    private readonly stack: ReplayStack,
    readonly profile: Profile,
    readonly storage: 's3' | 'fileserved',
    readonly timeScale: number,
    private readonly log?: (line: string) => void,
  ) {}

  /** Boots the stack (on failure it is torn down and the error rethrown). */
  static async boot(installation: SettledScenario, profile: Profile, opts: LiveInstallationOptions = {}): Promise<LiveDrillInstallation> {
    const timeScale = opts.timeScale ?? installation.timeScale;
    const stack = new ReplayStack({ scenario: installation, profile, timeScale, portOffset: opts.portOffset ?? TRAIN_PORT_OFFSET, nomad: 'twin', ...(opts.log ? { log: opts.log } : {}) });
    await stack.up();
    const inst = new LiveDrillInstallation(installation, stack, profile, installation.topology.storage, timeScale, opts.log);
    try {
      inst.services = await attachMachine(stack.live, installation);
    } catch (e) {
      await stack.down();
      throw e;
    }
    inst.pending = planReplay(installation).filter((w) => w.source === 'push');
    inst.brokerWentDown();
    return inst;
  }

  /**
   * Breaks the installation: its clock starts at the first fault's time, each fault is carried out when its time
   * comes, and the pushes from then on are replayed. Resolves with each fault's line once the trainee's login time
   * (`starts_at`) is reached. `onFault` hears each order as it takes effect.
   */
  async breakIt(drill: SettledDrill, onFault: (order: FaultOrder, atMs: number) => void): Promise<string[]> {
    const faults = [...drill.faults].sort((a, b) => a.atMs - b.atMs);
    const changes = [...drill.changes].sort((a, b) => a.atMs - b.atMs);
    // The clock starts before the first fault or Auto Scaling change (a restored /opt/nomad is there at boot).
    const firstAsg = changes.find((c) => c.kind === 'asg')?.atMs;
    this.startMs = Math.max(0, Math.min(faults[0]?.atMs ?? drill.startsAtMs, firstAsg ?? drill.startsAtMs) - WARM_UP_MS);
    this.t0 = performance.now();
    this.wallEpochMs = Date.now();
    // The services' log lines print the installation's clock, as `docker ps` and the prompt's clock do.
    this.stack.live.useLogClock((epochMs) => virtualStamp(this.virtualOf(epochMs)));
    this.stack.runner.useLogClock((epochMs) => isoLogTime(this.virtualOf(epochMs)).replace(' ', 'T'));
    this.pending = this.pending.filter((w) => w.atMs >= this.startMs);
    this.timer = setInterval(() => this.pushDue(), PUSH_TICK_MS);
    const lines: string[] = [];
    void this.startDisk().catch((e: unknown) => this.log?.(`the Services machine's disk is not modelled live: ${(e as Error).message}`));
    // The hidden changes: a restored /opt/nomad at boot, before the first fault (restored-nomad.ts); a change of the
    // Nomad clients' group at its time, beside the faults (an AWS call).
    for (const c of changes) if (c.kind === 'restored_nomad_state') lines.push(`${clockTime(this.nowMs())} ${await this.changes.apply(c, this.stack.nomad, this.installation)}`);
    const changed = (async () => {
      for (const c of changes) {
        if (c.kind !== 'asg') continue;
        await this.waitUntil(c.atMs);
        if (this.services === undefined) throw new Error('the drill changes the Auto Scaling Group and the live stack has no EC2 endpoint of the twin\'s (unset AWS_ENDPOINT_URL)');
        lines.push(`${clockTime(this.nowMs())} ${await this.services.change(c)}`);
      }
    })();
    changed.catch(() => undefined);
    for (const f of faults) {
      await this.waitUntil(f.atMs);
      const order: FaultOrder = { action: f.action, target: f.target, count: f.count };
      lines.push(`${clockTime(this.nowMs())} ${await this.stack.act(order)}`);
      onFault(order, this.nowMs());
    }
    await changed;
    await this.waitUntil(drill.startsAtMs);
    return lines;
  }

  /**
   * The volume (live-disk.ts) from the installation's start: ticked every statsd interval (the simulation's tick) at
   * the time scale, on the installation's clock, tutum/logrotate's row and the builds the live pipeline finished.
   * Without a private RabbitMQ node the drill runs on, with no disk alarm, and says why.
   */
  private async startDisk(): Promise<void> {
    if (this.closed) return;
    const mq = this.stack.live.components.get('rabbitmq');
    if (!(mq instanceof StartedRabbitMQ) || !mq.controllable) {
      this.log?.(`the Services machine's disk is not modelled live: its disk alarm needs the stack's private RabbitMQ node (rabbitmqctl)`);
      return;
    }
    const live = this.stack.live;
    const pool = this.stack.pool;
    const inputs: LiveDiskInputs = {
      logrotateUp: () => LOGROTATE_RUNNING.has(live.rows.get('tutum/logrotate')?.state ?? 'pending'),
      buildsFinished: async () => {
        const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM builds WHERE finished_at IS NOT NULL').catch(() => undefined);
        return r === undefined ? undefined : Number(r.rows[0]?.n ?? 0);
      },
      writeLog: (container, text) => live.writeLog(container, text),
    };
    const statsdMs = this.profile.metrics.statsd_interval_ms;
    this.disk = new LiveServicesDisk({ settings: this.installation.topology.disk, inputs, control: rabbitDiskControl(mq), nowMs: () => this.nowMs(), tickMs: Math.max(250, statsdMs / this.timeScale), ...(this.log ? { log: this.log } : {}) });
    this.disk.start();
  }

  private async waitUntil(virtualMs: number): Promise<void> {
    const wallMs = (virtualMs - this.nowMs()) / this.timeScale;
    if (wallMs > 0) await new Promise((r) => setTimeout(r, wallMs));
  }

  /** Pushes the workflows whose time has come (bounded in flight), as the replay pushes them. */
  private pushDue(): void {
    const now = this.nowMs();
    while (this.pending.length > 0 && this.pending[0]!.atMs <= now && this.inFlight < MAX_PUSHES_IN_FLIGHT) {
      const w = this.pending.shift()!;
      this.inFlight++;
      const held = this.disk?.holdingPeriod;
      if (held !== undefined) this.alarmPushes.sent++;
      this.stack.ghe
        .push(PUSH_REPO, { files: { '.circleci/config.yml': workflowConfig(w) }, message: `${w.templateName} #${w.seq}` })
        .then((r) => {
          this.pushes.sent++;
          const taken = r.deliveries.every((d) => d.ok);
          if (!taken) this.pushes.undelivered++;
          if (held !== undefined) {
            if (!taken) this.alarmPushes.notTaken++;
            else if (this.disk?.holdingPeriod === held) this.alarmPushes.takenWhileHeld++;
            else this.alarmPushes.takenAfter++;
          }
        })
        .catch(() => void this.pushes.failed++)
        .finally(() => void this.inFlight--);
    }
  }

  nowMs(): number {
    return Math.round(this.startMs + (performance.now() - this.t0) * this.timeScale);
  }

  /** A wall-clock instant (ms since the epoch) as the installation's time. */
  private virtualOf(wallMs: number): number {
    return Math.round(this.startMs + (wallMs - this.wallEpochMs) * this.timeScale);
  }

  rows(): ReadonlyMap<string, LiveRowView> {
    return this.stack.live.rows;
  }

  act(order: FaultOrder): Promise<string> {
    return this.stack.act(order);
  }

  refreshHealth(): Promise<void> {
    return this.stack.live.refreshHealth();
  }

  /** The Services machine (live-commands.ts): Replicated's app, /etc/circleconfig, the disks, the AWS account. */
  get machine(): LiveMachine | undefined {
    const services = this.services;
    if (services === undefined) return undefined;
    return {
      ...services,
      // As df reads a filesystem: as of now (a look), not as of the last tick.
      rootVolume: async () => {
        const d = this.disk;
        if (d === undefined) return undefined;
        const { freeMb } = await d.look();
        return { capacityMb: d.settings.capacityMb, freeMb, unrotatedMb: d.unrotatedMb };
      },
    };
  }

  /** The Services machine's volume (undefined before the installation starts, or without a private RabbitMQ node). */
  get servicesDisk(): LiveServicesDisk | undefined {
    return this.disk;
  }

  /** The services' own log lines (`LiveStack.logs`). */
  get logSource(): LiveLogSource {
    return this.stack.live;
  }

  /** Allocations of a restored /opt/nomad the Nomad server still holds; undefined when it is not the twin's API. */
  staleAllocations(): number | undefined {
    return this.stack.nomad instanceof StartedNomadApiServer ? this.stack.nomad.state.staleAllocations().length : undefined;
  }

  nomadScheduler(): NomadScheduler | undefined {
    return this.stack.nomad instanceof StartedNomadApiServer ? this.stack.nomad.scheduler : undefined;
  }

  get nomadUrl(): string {
    return this.stack.nomad.url;
  }

  async nomadUp(): Promise<boolean> {
    // Twice: after a restart of the server, the first request may go out on a pooled connection to the listener
    // that closed (seen: `nomad status` right after `sudo docker restart nomad` answered connection refused).
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await new NomadClient({ address: this.stack.nomad.url, timeoutMs: 2_000 }).nodes();
        return true;
      } catch {
        // The next attempt opens a new connection.
      }
    }
    return false;
  }

  async nomadDrain(nodePrefix: string, enable: boolean): Promise<string | undefined> {
    const client = new NomadClient({ address: this.stack.nomad.url, timeoutMs: 5_000 });
    const node = (await client.nodes()).find((n) => n.ID.startsWith(nodePrefix));
    if (node === undefined) return undefined;
    await client.drain(node.ID, enable);
    // Disabling a drain in Nomad 0.9 leaves the node ineligible unless asked (`-disable` marks it eligible again).
    if (!enable) await client.eligibility(node.ID, true);
    return node.ID;
  }

  /**
   * Whether RabbitMQ went down since the boot (killed, stopped, or Replicated's `app stop`): its process is not the
   * one the boot started, or it is not running now. Its non-durable queues lost what waited in them.
   */
  private brokerWentDown(): boolean {
    const row = this.stack.live.rows.get('rabbitmq');
    if (row === undefined) return false;
    this.brokerPid ??= row.pid;
    return row.pid !== this.brokerPid || row.state === 'killed' || row.state === 'exited';
  }

  private brokerPid: number | undefined;

  async queues(): Promise<LiveQueues> {
    const wentDown = this.brokerWentDown();
    const [rows, depths, counts] = await Promise.all([
      this.stack.pool.query<{ dispatched: boolean }>("SELECT dispatched_at IS NOT NULL AS dispatched FROM builds WHERE status = 'queued' ORDER BY id LIMIT 100000").catch(() => undefined),
      this.stack.queueDepths(),
      this.stack.nomadJobCounts(),
    ]);
    const runQueue = depths?.[RUN_QUEUE];
    const schedulerQueue = depths?.[SCHEDULERER_QUEUE];
    return {
      // Builds lost with the broker's non-durable queues are not queued any more: the simulation's rule.
      queuedBuilds: rows === undefined ? Number.POSITIVE_INFINITY : waitingBuilds(rows.rows, { runQueue, schedulerQueue }, wentDown),
      runQueue,
      schedulerQueue,
      nomadPending: counts?.pending,
    };
  }

  async queuedBuilds(queue: DevConsoleQueue): Promise<string[]> {
    const r = await this.stack.pool.query<{ id: string; repo: string; forwarded: boolean; retry: boolean }>(
      "SELECT id, repo, forwarded_at IS NOT NULL AS forwarded, retry_of IS NOT NULL AS retry FROM builds WHERE status = 'queued' AND dispatched_at IS NULL ORDER BY id LIMIT 10000",
    );
    return devConsoleQueue(r.rows, queue, this.profile.containers.some((c) => c.name === 'dispatcher'));
  }

  async buildsSince(sinceMs: number): Promise<LiveBuildsSince> {
    const since = new Date(this.wallEpochMs + (sinceMs - this.startMs) / this.timeScale);
    const r = await this.stack.pool.query<{ id: string; status: string; finished_at: Date | null }>('SELECT id, status, finished_at FROM builds WHERE queued_at >= $1 ORDER BY id LIMIT 10000', [since]);
    const fates: Record<string, number> = {};
    for (const b of r.rows) {
      const fate = b.status === 'succeeded' || b.status === 'failed' || b.status === 'lost' ? b.status : 'unfinished';
      fates[fate] = (fates[fate] ?? 0) + 1;
    }
    const ok = r.rows.find((b) => b.status === 'succeeded' && b.finished_at !== null);
    return { total: r.rows.length, succeeded: ok === undefined ? undefined : { id: Number(ok.id), at: clockTime(this.virtualOf(ok.finished_at!.getTime())) }, fates };
  }

  /** Stops the workload and the stack; never throws. */
  async down(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    await this.disk?.stop();
    await this.stack.down();
    await this.services?.dispose();
    await this.changes.down();
  }
}
