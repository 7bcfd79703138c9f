import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AssignPrivateIpAddressesCommand, DescribeInstancesCommand, RunInstancesCommand, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { makeTempDir, removeDir } from '../../providers/temp-dir.ts';
import type { RunbookStep } from '../../../sim/models/dr/runbook.ts';
import { writeMachineConfig } from '../services-volume.ts';
import type { FailoverContext, LiveFailover } from './failover.ts';

/** The tag of the standby Services machine (not `circleci_services`: the seeds' backup script finds the primary). */
export const REPLICA_TAG = 'circleci_services_replica';

/**
 * `az_outage` with `backups.strategy: replica` (the seeds' cold fail-over, 003 2b). A standby Services machine is
 * launched in another zone of the endpoint (RunInstances with its Placement); its volume holds the primary's
 * stores `lag` behind. The twin does not stream the stores: a copy holds them 0.5-2.6 s and at 60× a 30 s lag is
 * 0.5 s of wall time, so the replica's state is the one crash-consistent copy of the primary's volume the
 * replication would hold at the disaster, taken `lag` before it (as the simulation captures it); /etc/default/* are
 * the replica's own (naming its address) and /opt/nomad is its own, empty (neither is under /data).
 *
 * The zone's loss is TerminateInstances of the primary (EC2 has no zone-outage call): its processes die, its volume
 * is gone. The runbook: `confirm_primary_dead` waits until EC2 reports it terminated (its private IP is free only
 * then: EC2 does not move an interface's primary address, even with --allow-reassignment), `reassign_private_ip`
 * moves the old address to the replica's interface (AssignPrivateIpAddresses --allow-reassignment), `start_app`
 * starts the app on the replica's volume: the stores recover from their files as after a crash.
 */
export class ReplicaFailover implements LiveFailover {
  private copied: { wallMs: number; holdMs: number; bytes: number } | undefined;
  private failedOver = false;
  private disasterWallMs = 0;

  private constructor(
    private readonly ctx: FailoverContext,
    private readonly replica: { instanceId: string; privateIp: string; volumeId: string; eni: string; zone: string },
    private readonly primaryZone: string,
    private readonly dir: string,
  ) {}

  get standby(): { instanceId: string; privateIp: string; eni: string } {
    return this.replica;
  }

  /** Launches the replica in a zone other than the primary's and waits for it to run. */
  static async launch(ctx: FailoverContext): Promise<ReplicaFailover> {
    const { ec2, call, machine } = ctx;
    const describe = async (id: string): Promise<SdkInstance | undefined> => (await call(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).Reservations?.[0]?.Instances?.[0];
    const primary = (await describe(machine.instanceId))!;
    const primaryZone = primary.Placement?.AvailabilityZone ?? '';
    const zone = ctx.zones.find((z) => z !== primaryZone);
    if (zone === undefined) throw new Error(`the EC2 endpoint has one availability zone (${primaryZone}): a replica needs another`);
    const r = await call(ec2.send(new RunInstancesCommand({
      ImageId: primary.ImageId,
      InstanceType: primary.InstanceType,
      MinCount: 1,
      MaxCount: 1,
      Placement: { AvailabilityZone: zone },
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: REPLICA_TAG }] }],
    })));
    const id = r.Instances![0]!.InstanceId!;
    const running = await ctx.until(`the replica ${id} to be running`, async () => {
      const i = await describe(id);
      return i?.State?.Name === 'running' ? i : undefined;
    });
    const replica = { instanceId: id, privateIp: running.PrivateIpAddress!, volumeId: running.BlockDeviceMappings![0]!.Ebs!.VolumeId!, eni: running.NetworkInterfaces![0]!.NetworkInterfaceId!, zone };
    ctx.note(`replica ${id} running in ${zone} at ${replica.privateIp} (the primary is in ${primaryZone}), its app stopped`);
    return new ReplicaFailover(ctx, replica, primaryZone, await makeTempDir('services-replica'));
  }

  private get volumeDir(): string {
    return join(this.dir, 'volume');
  }

  /** The replica's state `lag` before the disaster: the primary's stores, the replica's own etc/ and /opt/nomad. */
  async backup(): Promise<{ id: string; wallMs: number }> {
    const wallMs = Date.now();
    const copy = this.ctx.machine.copyVolumeTo(this.volumeDir);
    // Not under /data: the replica's own /opt/nomad (empty) and /etc/default files (its own address).
    rmSync(join(this.volumeDir, 'nomad_server'), { recursive: true, force: true });
    rmSync(join(this.volumeDir, 'etc'), { recursive: true, force: true });
    writeMachineConfig(join(this.volumeDir, 'etc'), this.replica.privateIp);
    this.copied = { wallMs, holdMs: copy.holdMs, bytes: copy.bytes };
    this.ctx.note(`replication: the replica ${this.replica.instanceId} holds the primary's stores as of now (${copy.parts.filter((p) => p !== 'etc' && p !== 'nomad_server').join(', ')}, ${(copy.bytes / 1048576).toFixed(1)} MiB; stores held ${copy.holdMs.toFixed(0)} ms)`);
    return { id: `replica ${this.replica.instanceId}`, wallMs };
  }

  async afterDisaster(): Promise<void> {
    this.disasterWallMs = Date.now();
    this.ctx.note(`${this.primaryZone} down: the Services machine's processes and volume lost`);
    if (this.copied === undefined) return;
    await this.ctx.machine.failOverTo(this.replica, this.volumeDir);
    this.failedOver = true;
  }

  async apply(step: RunbookStep, at: { oldIp: string; oldInstanceId: string }): Promise<string | undefined> {
    const { ec2, call, machine: m } = this.ctx;
    switch (step.does) {
      case 'confirm_primary_dead': {
        const state = await this.ctx.until(`${at.oldInstanceId} to be terminated`, async () => {
          const r = await call(ec2.send(new DescribeInstancesCommand({ InstanceIds: [at.oldInstanceId] })));
          const s = r.Reservations?.[0]?.Instances?.[0]?.State?.Name;
          return s === 'terminated' ? s : undefined;
        });
        return `${at.oldInstanceId} in ${this.primaryZone} is ${state}: ${at.oldIp} is free`;
      }
      case 'reassign_private_ip': {
        if (!this.failedOver) return 'no replica holds the data';
        try {
          await call(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: this.replica.eni, PrivateIpAddresses: [at.oldIp], AllowReassignment: true })));
        } catch (e) {
          // An address still the primary one of the dead instance's interface is not moved: the builders dial it in vain.
          return `AssignPrivateIpAddresses refused (${(e as Error).name}: ${(e as Error).message}); builders dial ${at.oldIp}, which the replica does not hold`;
        }
        m.secondaryIp = at.oldIp;
        m.judgeBuilders();
        return `${at.oldIp} re-associated to the replica's ${this.replica.eni} as a secondary IP${m.appRunning ? `; builders ${m.buildersReach() ? 'reach' : 'still cannot reach'} the Services machine` : ''}`;
      }
      default:
        return undefined;
    }
  }

  /** The replication lag: the replica holds the primary's state as of `lag` before the disaster, by construction. */
  rpoMs(plan: { snapshotAtMs: number; disasterAtMs: number }): number | null {
    return this.copied === undefined ? null : plan.disasterAtMs - plan.snapshotAtMs;
  }

  restored(): boolean {
    return this.failedOver && this.ctx.machine.appRunning;
  }

  buildersReconnected(): number {
    const nomad = this.ctx.machine.nomad;
    if (nomad === undefined || !this.ctx.machine.buildersReach()) return 0;
    return nomad.nodeIds().filter((id) => nomad.scheduler.node(id)?.status === 'ready').length;
  }

  measures(): Record<string, unknown> {
    return {
      replica: {
        instance: this.replica.instanceId,
        zone: this.replica.zone,
        private_ip: this.replica.privateIp,
        primary_zone: this.primaryZone,
        copy: this.copied ? { hold_ms: Math.round(this.copied.holdMs * 10) / 10, bytes: this.copied.bytes, wall_ms_before_disaster: this.disasterWallMs - this.copied.wallMs } : null,
      },
    };
  }

  async dispose(): Promise<void> {
    await removeDir(this.dir);
  }
}
