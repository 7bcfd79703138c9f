import {
  AutoScalingClient,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeLaunchConfigurationsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { builderUserData, parseBuilderUserData } from '../../sim/models/dr/admin-shell.ts';
import type { StartedEc2Api } from '../ec2/server.ts';
import type { NomadClients } from '../ec2/nomad-clients.ts';
import { NOMAD_CLIENTS_GROUP, type BuilderDial, type BuilderDials, type ServicesMachine } from './services-machine.ts';
import { readSecretToken } from './services-volume.ts';

/** What the rotation lends of the rehearsal: the endpoint, its EC2 client, its bounded wait and its call counter. */
export interface RotationContext {
  api: StartedEc2Api;
  ec2: EC2Client;
  machine: ServicesMachine;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  until: <T>(what: string, probe: () => Promise<T | undefined>) => Promise<T>;
  call: <T>(request: Promise<T>) => Promise<T>;
  /** The group's instances as Nomad clients: the machine's (default), or another region's group (a region outage). */
  clients?: NomadClients;
  /** The fleet's size: an empty group (the first region's builders lost with it) is scaled to it by `rotate_builders`. */
  fleetSize?: number;
}

/**
 * The runbook `reassociate-builders` live ("Discovery and Re-association of Builders", 003, 3), on the Nomad clients'
 * Auto Scaling group of the twin's EC2 endpoint, whose instances are the twin's Nomad clients (`NomadClients`):
 * - `get_secret_token`: the token `sudo replicated admin get-secret-token` prints, read from the live machine's volume
 *   (`etc/replicated/secret-token`, written at install, restored with a snapshot);
 * - `update_launch_configuration`: `CreateLaunchConfiguration` whose UserData (base64, as the API carries it) exports
 *   `SERVICES_PRIVATE_IP=<the machine's private IP>` and, when the token was read, `CIRCLE_SECRET_PASSPHRASE=<token>`,
 *   then `UpdateAutoScalingGroup` to it;
 * - `rotate_builders`: `TerminateInstances` of every instance of the group: each one's Nomad node goes down (its
 *   allocations lost), the group replaces it from its launch configuration, and the new instance, once running,
 *   registers as a Nomad client if it reaches the machine at the address its UserData names with the passphrase
 *   the machine's token (`ServicesMachine.reaches`, the simulation's rule); otherwise it never becomes a node.
 * It is the machine's `BuilderDials`: what each node's instance dials, read from its launch configuration's UserData.
 */
export class BuildersRotation implements BuilderDials {
  /** Builders terminated by `rotate_builders` (the report's `dr.builders_rotated`). */
  rotated = 0;
  /** Allocations that ran on the rotated builders: lost with them (the twin's Nomad does not reschedule lost ones). */
  allocationsLost = 0;
  private tokenRead: string | undefined;
  private readonly dials = new Map<string, BuilderDial | undefined>();
  private readonly autoscaling: AutoScalingClient;
  private configs = 0;
  private readonly clients: NomadClients;

  constructor(private readonly ctx: RotationContext) {
    this.autoscaling = new AutoScalingClient({ endpoint: ctx.api.autoscalingUrl, region: ctx.region, credentials: ctx.credentials, maxAttempts: 1 });
    const clients = ctx.clients ?? ctx.machine.clients;
    if (clients === undefined) throw new Error('the builders are rotated live only when the Nomad clients are the group\'s instances (ServicesMachine.attach fleetIsGroup)');
    this.clients = clients;
    ctx.machine.builders = this;
    clients.refusal = (id) => this.refusal(id);
  }

  /** What the instance dials: its launch configuration's UserData, read while it is a member of the group. */
  private launchOf(instanceId: string): BuilderDial | undefined {
    if (this.dials.has(instanceId)) return this.dials.get(instanceId);
    const { autoscaling } = this.ctx.api.state;
    const member = autoscaling.groups.get(NOMAD_CLIENTS_GROUP)?.instances.get(instanceId);
    if (member === undefined) return undefined;
    const lc = member.launchConfigurationName === undefined ? undefined : autoscaling.launchConfigurations.get(member.launchConfigurationName);
    const parsed = lc?.userData === undefined ? undefined : parseBuilderUserData(lc.userData);
    const dial = parsed?.ip === undefined ? undefined : { ip: parsed.ip, passphrase: parsed.passphrase };
    this.dials.set(instanceId, dial);
    return dial;
  }

  dialOf(nodeId: string): BuilderDial | undefined {
    const id = this.clients.instanceOfNode(nodeId);
    return id === undefined ? undefined : this.launchOf(id);
  }

  /** What the group's builders in service dial (the first by id; a rotation replaces them all at once). */
  fleet(): BuilderDial | undefined {
    const group = this.ctx.api.state.autoscaling.groups.get(NOMAD_CLIENTS_GROUP);
    const live = [...(group?.instances.values() ?? [])].filter((m) => m.lifecycleState === 'InService').map((m) => m.instanceId).sort();
    return live.length === 0 ? undefined : this.launchOf(live[0]!);
  }

  /** Why a running instance of the group cannot register with the Nomad server; undefined when it can. */
  private refusal(instanceId: string): string | undefined {
    const dial = this.launchOf(instanceId);
    const m = this.ctx.machine;
    // The original builders (the stack's clients, taken over as the group boots) are judged by `judgeBuilders`.
    if (dial === undefined || m.reaches(dial)) return undefined;
    const ip = dial?.ip ?? m.buildersDialIp;
    if (m.phase === 'terminated') return `it dials ${ip}: no Services machine runs`;
    if (ip !== m.privateIp && ip !== m.secondaryIp) return `it dials ${ip}, which the Services machine at ${m.privateIp} does not hold`;
    if (dial !== undefined && ip !== m.buildersDialIp && dial.passphrase === undefined) return `it dials ${ip} without CIRCLE_SECRET_PASSPHRASE`;
    if (dial !== undefined && ip !== m.buildersDialIp && dial.passphrase !== readSecretToken(m.etcDir)) return `its CIRCLE_SECRET_PASSPHRASE is not the machine's secret token`;
    return `the app does not answer at ${ip}`;
  }

  /** `sudo replicated admin get-secret-token` on the live machine. */
  getSecretToken(): string {
    const m = this.ctx.machine;
    if (m.phase !== 'running') return 'no instance';
    const token = readSecretToken(m.etcDir);
    if (token === undefined) return 'no secret token on the machine (etc/replicated/secret-token is missing)';
    this.tokenRead = token;
    return `export CIRCLE_SECRET_PASSPHRASE='${token}'`;
  }

  /** A launch configuration naming the machine's private IP (and the token, when read), made the group's. */
  async updateLaunchConfiguration(): Promise<string> {
    const m = this.ctx.machine;
    if (m.phase !== 'running') return 'no instance';
    const group = await this.group();
    const current = (await this.ctx.call(this.autoscaling.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: [group.LaunchConfigurationName!] })))).LaunchConfigurations?.[0];
    if (current === undefined) throw new Error(`the group ${NOMAD_CLIENTS_GROUP} has no launch configuration to copy`);
    const name = `${NOMAD_CLIENTS_GROUP}-${m.privateIp.replaceAll('.', '-')}-${++this.configs}`;
    const userData = Buffer.from(builderUserData(m.privateIp, this.tokenRead)).toString('base64');
    await this.ctx.call(this.autoscaling.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: name, ImageId: current.ImageId, InstanceType: current.InstanceType, UserData: userData })));
    await this.ctx.call(this.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: NOMAD_CLIENTS_GROUP, LaunchConfigurationName: name })));
    return `the builders' launch configuration now names SERVICES_PRIVATE_IP=${m.privateIp}${this.tokenRead ? ' with CIRCLE_SECRET_PASSPHRASE' : ' without CIRCLE_SECRET_PASSPHRASE (the token was not read)'} (${name}, UpdateAutoScalingGroup ${NOMAD_CLIENTS_GROUP})`;
  }

  /**
   * Every builder terminated (TerminateInstances); waits until the group holds as many new instances in service, each
   * registered as a Nomad client or refused, then judges them against the machine.
   */
  async rotateBuilders(): Promise<string> {
    const m = this.ctx.machine;
    const clients = this.clients;
    const group = await this.group();
    const old = (group.Instances ?? []).map((i) => i.InstanceId!).sort();
    if (old.length === 0 && this.ctx.fleetSize !== undefined) return this.launchFleet(this.ctx.fleetSize);
    if (old.length === 0) return 'no builders in the group to rotate';
    const nomad = m.nomad?.state;
    this.allocationsLost += old.reduce((n, id) => {
      const node = clients.nodeOf.get(id);
      const s = node === undefined ? undefined : nomad?.scheduler.node(node);
      return n + (s !== undefined && s.status !== 'down' ? s.runningAllocs : 0);
    }, 0);
    await this.ctx.call(this.ctx.ec2.send(new TerminateInstancesCommand({ InstanceIds: old })));
    this.rotated += old.length;
    const fresh = await this.inService(`the group ${NOMAD_CLIENTS_GROUP} to replace its ${old.length} builders`, old, group.DesiredCapacity ?? old.length);
    return `${old.length} builders replaced, ${this.registration(fresh, `${this.allocationsLost} allocations lost with them (not rescheduled); `)}`;
  }

  /**
   * The group is empty (a region outage: the first region's builders were lost with it, this is the other region's
   * group): UpdateAutoScalingGroup to the fleet's size, and the group launches them from its launch configuration.
   */
  private async launchFleet(n: number): Promise<string> {
    // No machine came back: a fleet would have nothing to register with.
    if (this.ctx.machine.phase !== 'running') return 'no instance';
    const group = await this.group();
    await this.ctx.call(this.autoscaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: NOMAD_CLIENTS_GROUP, MinSize: n, DesiredCapacity: n, MaxSize: Math.max(n, group.MaxSize ?? n) })));
    const fresh = await this.inService(`the group ${NOMAD_CLIENTS_GROUP} to launch ${n} builders`, [], n);
    this.rotated += n;
    return `${n} builders launched in ${this.ctx.region} (the fleet was lost with the first region), ${this.registration(fresh)}`;
  }

  /** Waits until the group holds `desired` instances in service other than `old`, each registered or refused; their ids. */
  private async inService(what: string, old: readonly string[], desired: number): Promise<string[]> {
    const clients = this.clients;
    const fresh = await this.ctx.until(what, async () => {
      const g = await this.group();
      const ids = (g.Instances ?? []).filter((i) => !old.includes(i.InstanceId!) && i.LifecycleState === 'InService').map((i) => i.InstanceId!);
      return ids.length >= desired && ids.every((id) => clients.nodeOf.has(id) || clients.unregistered.has(id)) ? ids.sort() : undefined;
    });
    this.ctx.machine.judgeBuilders();
    return fresh;
  }

  /** What the new builders dial, `lost` (what went with the old ones), and whether they registered: the step's consequence after the count. */
  private registration(fresh: readonly string[], lost = ''): string {
    const m = this.ctx.machine;
    const dial = this.launchOf(fresh[0]!);
    const ip = dial?.ip ?? m.buildersDialIp;
    const registered = fresh.filter((id) => this.clients.nodeOf.has(id)).length;
    return `dialling ${ip}; ${lost}${
      m.buildersReach() ? `they register with the Services machine (${registered} Nomad clients)` : `they cannot register with the Services machine${ip !== m.buildersDialIp && dial?.passphrase === undefined ? ' (no CIRCLE_SECRET_PASSPHRASE for a new address)' : ''}`
    }`;
  }

  /** The group's instances now (those terminating too): each one's lifecycle state, launch configuration, what it dials, and its Nomad node and status (if it registered). */
  builders(): { instanceId: string; lifecycleState: string; launchConfiguration: string | undefined; dial: BuilderDial | undefined; node: string | undefined; status: string | undefined }[] {
    const clients = this.clients;
    const nomad = this.ctx.machine.nomad?.state;
    const group = this.ctx.api.state.autoscaling.groups.get(NOMAD_CLIENTS_GROUP);
    return [...(group?.instances.values() ?? [])].map((i) => {
      const node = clients.nodeOf.get(i.instanceId);
      return { instanceId: i.instanceId, lifecycleState: i.lifecycleState, launchConfiguration: i.launchConfigurationName, dial: this.launchOf(i.instanceId), node, status: node === undefined ? undefined : nomad?.scheduler.node(node)?.status };
    });
  }

  /** A skipped step's consequence, in the simulation's words (`dr-rehearsal.ts`). */
  skippedConsequence(): string {
    const m = this.ctx.machine;
    const dial = this.fleet();
    const ip = dial?.ip ?? m.buildersDialIp;
    if (m.phase === 'running' && m.buildersReach()) return `none: builders reach the Services machine (dialling ${ip})`;
    const live = [...(this.ctx.api.state.autoscaling.groups.get(NOMAD_CLIENTS_GROUP)?.instances.values() ?? [])].some((i) => i.lifecycleState === 'InService');
    if (!live) return 'no builders: the fleet was lost and none was launched';
    return `builders dial ${ip}${ip === m.buildersDialIp ? '' : dial?.passphrase === undefined ? ' without CIRCLE_SECRET_PASSPHRASE' : ''} and cannot register with the Services machine${m.phase === 'running' ? ` at ${m.privateIp}` : ''}`;
  }

  private async group() {
    const r = await this.ctx.call(this.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [NOMAD_CLIENTS_GROUP] })));
    const g = r.AutoScalingGroups?.[0];
    if (g === undefined) throw new Error(`no Auto Scaling group ${NOMAD_CLIENTS_GROUP} on the endpoint`);
    return g;
  }

  dispose(): void {
    this.autoscaling.destroy();
  }
}
