import { AssignPrivateIpAddressesCommand, CopySnapshotCommand, CreateSnapshotCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { RunbookStep } from '../../../sim/models/dr/runbook.ts';
import { parseBuilderUserData } from '../../../sim/models/dr/admin-shell.ts';
import { judgeBackup, newestRestorable } from '../../../sim/models/dr/backup-schedule.ts';
import type { BackupRecord } from '../../../sim/models/dr/dr-rehearsal.ts';
import { Ec2Api, type StartedEc2Api } from '../../ec2/server.ts';
import { NomadClients } from '../../ec2/nomad-clients.ts';
import { CLIENTS_SYNC_MS, NOMAD_CLIENTS_GROUP, NOMAD_CLIENT_INSTANCE_TYPE, NOMAD_CLIENT_SIZE, SERVICES_TAG } from '../services-machine.ts';
import type { FailoverContext, LiveFailover } from './failover.ts';

/** The recovery region's VPC: another range than the first region's 10.0.0.0/16, as two regions' VPCs are. */
export const RECOVERY_CIDR = '10.1.0.0/16';
/** The recovery region's endpoint's seed (its ids differ from the first region's). */
const RECOVERY_SEED = 2;

/** One backup of the schedule: the snapshot in the first region and its copy in the other, with the wall instants seen. */
interface CopiedBackup {
  /** Scenario instant of the backup. */
  atMs: number;
  snapshotId: string;
  wallMs: number;
  /** Wall instant the snapshot was seen `completed` in the first region (undefined: the region was lost first). */
  completedWallMs?: number;
  copyId?: string;
  /** Wall instant the copy was seen `completed` in the recovery region. */
  copiedWallMs?: number;
  done: Promise<void>;
}

/** What the region outage needs of the rehearsal beyond the fail-over context. */
export interface RegionOutageOptions {
  /** The first region's endpoint (the stack's). */
  api: StartedEc2Api;
  copy: { region: string; takesMs: number };
  timeScale: number;
  nomadClients: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The plan's disaster instant (scenario ms): wall instants are read in the scenario's time relative to it. */
  disasterAtMs: number;
  /** The schedule's interval and its first acted backup: those before the window are listed, not taken. */
  everyMs: number;
  firstActedAtMs: number;
}

/**
 * `region_outage` with EBS snapshots copied to another region (`backups.copy`), live. The rehearsal owns a second
 * region's EC2 endpoint (`copy.region`, its own VPC `RECOVERY_CIDR`), linked to the first (`Ec2State.linkRegion`), the
 * Services machine watching it (`ServicesMachine.watchRegion`). Each backup is the seeds' snapshot in the first region
 * and, once it completes, CopySnapshot into the second; the copy completes after `copy.takes` of the scenario's time
 * (the second endpoint's snapshot time, divided by the time scale). The disaster loses the whole first region: the
 * Services machine (TerminateInstances, the twin's way of killing it), its builders (their Nomad nodes down, their
 * allocations lost; the first region's Nomad clients' group no longer acts on the Nomad server) and its snapshots
 * (a snapshot not complete at the outage is never copied out). The recovery is in the second region: the restore uses
 * the newest copy complete at the outage (`newestRestorable` of `sim/models/dr/backup-schedule.ts`, the simulation's
 * rule, over the instants seen), RegisterImage + RunInstances there (a new address in its VPC; the old one cannot
 * follow), and the builders are a Nomad clients' group of the second region, empty until `reassociate-builders`
 * launches its fleet from a launch configuration naming the new address and the token.
 */
export class RegionOutage implements LiveFailover {
  private readonly backups: CopiedBackup[] = [];
  private regionLost = false;
  private disposed = false;
  private disasterWallMs = 0;
  private source: CopiedBackup | undefined;
  /** Builders of the first region lost with it, and the allocations that ran on them. */
  private buildersLost = { nodes: 0, allocations: 0 };

  private constructor(
    private readonly ctx: FailoverContext,
    private readonly opts: RegionOutageOptions,
    private readonly recovery: StartedEc2Api,
    private readonly client: EC2Client,
    /** The second region's Nomad clients' group as the twin's Nomad server's clients. */
    readonly clients: NomadClients,
  ) {}

  /** Starts the second region's endpoint, links it to the first, and makes its (empty) Nomad clients' group. */
  static async launch(ctx: FailoverContext, opts: RegionOutageOptions): Promise<RegionOutage> {
    const nomad = ctx.machine.nomad;
    if (nomad === undefined) throw new Error('a live region outage needs the twin\'s Nomad server (its clients are the groups\' instances), not --nomad real');
    const recovery = await new Ec2Api()
      .withPort(0)
      .withRegion(opts.copy.region)
      .withSeed(RECOVERY_SEED)
      .withStateOptions({ subnetCidr: RECOVERY_CIDR })
      .withTimings({ snapshotBaseMs: Math.max(1, Math.round(opts.copy.takesMs / opts.timeScale)), snapshotPerGibMs: 0 })
      .start();
    opts.api.state.linkRegion(recovery.state);
    ctx.machine.watchRegion(recovery.state);
    const { autoscaling, ec2 } = recovery.state;
    const base = [...ec2.images.values()].find((i) => i.isPublic);
    if (base === undefined) throw new Error(`the ${opts.copy.region} endpoint has no public base image for the builders`);
    autoscaling.createLaunchConfiguration({ name: `${NOMAD_CLIENTS_GROUP}-lc`, imageId: base.imageId, instanceType: NOMAD_CLIENT_INSTANCE_TYPE });
    autoscaling.createAutoScalingGroup({
      name: NOMAD_CLIENTS_GROUP,
      minSize: 0,
      maxSize: Math.max(opts.nomadClients, 1) * 4,
      desiredCapacity: 0,
      launchConfigurationName: `${NOMAD_CLIENTS_GROUP}-lc`,
      availabilityZones: [ec2.subnet.availabilityZone],
      tags: [{ key: 'Name', value: 'circleci-nomad-client', propagateAtLaunch: true }],
    });
    const clients = new NomadClients(recovery.state, nomad.state, { groupName: NOMAD_CLIENTS_GROUP, client: NOMAD_CLIENT_SIZE }).syncEvery(CLIENTS_SYNC_MS);
    const client = new EC2Client({ endpoint: recovery.url, region: opts.copy.region, credentials: opts.credentials, maxAttempts: 1 });
    ctx.note(`${opts.copy.region} endpoint linked to ${opts.api.state.options.region} (VPC ${RECOVERY_CIDR}); its ${NOMAD_CLIENTS_GROUP} group empty; copies complete after ${opts.copy.takesMs} ms of scenario time`);
    return new RegionOutage(ctx, opts, recovery, client, clients);
  }

  /** The recovery region's endpoint (the builders' rotation acts on its group). */
  get recoveryApi(): StartedEc2Api {
    return this.recovery;
  }

  recoveryClient(): EC2Client {
    return this.client;
  }

  /** The seeds' backup script (CreateSnapshot of the box's root volume), then the copy out of the region, in the background. */
  async backup(atMs: number): Promise<{ id: string; wallMs: number }> {
    const { ec2, call } = this.ctx;
    const r = await call(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [SERVICES_TAG] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }] })));
    const volumeId = r.Reservations?.[0]?.Instances?.[0]?.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
    const wallMs = Date.now();
    const snap = await call(ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: `CircleCI Services box Backup taken at ${new Date(wallMs).toString()}` })));
    const b: CopiedBackup = { atMs, snapshotId: snap.SnapshotId!, wallMs, done: Promise.resolve() };
    this.backups.push(b);
    b.done = this.copyOut(b).catch((e: unknown) => this.ctx.note(`copy of ${b.snapshotId} to ${this.opts.copy.region} failed: ${(e as Error).message}`));
    this.ctx.note(`backup: ${b.snapshotId} of ${volumeId}; stores held ${this.ctx.machine.snapshots.get(b.snapshotId)?.holdMs.toFixed(0)} ms; copied to ${this.opts.copy.region} once complete`);
    return { id: b.snapshotId, wallMs };
  }

  /** Waits for the snapshot to complete in the first region (unless it is lost first), copies it, waits for the copy. */
  private async copyOut(b: CopiedBackup): Promise<void> {
    const { ec2, call, until } = this.ctx;
    const home = this.opts.api.state.options.region;
    const state = async (client: EC2Client, id: string) => (await call(client.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] })))).Snapshots?.[0]?.State;
    await until(`snapshot ${b.snapshotId} to complete in ${home}`, async () => (this.regionLost || this.disposed || (await state(ec2, b.snapshotId)) === 'completed' ? true : undefined));
    if (this.disposed) return;
    if (this.regionLost) {
      this.ctx.note(`snapshot ${b.snapshotId} was not complete when ${home} was lost: never copied out of the region`);
      return;
    }
    b.completedWallMs = Date.now();
    const copy = await call(this.client.send(new CopySnapshotCommand({ SourceRegion: home, SourceSnapshotId: b.snapshotId, Description: `Copy of ${b.snapshotId} (CircleCI Services box Backup)` })));
    b.copyId = copy.SnapshotId!;
    this.ctx.note(`CopySnapshot ${b.snapshotId} from ${home} to ${this.opts.copy.region}: ${b.copyId} pending`);
    await until(`copy ${b.copyId} to complete in ${this.opts.copy.region}`, async () => (this.disposed || (await state(this.client, b.copyId!)) === 'completed' ? true : undefined));
    if (this.disposed) return;
    b.copiedWallMs = Date.now();
    this.ctx.note(`copy ${b.copyId} of ${b.snapshotId} complete in ${this.opts.copy.region}`);
  }

  /** The first region is lost: its builders with it (their nodes down), its group no longer acts; the second region's group is the fleet. */
  async afterDisaster(): Promise<void> {
    this.disasterWallMs = Date.now();
    this.regionLost = true;
    const m = this.ctx.machine;
    const nomad = m.nomad!.state;
    const lost = m.clients;
    // Every Nomad client was one of the region's builders (its group's instances, or the stack's own before they boot).
    const nodes = [...(lost !== undefined && lost.nodeOf.size > 0 ? lost.nodeOf.values() : nomad.nodeIds())].sort();
    this.buildersLost.nodes = nodes.length;
    for (const node of nodes) {
      const s = nomad.scheduler.node(node);
      if (s === undefined || s.status === 'down') continue;
      this.buildersLost.allocations += s.runningAllocs;
      nomad.setNodeStatus(node, 'down');
    }
    lost?.dispose();
    m.clients = this.clients;
    this.ctx.note(`${this.opts.api.state.options.region} lost: the Services machine, its ${this.buildersLost.nodes} builders (Nomad nodes down, ${this.buildersLost.allocations} allocations lost) and the region's snapshots are unreachable; the recovery is in ${this.opts.copy.region}`);
  }

  /** Scenario instant of wall instant `wallMs` (the disaster's wall instant is the plan's disaster). */
  private scenarioMs(wallMs: number): number {
    return this.opts.disasterAtMs - Math.round((this.disasterWallMs - wallMs) * this.opts.timeScale);
  }

  /** The backups timed in the scenario's time, as `newestRestorable` and `judgeBackup` read them. */
  private timed() {
    return this.backups.map((b) => ({
      b,
      atMs: b.atMs,
      completedAtMs: b.completedWallMs === undefined ? Infinity : this.scenarioMs(b.completedWallMs),
      ...(b.copiedWallMs === undefined ? {} : { copiedAtMs: this.scenarioMs(b.copiedWallMs) }),
    }));
  }

  restoreSource(): { id: string; wallMs: number; atMs: number } | string {
    const best = newestRestorable(this.timed(), this.opts.disasterAtMs, true);
    if (best === undefined) return `no snapshot copy complete in ${this.opts.copy.region} before the outage`;
    this.source = best.b;
    return { id: best.b.copyId!, wallMs: best.b.wallMs, atMs: best.b.atMs };
  }

  async apply(step: RunbookStep, at: { oldIp: string; oldInstanceId: string }): Promise<string | undefined> {
    const m = this.ctx.machine;
    if (step.does !== 'reassign_private_ip' || m.phase !== 'running') return undefined;
    // The old address is in the lost region's VPC: the recovery region's endpoint refuses it (its own subnet).
    const r = await this.ctx.call(this.client.send(new DescribeInstancesCommand({ InstanceIds: [m.instanceId] })));
    const eni = r.Reservations?.[0]?.Instances?.[0]?.NetworkInterfaces?.[0]?.NetworkInterfaceId;
    try {
      await this.ctx.call(this.client.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, PrivateIpAddresses: [at.oldIp], AllowReassignment: true })));
    } catch (e) {
      return `${at.oldIp} cannot be re-associated: it belongs to a subnet of the failed region (AssignPrivateIpAddresses in ${this.opts.copy.region}: ${(e as Error).name})`;
    }
    m.secondaryIp = at.oldIp;
    m.judgeBuilders();
    return `${at.oldIp} re-associated to ${eni} in ${this.opts.copy.region}`;
  }

  rpoMs(plan: { disasterAtMs: number }): number | null {
    return this.source === undefined ? null : plan.disasterAtMs - this.source.atMs;
  }

  restored(): boolean {
    return this.source !== undefined && this.ctx.machine.phase === 'running';
  }

  /** The first region's builders were lost with it: none reconnects (the second region's are launched by the rotation). */
  buildersReconnected(): number {
    return 0;
  }

  backupRecords(): BackupRecord[] {
    const d = this.opts.disasterAtMs;
    // The schedule's backups before the acted window: listed for their place in the schedule, not taken live.
    const before: BackupRecord[] = [];
    for (let at = this.opts.everyMs; at < this.opts.firstActedAtMs; at += this.opts.everyMs) {
      before.push({ at_ms: at, size_bytes: 0, duration_ms: 0, completed_at_ms: at, age_ms: d - at, usable: false, note: 'before the live window: not taken live (the rehearsal acts out the last two backups before the outage)' });
    }
    const acted = this.timed().map((t): BackupRecord => {
      const judged = judgeBackup(t, { disasterAtMs: d, kind: 'region_outage', restored: t.b === this.source });
      const completed = Number.isFinite(t.completedAtMs) ? t.completedAtMs : null;
      return {
        at_ms: t.atMs,
        size_bytes: this.ctx.machine.snapshots.get(t.b.snapshotId)?.bytes ?? 0,
        duration_ms: completed === null ? 0 : completed - t.atMs,
        completed_at_ms: completed ?? d,
        ...(t.copiedAtMs === undefined ? {} : { copied_at_ms: t.copiedAtMs }),
        age_ms: d - t.atMs,
        usable: judged.usable,
        note: `${judged.note}${completed === null ? '; the snapshot was still pending when the region was lost' : ''} (live: ${t.b.snapshotId}${t.b.copyId ? ` → ${t.b.copyId}` : ''}; instants seen, wall × ${this.opts.timeScale})`,
      };
    });
    return [...before, ...acted];
  }

  measures(): Record<string, unknown> {
    return {
      region_outage: {
        lost_region: this.opts.api.state.options.region,
        recovery_region: this.opts.copy.region,
        recovery_vpc: RECOVERY_CIDR,
        builders_lost: this.buildersLost.nodes,
        allocations_lost_with_builders: this.buildersLost.allocations,
        copies: this.backups.map((b) => ({
          at_ms: b.atMs,
          snapshot: b.snapshotId,
          copy: b.copyId ?? null,
          completed_wall_ms_after_snapshot: b.completedWallMs === undefined ? null : b.completedWallMs - b.wallMs,
          copied_wall_ms_after_snapshot: b.copiedWallMs === undefined ? null : b.copiedWallMs - b.wallMs,
        })),
        restored_copy: this.source?.copyId ?? null,
        recovery_builders: this.recoveryBuilders(),
      },
    };
  }

  /** The recovery region's group as the run left it: each instance, what its launch configuration makes it dial, its Nomad node's status. */
  private recoveryBuilders(): { instance: string; lifecycle: string; launch_configuration: string | null; dials: string | null; passphrase: boolean; node_status: string | null }[] {
    const { autoscaling } = this.recovery.state;
    const nomad = this.ctx.machine.nomad?.state;
    return [...(autoscaling.groups.get(NOMAD_CLIENTS_GROUP)?.instances.values() ?? [])].map((i) => {
      const lc = i.launchConfigurationName === undefined ? undefined : autoscaling.launchConfigurations.get(i.launchConfigurationName);
      const dial = lc?.userData === undefined ? undefined : parseBuilderUserData(lc.userData);
      const node = this.clients.nodeOf.get(i.instanceId);
      return {
        instance: i.instanceId,
        lifecycle: i.lifecycleState,
        launch_configuration: i.launchConfigurationName ?? null,
        dials: dial?.ip ?? null,
        passphrase: dial?.passphrase !== undefined,
        node_status: node === undefined ? null : (nomad?.scheduler.node(node)?.status ?? null),
      };
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all(this.backups.map((b) => b.done));
    this.clients.dispose();
    this.client.destroy();
    await this.recovery.stop();
  }
}
