import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LiveStack } from '../live/stack.ts';
import type { StartedEc2Api } from '../ec2/server.ts';
import type { Ec2Model, Instance } from '../ec2/ec2-model.ts';
import type { Ec2State } from '../ec2/state.ts';
import { makeTempDir, removeDir } from '../providers/temp-dir.ts';
import { StartedNomadApiServer } from '../nomad/server.ts';
import { NomadClients } from '../ec2/nomad-clients.ts';
import { publishFlush } from '../ec2/telegraf-output.ts';
import { buildersReach } from '../../sim/models/dr/live-plan.ts';
import { processTree, readSecretToken, replicatedAddresses, ServicesVolume, writeMachineConfig, writeSecretToken, type VolumeCopy, type VolumePart } from './services-volume.ts';

/** The tag the seeds' backup script finds the Services machine by. */
export const SERVICES_TAG = 'circleci_services';
/** The Nomad clients' Auto Scaling Group. */
export const NOMAD_CLIENTS_GROUP = 'circleci-nomad-clients';
/** The Services machine's instance type in the seeds' sizing table (32 GB, 8 vCPU). */
const SERVICES_INSTANCE_TYPE = 'm4.2xlarge';
export const NOMAD_CLIENT_INSTANCE_TYPE = 'm5.2xlarge';
/** Its size (8 vCPU, 32 GB), as a client registers with the twin's Nomad API. */
export const NOMAD_CLIENT_SIZE = { cpus: 8, memoryGb: 32 };
/** How often (wall ms) the endpoint's model time is moved on for the group's clients (boots, alarms, gauges). */
export const CLIENTS_SYNC_MS = 5_000;

/** A snapshot of the Services machine's volume, as the EC2 endpoint stores it. */
export interface StoredSnapshot {
  snapshotId: string;
  dir: string;
  /** Wall time (epoch ms) of the instant it holds. */
  atMs: number;
  holdMs: number;
  bytes: number;
}

/** Something the machine did, for the rehearsal's timeline. */
export interface MachineEvent {
  atMs: number;
  event: string;
}

type Phase = 'running' | 'terminated' | 'booting';

/** What a builder dials: the address and the passphrase its launch configuration's user data named. */
export interface BuilderDial {
  ip: string;
  passphrase: string | undefined;
}

/**
 * The builders' launches once they can be rotated (`builders-rotation.ts`): what each Nomad node's instance dials,
 * and what the group's builders dial now; undefined: the original builders (`buildersDialIp`, paired at install).
 */
export interface BuilderDials {
  dialOf(nodeId: string): BuilderDial | undefined;
  fleet(): BuilderDial | undefined;
}

/**
 * How `twin up` attaches its Services machine (harness/cli/commands/live-stack.ts): the group's instances are the
 * Nomad clients, and the gauges reach CloudWatch only through telegraf's flushes. Live tests of twin up's path use it.
 */
export const TWIN_UP_ATTACH = { fleetIsGroup: true, gaugesViaTelegraf: true } as const;

/**
 * The live stack as the Services machine of its own cloud: an instance tagged `Name=circleci_services` on the EC2
 * endpoint, with a private IP and a root EBS volume that *is* the stack's state (its stores' data dirs and the
 * configuration files under `etc/`), and the Nomad clients as an Auto Scaling Group.
 *
 * What EC2 calls do to it, through the endpoint's model:
 * - `CreateSnapshot` of its volume (or `CreateImage`): a crash-consistent copy of the state, taken while the stack
 *   runs (its stores held for the copy's duration), stored under the endpoint's snapshot dir;
 * - `TerminateInstances` of it: the disaster: every process of the stack dies at once and the volume's content is
 *   deleted;
 * - an instance launched from an image of one of its snapshots, once it is `running`: the state is restored from
 *   that snapshot and the stack starts on it (the stores recover from their files as after a crash), as Replicated
 *   starts the app when the machine boots.
 */
export class ServicesMachine {
  instanceId: string;
  privateIp: string;
  volumeId: string;
  /** An address re-associated to it (`AssignPrivateIpAddresses --allow-reassignment`), if any. */
  secondaryIp: string | undefined;
  phase: Phase = 'running';
  /** The address the builders (the Nomad clients' group) were launched to dial: the first machine's private IP. */
  readonly buildersDialIp: string;
  /** Whether the app (Replicated's containers) runs: started at boot and by `startApp`, stopped by `stopApp`. */
  appRunning = true;
  readonly snapshots = new Map<string, StoredSnapshot>();
  readonly events: MachineEvent[] = [];
  /**
   * Whether an instance booted from a snapshot while this one runs replaces it (a rollback to before a settings
   * change: the old instance runs on, holding its address, until it is terminated); otherwise that instance stays
   * empty (the twin runs one installation).
   */
  replaceOnBoot = false;
  /**
   * Awaited when a replacement boots, before the old machine's processes die (what it holds is read then); and before
   * `circleci-restore` moves a running installation's data aside (`tarball-rehearsal.ts`).
   */
  beforeReplaced: (() => Promise<void>) | undefined;
  private readonly volume: ServicesVolume;
  /** The group's instances as the twin's Nomad API's clients (`fleetIsGroup`), when they are. */
  clients: NomadClients | undefined;
  /** Removes telegraf's CloudWatch output (`gaugesViaTelegraf`). */
  private untelegraf: (() => void) | undefined;
  /** What the builders dial once they can be rotated (`builders-rotation.ts`); undefined: all dial `buildersDialIp`. */
  builders: BuilderDials | undefined;
  private booted: Promise<void> = Promise.resolve();
  private dying: Promise<void> = Promise.resolve();

  private constructor(
    private readonly stack: LiveStack,
    private readonly ec2: StartedEc2Api,
    readonly etcDir: string,
    private readonly snapshotDir: string,
    private readonly nomadDir: string | undefined,
    instance: Instance,
    /** `/data` on the volume: where `circleci-restore` moves a running installation's data aside. */
    readonly dataDir: string,
  ) {
    this.instanceId = instance.instanceId;
    this.privateIp = instance.privateIpAddress;
    this.volumeId = instance.blockDeviceMappings[0]!.volumeId;
    this.buildersDialIp = instance.privateIpAddress;
    this.boundIp = instance.privateIpAddress;
    this.volume = new ServicesVolume(() => this.parts());
    const { state } = ec2;
    state.onEvent((e) => {
      if (e.kind !== 'snapshot-created') return;
      const snap = state.ec2.snapshots.get(e.resourceId);
      if (snap?.volumeId === this.volumeId && this.phase === 'running') this.takeSnapshot(snap.snapshotId);
    });
    state.ec2.onInstanceState((i, previous) => this.onInstanceState(state.ec2, i, previous));
  }

  /**
   * Another region's endpoint (linked with `Ec2State.linkRegion`): a copy made there of one of this volume's
   * snapshots (CopySnapshot) holds the same state, and an instance launched there from an image of the copy boots
   * the installation on it, at that region's address.
   */
  watchRegion(other: Ec2State): void {
    const home = this.ec2.state.options.region;
    other.onEvent((e) => {
      if (e.kind !== 'snapshot-copied') return;
      const copy = other.ec2.snapshots.get(e.resourceId);
      const source = copy?.copiedFrom?.region === home ? this.snapshots.get(copy.copiedFrom.snapshotId) : undefined;
      if (copy === undefined || source === undefined) return;
      this.snapshots.set(copy.snapshotId, { ...source, snapshotId: copy.snapshotId });
      this.note(`snapshot ${source.snapshotId} copied to ${other.options.region} as ${copy.snapshotId}`);
    });
    other.ec2.onInstanceState((i, previous) => this.onInstanceState(other.ec2, i, previous));
  }

  /**
   * Registers the running stack on the endpoint: the Services instance (its private IP written into the replicated
   * defaults), its root volume, and the Nomad clients' group of `nomadClients` instances. With `fleetIsGroup` and the
   * twin's Nomad API, the group's instances are its clients (`harness/ec2/nomad-clients.ts`): the clients it has
   * become the group's first instances as they boot, later ones register as they boot, scale-in drains them through
   * the lifecycle hook, a terminated instance's node goes down, and the stack's gauges reach the endpoint's CloudWatch.
   */
  static async attach(stack: LiveStack, ec2: StartedEc2Api, opts: { nomadClients: number; fleetIsGroup?: boolean; gaugesViaTelegraf?: boolean; group?: { name: string; min: number; max: number }; secretToken?: string }): Promise<ServicesMachine> {
    const model = ec2.state.ec2;
    const base = [...model.images.values()].find((i) => i.isPublic);
    if (base === undefined) throw new Error('the EC2 endpoint has no public base image to launch the Services machine from');
    const nameTag = (value: string) => [{ resourceType: 'instance', tags: [['Name', value] as const] }];
    const reservation = model.runInstances({ imageId: base.imageId, instanceType: SERVICES_INSTANCE_TYPE, minCount: 1, maxCount: 1, tagSpecifications: nameTag(SERVICES_TAG) });
    const instance = reservation.instances[0]!;
    const etcDir = await makeTempDir('services-etc');
    const snapshotDir = await makeTempDir('ec2-snapshots');
    const dataDir = await makeTempDir('services-data');
    writeMachineConfig(etcDir, instance.privateIpAddress);
    if (opts.secretToken !== undefined) writeSecretToken(etcDir, opts.secretToken);
    // The twin's Nomad server keeps its state on the volume (`/opt/nomad`), as the real one does: a snapshot carries
    // its jobs and allocations and a restored machine's server starts on them.
    const nomad = stack.components.get('nomad_server');
    let nomadDir: string | undefined;
    if (nomad instanceof StartedNomadApiServer && nomad.dataDir === undefined) {
      nomadDir = await makeTempDir('opt-nomad');
      nomad.persistState(nomadDir);
    }
    const groupName = opts.group?.name ?? NOMAD_CLIENTS_GROUP;
    const lc = `${groupName}-lc`;
    ec2.state.autoscaling.createLaunchConfiguration({ name: lc, imageId: base.imageId, instanceType: NOMAD_CLIENT_INSTANCE_TYPE });
    ec2.state.autoscaling.createAutoScalingGroup({
      name: groupName,
      minSize: opts.group?.min ?? opts.nomadClients,
      maxSize: opts.group?.max ?? Math.max(opts.nomadClients, 1) * 4,
      desiredCapacity: opts.nomadClients,
      launchConfigurationName: lc,
      availabilityZones: [model.subnet.availabilityZone],
      tags: [{ key: 'Name', value: 'circleci-nomad-client', propagateAtLaunch: true }],
    });
    const machine = new ServicesMachine(stack, ec2, etcDir, snapshotDir, nomadDir, instance, dataDir);
    if (opts.fleetIsGroup === true && nomad instanceof StartedNomadApiServer) {
      const client = NOMAD_CLIENT_SIZE;
      const gauges = opts.gaugesViaTelegraf === true ? 'telegraf' : 'direct';
      machine.clients = new NomadClients(ec2.state, nomad.state, { groupName, client, adopt: nomad.state.nodeIds(), gauges }).syncEvery(CLIENTS_SYNC_MS);
      // As CircleCI Server's: nomad-metrics -> statsd -> telegraf's [[outputs.cloudwatch]]; telegraf down, no datum.
      if (gauges === 'telegraf') machine.untelegraf = stack.onGaugeFlush((_at, values) => void publishFlush(ec2.state, values));
    }
    machine.note(`Services machine ${instance.instanceId} at ${instance.privateIpAddress}, root volume ${machine.volumeId}; ${opts.nomadClients} Nomad clients in ${groupName}`);
    return machine;
  }

  /** The twin's Nomad server, when it keeps its state on this volume (undefined with a real Nomad). */
  get nomad(): StartedNomadApiServer | undefined {
    const n = this.stack.components.get('nomad_server');
    return n instanceof StartedNomadApiServer && n.dataDir !== undefined ? n : undefined;
  }

  /**
   * `sudo rm -rf /opt/nomad` on the twin's Nomad server's data dir (runbook step 5). With the app stopped the server
   * starts empty at the next `startApp`; with it running (`appRunning`) it keeps its state in memory and writes it
   * back: no effect. Returns the step's consequence in the simulation's words.
   */
  wipeNomadState(appRunning: boolean): string {
    const nomad = this.nomad;
    if (nomad === undefined) throw new Error('the twin\'s Nomad server keeps no state on this volume');
    const { jobs } = nomad.state.persisted();
    const n = `${jobs.filter((j) => j.placed).length} placed jobs (${nomad.state.staleAllocations().length} stale allocations) and ${jobs.filter((j) => !j.placed).length} pending jobs`;
    rmSync(nomad.dataDir!, { recursive: true, force: true });
    mkdirSync(nomad.dataDir!, { recursive: true });
    if (appRunning) {
      nomad.persist();
      return `no effect: the app was running, and its Nomad server kept its ${n} in memory and wrote them back`;
    }
    return `/opt/nomad removed: ${n}; the Nomad server starts empty with the app`;
  }

  /** The volume's parts: each store's data dir (with the process that writes it) and `etc/`. */
  private parts(): VolumePart[] {
    const out: VolumePart[] = [];
    for (const [name, c] of this.stack.components) {
      if (this.stack.rows.get(name)?.kind !== 'backend' || c.dataDir === undefined) continue;
      out.push({ name, dir: c.dataDir, pid: c.pid });
    }
    out.push({ name: 'etc', dir: this.etcDir, pid: undefined });
    out.push({ name: 'data', dir: this.dataDir, pid: undefined });
    return out;
  }

  private takeSnapshot(snapshotId: string): void {
    const dir = join(this.snapshotDir, snapshotId);
    const atMs = Date.now();
    const copy = this.volume.copyTo(dir);
    this.snapshots.set(snapshotId, { snapshotId, dir, atMs, holdMs: copy.holdMs, bytes: copy.bytes });
    this.note(`snapshot ${snapshotId} of ${this.volumeId}: ${copy.parts.join(', ')} (${(copy.bytes / 1048576).toFixed(1)} MiB), stores held ${copy.holdMs.toFixed(0)} ms`);
  }

  private onInstanceState(model: Ec2Model, i: Instance, previous: string): void {
    if (i.instanceId === this.instanceId && i.state === 'shutting-down' && this.phase === 'running') {
      this.phase = 'terminated';
      this.appRunning = false;
      this.dying = this.disaster();
      return;
    }
    if (i.state !== 'running' || previous !== 'pending' || i.instanceId === this.instanceId) return;
    const rootVolume = model.volumes.get(i.blockDeviceMappings.find((d) => d.deviceName === i.rootDeviceName)?.volumeId ?? '');
    const snapshot = rootVolume?.snapshotId === undefined ? undefined : this.snapshots.get(rootVolume.snapshotId);
    if (snapshot === undefined) return;
    if (this.phase !== 'terminated') {
      if (!this.replaceOnBoot) {
        this.note(`${i.instanceId} booted from snapshot ${snapshot.snapshotId} while the Services machine ${this.instanceId} still runs: the twin runs one installation, this one stays empty`);
        return;
      }
      // A rollback: the new instance is the installation from now on; the old one runs on with its address, cut off.
      this.phase = 'terminated';
      this.appRunning = false;
      const before = this.beforeReplaced?.() ?? Promise.resolve();
      const old = this.instanceId;
      this.dying = before.then(() => this.killAll(`${old} replaced by ${i.instanceId} booted from ${snapshot.snapshotId}: the old instance runs on with its address, cut off from the installation (every process of it killed here, its volume left to it)`));
    }
    this.phase = 'booting';
    this.instanceId = i.instanceId;
    this.privateIp = i.privateIpAddress;
    this.secondaryIp = undefined;
    this.volumeId = rootVolume!.volumeId;
    this.booted = this.dying.then(() => this.bootFrom(snapshot));
  }

  /**
   * TerminateInstances: every process of the stack is SIGKILLed at once (whole process trees, synchronously, so
   * nothing writes after the instant), then the twin's services die and the volume's content is deleted.
   */
  private async disaster(): Promise<void> {
    await this.killAll(`${this.instanceId} terminated: every process of the Services machine killed`);
    this.volume.wipe();
    this.note(`root volume deleted with the instance (DeleteOnTermination): its state is gone`);
  }

  /**
   * The machine lost while its instance runs on and keeps its private IP (a corrupted volume): every process of the
   * stack dies as in `disaster`, the volume's files stay as they are. A machine launched from a snapshot then
   * boots as after a termination.
   */
  lose(event: string): Promise<void> {
    this.phase = 'terminated';
    this.appRunning = false;
    this.dying = this.killAll(event);
    return this.dying;
  }

  /** Every process of the stack SIGKILLed at once, then the twin's services and the Nomad server's memory. */
  private async killAll(event: string): Promise<void> {
    for (const p of this.parts()) {
      if (p.pid === undefined) continue;
      for (const pid of processTree(p.pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    this.note(event);
    // The rows follow (a signal to a dead pid is a no-op), then the in-process services and the Nomad server.
    await Promise.all([...this.stack.rows.values()].filter((r) => r.kind === 'backend' || r.kind === 'service').map((r) => this.stack.kill(r.name).catch(() => undefined)));
    if (this.stack.components.has('nomad_server')) await this.stack.wipeState('nomad_server').catch(() => undefined);
  }

  /** A new Services machine booted from a snapshot: the volume restored, the stores and the app started on it. */
  private async bootFrom(snapshot: StoredSnapshot): Promise<void> {
    const t0 = Date.now();
    this.volume.restoreFrom(snapshot.dir);
    this.note(`${this.instanceId} booted at ${this.privateIp} on a volume from ${snapshot.snapshotId}; starting the app (Replicated starts it at boot)`);
    await this.startApp();
    this.phase = 'running';
    const found = this.nomad?.lastStart;
    const nomad = found === undefined ? '' : found.kind === 'restored' ? `; its Nomad server read ${found.jobs} jobs from /opt/nomad, ${found.staleAllocs} allocations no builder runs` : found.kind === 'empty' ? '; its Nomad server found /opt/nomad empty' : '';
    this.note(`app up on ${this.instanceId} ${Date.now() - t0} ms after boot${nomad}`);
  }

  /** A crash-consistent copy of the volume into `dir` (as a snapshot's, not registered as one): a replica's data. */
  copyVolumeTo(dir: string): VolumeCopy {
    rmSync(dir, { recursive: true, force: true });
    return this.volume.copyTo(dir);
  }

  /**
   * Cold fail-over: once the primary is dead, the machine is the replica `instance` in another zone, its volume the
   * replica's copy in `dir`; the app stays stopped until `startApp` (`replicated app <id> start`).
   */
  async failOverTo(instance: { instanceId: string; privateIp: string; volumeId: string }, dir: string): Promise<void> {
    await this.dying;
    this.instanceId = instance.instanceId;
    this.privateIp = instance.privateIp;
    this.volumeId = instance.volumeId;
    this.secondaryIp = undefined;
    this.volume.restoreFrom(dir);
    this.phase = 'running';
    this.appRunning = false;
    this.note(`the Services machine is now the replica ${instance.instanceId} at ${instance.privateIp}, its app stopped`);
  }

  /** Resolves once a restored machine has started its app (at once when none is booting). */
  whenBooted(): Promise<void> {
    return this.booted;
  }

  /** Resolves once the disaster's kills and the volume's deletion are done. */
  whenDead(): Promise<void> {
    return this.dying;
  }

  /** Replicated's `app stop`: the services first, then the Nomad server and the stores (SIGTERM, as docker stop). */
  async stopApp(): Promise<void> {
    await this.stopServices();
    const rows = [...this.stack.rows.values()];
    await Promise.all(rows.filter((r) => r.kind === 'backend' && r.state !== 'killed' && r.state !== 'exited').map((r) => this.stack.stop(r.name).catch(() => undefined)));
  }

  /** The services alone (the first half of `stopApp`): the stores keep running, nothing writes to them. */
  async stopServices(): Promise<void> {
    const rows = [...this.stack.rows.values()];
    await Promise.all(rows.filter((r) => r.kind === 'service' && r.state !== 'killed' && r.state !== 'exited').map((r) => this.stack.stop(r.name).catch(() => undefined)));
    this.appRunning = false;
  }

  /** Replicated's `app start`: the stores and the Nomad server on the volume's files, then the services. */
  async startApp(): Promise<void> {
    await this.startStores();
    await this.startServices();
  }

  /** The stores and the Nomad server alone (the first half of `startApp`; `circleci-restore` loads them before the services start). */
  async startStores(): Promise<void> {
    await Promise.all([...this.stack.rows.values()].filter((r) => r.kind === 'backend').map((r) => this.stack.start(r.name)));
  }

  /** The services, in waves (the second half of `startApp`); the app counts as running once they are. */
  async startServices(): Promise<void> {
    const rows = () => [...this.stack.rows.values()];
    // The services in waves, each after its startup dependencies: a service takes its dependencies' addresses for its
    // health checks when it starts, and one restarted may listen on another port (its documented one still taken).
    const deps = new Map(this.stack.profile.containers.map((c) => [c.name, c.startup_dependencies] as const));
    let pending = rows().filter((r) => r.kind === 'service').map((r) => r.name);
    while (pending.length > 0) {
      const ready = pending.filter((n) => (deps.get(n) ?? []).every((d) => !pending.includes(d)));
      const wave = ready.length > 0 ? ready : pending;
      await Promise.all(wave.map((n) => this.stack.start(n)));
      pending = pending.filter((n) => !wave.includes(n));
    }
    this.appRunning = true;
    this.boundIp = replicatedAddresses(this.etcDir)[0] ?? '';
    this.judgeBuilders();
  }

  /**
   * Whether the builders reach this machine now (`buildersReach` of `sim/models/dr/live-plan.ts`): the app runs, the
   * machine holds the address they dial, and `/etc/default/replicated` names its primary IP (Replicated reads it
   * when the app starts: the address the app was started on counts, not the file's later edits).
   */
  buildersReach(): boolean {
    return this.reaches(this.builders?.fleet());
  }

  /**
   * Whether builders dialling `dial` reach this machine (undefined: the original builders); those launched for
   * another address than the first machine's register only with the secret token on this machine's volume.
   */
  reaches(dial: BuilderDial | undefined): boolean {
    const dialIp = dial?.ip ?? this.buildersDialIp;
    const pairing = dialIp === this.buildersDialIp ? {} : { pairing: { passphrase: dial?.passphrase, secretToken: readSecretToken(this.etcDir) } };
    return this.phase !== 'terminated' && buildersReach({ appRunning: this.appRunning, primaryIp: this.privateIp, secondaryIp: this.secondaryIp, replicatedIp: this.boundIp, dialIp, ...pairing });
  }

  /** The address Replicated bound the app to at its last start. */
  private boundIp = '';

  /**
   * The builders act on what they reach: when they cannot reach the machine, every Nomad client misses its
   * heartbeats (`down`: nothing is placed on it, its allocations are lost); when they can, they register again
   * (`ready`). Called when the app starts and when an address is re-associated. With a real Nomad (its clients
   * not the twin's) nothing is changed: reachability is then judged from the files only.
   */
  judgeBuilders(): void {
    const nomad = this.stack.components.get('nomad_server');
    if (!(nomad instanceof StartedNomadApiServer)) return;
    // Builders that could not join try again (a rotated builder whose machine answers now registers).
    this.clients?.retryRegistrations();
    // Each node by what its instance dials (the original builders all dial `buildersDialIp`).
    const statusOf = (id: string) => (this.reaches(this.builders?.dialOf(id)) ? 'ready' : 'down');
    // A node whose instance was terminated stays down.
    const changed = nomad.nodeIds().filter((id) => nomad.scheduler.node(id)?.status !== statusOf(id) && this.clients?.retired(id) !== true);
    const byStatus = { ready: changed.filter((id) => statusOf(id) === 'ready'), down: changed.filter((id) => statusOf(id) === 'down') };
    for (const id of changed) nomad.state.setNodeStatus(id, statusOf(id));
    const dialled = (ids: string[]) => [...new Set(ids.map((id) => this.builders?.dialOf(id)?.ip ?? this.buildersDialIp))].join(', ');
    if (byStatus.ready.length > 0) this.note(`builders reach the Services machine at ${dialled(byStatus.ready)} again: ${byStatus.ready.length} Nomad clients registered (ready)`);
    if (byStatus.down.length > 0) {
      const rotated = byStatus.down.map((id) => this.builders?.dialOf(id)).filter((d): d is BuilderDial => d !== undefined && d.ip !== this.buildersDialIp);
      const why = rotated.length > 0 && rotated.every((d) => d.passphrase === undefined) ? ' without CIRCLE_SECRET_PASSPHRASE' : '';
      this.note(
        `builders cannot reach the Services machine: they dial ${dialled(byStatus.down)}${why}, replicated bound the app to ${this.boundIp}, the instance's address is ${this.privateIp}${this.secondaryIp ? ` (and ${this.secondaryIp})` : ''}; ${byStatus.down.length} Nomad clients down (heartbeats missed)`,
      );
    }
  }

  /** An event of the machine's timeline (the report's `dr.timeline`). */
  note(event: string): void {
    this.events.push({ atMs: Date.now(), event });
  }

  /** Removes the snapshot store and the configuration files (the stack removes its own dirs). */
  async dispose(): Promise<void> {
    this.untelegraf?.();
    this.clients?.dispose();
    await removeDir(this.snapshotDir);
    await removeDir(this.etcDir);
    await removeDir(this.dataDir);
    if (this.nomadDir !== undefined) await removeDir(this.nomadDir);
  }
}
