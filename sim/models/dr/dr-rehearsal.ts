import { Simulation, type EventHandle } from '../../engine/simulation.ts';
import { Rng } from '../../engine/rng.ts';
import { SampleSet } from '../../metrics/percentiles.ts';
import { createArrivalProcess } from '../workload/arrivals.ts';
import { feedArrivals } from '../workload/feed-arrivals.ts';
import { JobMix } from '../workload/job-mix.ts';
import { sampleDurationMs } from '../workload/durations.ts';
import { TIMINGS } from '../timings.ts';
import { formatDurationMs } from '../../util/duration.ts';
import type { SettledScenario } from '../../scenario/settled.ts';
import type { Percentiles } from '../../report/types.ts';
import { judgeStep, ranBefore, stepOrder, type AnyMechanic, type AnyRunbook } from './runbook.ts';
import { describeProjectChange, projectChanged, projectOfWorkflow } from './project-settings.ts';
import { buildersReach as buildersReachRule, skippedWipeConsequence, unreachedConsequence } from './live-plan.ts';
import { judgeBackup, newestRestorable, timeBackup, usedVolumeBytes, type BackupTiming, type Strategy, type WriteLog } from './backup-schedule.ts';

/**
 * A disaster-recovery rehearsal in virtual time: backups on a schedule (or a replica kept `lag` behind), a disaster,
 * the runbook's steps run one after another, and builds arriving throughout. The Services machine is a set of
 * stores (build records, the settings, Nomad's `/opt/nomad`, `/etc/default/replicated`, the console's hostname,
 * Replicated's secret token); a backup copies them at an instant, a disaster destroys, corrupts or changes them, a
 * restore brings back the copy. The disasters (the seeds' "Failover and Backup", 003):
 *
 * - `services_machine_terminated`: the instance and its volume are gone;
 * - `ebs_corruption`: the volume's data is unusable; the instance still holds its private IP;
 * - `az_outage`: the zone of the Services machine is down: its instance unreachable (still holding its address),
 *   the replica in another zone (`backups.strategy: replica`) holds the data as of `lag` before;
 * - `region_outage`: the region is down: the instance, the builders and every backup not copied out of it;
 * - `settings_change`: a malicious or accidental change of the settings; the machine runs on, builds that depend
 *   on what was changed fail until the settings are restored.
 *
 * What each skipped step costs is not looked up: it follows from the state the machine is left in (stale Nomad
 * allocations hold capacity, the wrong IP leaves builders unable to reach it, records restored as Running stay
 * Running, builders launched for a new IP without the secret token cannot register).
 */

/** A build record's state in the Services machine's databases. */
type RecordStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** The old private IP of the Services machine (what builders were configured with at startup) and a new one. */
export const OLD_IP = '10.0.1.10';
export const NEW_IP = '10.0.1.77';
/** The replica's own address, in another availability zone's subnet. */
export const REPLICA_IP = '10.0.2.20';
/** Replicated's secret token, initialised at the installation's first boot and kept on its volume. */
/** The installation's secret token (`replicated admin get-secret-token`); the live machine's volume holds the same. */
export const INSTALL_SECRET_TOKEN = '300c61ca5e1551167f73612a3f0845c54cdb3c27';
/** A clean install's token: initialised at its own first boot. */
const CLEAN_INSTALL_TOKEN = '9d1f0a7e44b2c8d5e6f7a8b9c0d1e2f3a4b5c6d7';

/** Bound on events of a rehearsal (a runaway model stops instead of hanging). */
export const DR_MAX_EVENTS = 50_000_000;

interface DrBuild {
  id: number;
  triggeredAtMs: number;
  durationMs: number;
  cpuMilli: number;
  /** Triggered after the disaster (the RTO waits for the first of these to succeed). */
  afterDisaster: boolean;
  /** When output-processor recorded its success (the record may be lost or moved aside later). */
  succeededAtMs?: number;
  /** A settings_change of its kind breaks it (it uses contexts, or its project's settings were changed). */
  affected: boolean;
  /** The settings it was placed with were broken: it fails. */
  brokenBySettings?: boolean;
}

/** What the restored Nomad server believes (`/opt/nomad`): jobs waiting for capacity and placed allocations. */
interface NomadState {
  pending: number[];
  /** Build id → whether a builder really runs it (false: a stale allocation from a restored `/opt/nomad`). */
  allocs: Map<number, boolean>;
}

/** The Services machine's root volume: every store a snapshot copies. */
interface Volume {
  records: Map<number, RecordStatus>;
  nomad: NomadState;
  /** The private IP written in `/etc/default/replicated` and `replicated-operator`. */
  replicatedIp: string;
  /** The hostname in the management console's settings (the GitHub OAuth callback goes there). */
  hostname: string;
  /** What a settings change broke, until settings from before it are restored. */
  settingsBroken: 'contexts' | 'project_settings' | undefined;
  /** Replicated's secret token (`replicated admin get-secret-token`). */
  secretToken: string;
}

interface Machine {
  volume: Volume;
  primaryIp: string;
  secondaryIp: string | undefined;
  appRunning: boolean;
}

/** The Nomad clients: the address they dial and the passphrase they were launched with. */
interface Builders {
  up: boolean;
  dialIp: string;
  /** CIRCLE_SECRET_PASSPHRASE in their launch configuration; undefined: they paired at their first boot. */
  passphrase: string | undefined;
}

/** The old Services machine's instance while it still exists (corrupted, unreachable, or running on). */
interface FormerInstance {
  ip: string;
  why: string;
  /** Whether `aws ec2 terminate-instances` can reach it (not in a failed zone). */
  terminable: boolean;
}

interface Backup extends BackupTiming {
  volume: Volume;
}

/** One backup as the report lists it. */
export interface BackupRecord {
  at_ms: number;
  size_bytes: number;
  duration_ms: number;
  completed_at_ms: number;
  copied_at_ms?: number;
  /** Age at the disaster (at the end of a run without one); null for a backup taken after the disaster. */
  age_ms: number | null;
  /** Whether the recovery could restore it, and why not. */
  usable: boolean;
  note: string;
}

export interface DrStepResult {
  step: string;
  does: AnyMechanic;
  status: 'done' | 'skipped' | 'out_of_order';
  started_at_ms: number;
  duration_ms: number;
  consequence: string;
}

export interface DrOutcome {
  builds: { triggered: number; succeeded: number; failed: number; lost: number; stuck: number; not_triggered: number; retried: number };
  queueTimeMs: Percentiles;
  webhooksDropped: number;
  /** Disaster until the app answers with builders able to reach it and the first build triggered after the disaster succeeded; null: never. */
  rtoMs: number | null;
  /** Age of the restored data at the disaster; null without a disaster or without a backup before it. */
  rpoMs: number | null;
  servicesUpAtMs: number | null;
  firstNewSuccessAtMs: number | null;
  backupsTaken: number;
  restoredFromMs: number | null;
  /** Build records that existed at the disaster and not in the restored snapshot. */
  recordsWrittenAfterBackup: number;
  /** Records restored as queued or Running with nothing running them. */
  stuckFromSnapshot: number;
  staleAllocationsRestored: number;
  staleAllocationsAtEnd: number;
  /** The fleet's CPU for builds (after Nomad's reservation), in millicores. */
  nomadCpuMilli: number;
  buildersReachAtEnd: boolean;
  hostnameMatchesAtEnd: boolean;
  runbook: DrStepResult[];
  timeline: { at_ms: number; event: string }[];
  endedAtMs: number;
  events: number;
  /** The simulation's further measures (a live rehearsal measures the fields above, and those of `measured`). */
  sim?: DrSimMeasures;
  /** What a live rehearsal measures of `sim`'s fields (the simulation's stay in `sim`). */
  measured?: Pick<DrSimMeasures, 'recordsLostAtRestore' | 'buildersReconnected'> & { settings?: DrSimMeasures['settings']; buildersRotated?: number; backups?: BackupRecord[] };
  /** The Services machine as the run left it (the simulation fills it; `twin dr --interactive` shows it). */
  machine?: DrMachineView;
}

export interface DrSimMeasures {
  backups: BackupRecord[];
  /** Records on a running installation that a restore replaced (moved aside, or left on the replaced machine). */
  recordsLostAtRestore: number;
  buildersRotated: number;
  /** Builders that reached the restored machine without being rotated (same IP: they reconnect). */
  buildersReconnected: number;
  settings: { broken: string | null; buildsFailed: number; restored: boolean };
  /** The record writes of the run, for the backup-interval sweep. */
  writes: WriteLog;
}

/** What a person at the Services machine sees of the rehearsal's state: the instance, its files, Nomad, the records. */
export interface DrMachineView {
  /** Instants of the backups taken before the disaster, in order (complete or not). */
  backupsAtMs: number[];
  /** The instant of the backup a restore uses (the newest complete, or copied, before the disaster); null: none. */
  restorableAtMs: number | null;
  /** The AMI (or downloaded tarball) the restore runs from: its backup's instant; null before `register_image` / `download_backup`. */
  imageFromMs: number | null;
  instance: { primaryIp: string; secondaryIp: string | undefined; appRunning: boolean; replicatedIp: string; hostname: string; secretToken: string; allocations: number; staleAllocations: number; pendingJobs: number; buildersReach: boolean } | null;
  /** Build ids whose records are queued or Running with nothing running them (what `admin/delete-build` cleans). */
  stuckRecords: number[];
}

/** Runs one rehearsal; `withoutDisaster` gives the baseline (the same arrivals and builds, nothing destroyed). */
export function rehearse(scenario: SettledScenario, runbook: AnyRunbook | undefined, opts: { withoutDisaster?: boolean; maxEvents?: number; stopAfterRunbook?: boolean } = {}): DrOutcome {
  return new DrRehearsal(scenario, runbook, opts.withoutDisaster ?? false, opts.stopAfterRunbook ?? false).run(opts.maxEvents ?? DR_MAX_EVENTS);
}

/** Disasters that destroy or cut off the Services machine (its running work can no longer report). */
const MACHINE_LOST = ['services_machine_terminated', 'ebs_corruption', 'az_outage', 'region_outage'];

class DrRehearsal {
  private readonly sim = new Simulation();
  private readonly rng: Rng;
  private readonly mix: JobMix;
  private readonly builds: DrBuild[] = [];
  private machine: Machine | undefined;
  private image: Volume | undefined;
  private readonly backups: Backup[] = [];
  /** The replica's volume (the primary's as of `lag` before the disaster), until the fail-over turns it into the machine. */
  private replica: Volume | undefined;
  private former: FormerInstance | undefined;
  private readonly builders: Builders = { up: true, dialIp: OLD_IP, passphrase: undefined };
  /** The builders' launch configuration (SERVICES_PRIVATE_IP, CIRCLE_SECRET_PASSPHRASE): what a rotation launches. */
  private launchConfig: { dialIp: string; passphrase: string | undefined } = { dialIp: OLD_IP, passphrase: undefined };
  private tokenRead: string | undefined;
  private buildersRotated = 0;
  private retried = new Set<number>();
  /** Incremented when a machine is lost or replaced: completions of work begun on it no longer report anywhere. */
  private epoch = 0;
  private slotsCpuMilli: number;
  private readonly fleetCpuMilli: number;
  private usedCpuMilli = 0;
  private readonly queueTimes = new SampleSet();
  private webhooksDropped = 0;
  private servicesUpAtMs: number | null = null;
  private disasterAtMs: number | null = null;
  private recordsWrittenAfterBackup = 0;
  private recordsLostAtRestore = 0;
  private stuckFromSnapshot = 0;
  private staleRestored = 0;
  private settingsFailed = 0;
  /** Webhooks GHE sent (delivered or dropped): the number of the next push. */
  private webhooks = 0;
  private settingsRestored = false;
  private readonly createdMs: number[] = [];
  private readonly writesMs: number[] = [];
  private writesSinceBackup = 0;
  private readonly timeline: { at_ms: number; event: string }[] = [];
  private readonly steps: DrStepResult[] = [];
  /** Whether `wipe_nomad_state` ran while the app (and its Nomad server) was running. */
  private wipedUnderRunningApp = false;
  private waitedBehindStale = 0;
  /** The completion event of each build a builder really runs (cancelled when its allocation is killed). */
  private readonly running = new Map<number, EventHandle>();

  constructor(
    private readonly scenario: SettledScenario,
    private readonly runbook: AnyRunbook | undefined,
    private readonly withoutDisaster: boolean,
    /** Stop the run once the runbook's last step is done (an interactive rehearsal shows the state at that instant). */
    private readonly stopAfterRunbook = false,
  ) {
    this.rng = new Rng(scenario.seed);
    this.mix = new JobMix(scenario.workload.jobs);
    const { count, cpus } = scenario.topology.nomadClients;
    // Nomad reserves 2 vCPU on each client (the seeds' reservation); the rest is what builds can use.
    this.fleetCpuMilli = count * Math.max(0, cpus - 2) * 1000;
    this.slotsCpuMilli = this.fleetCpuMilli;
    this.machine = { volume: emptyVolume(OLD_IP, INSTALL_SECRET_TOKEN), primaryIp: OLD_IP, secondaryIp: undefined, appRunning: true };
  }

  private get kind(): string | undefined {
    return this.withoutDisaster ? undefined : this.scenario.disaster?.kind;
  }

  run(maxEvents: number): DrOutcome {
    const { scenario, sim } = this;
    const arrivalsRng = this.rng.fork('arrivals');
    const mixRng = this.rng.fork('mix');
    const buildsRng = this.rng.fork('builds');
    feedArrivals(
      sim,
      createArrivalProcess(scenario.workload.arrivals, arrivalsRng),
      (arrival) => this.webhook(this.mix.indexFor(arrival.job, mixRng), buildsRng),
      { untilMs: scenario.durationMs, delayMs: TIMINGS.webhookDeliveryMs },
    );
    const { backups, disaster, recovery } = scenario;
    if (backups && backups.strategy !== 'replica' && !this.withoutDisaster) {
      // A machine that runs on after its disaster (a settings change) is still backed up by the cron; otherwise
      // the schedule ends at the disaster (a backup due at its instant is not taken: priority after it).
      const lastMs = disaster && disaster.kind !== 'settings_change' ? disaster.atMs : scenario.durationMs;
      for (let at = backups.everyMs; at < lastMs; at += backups.everyMs) sim.scheduleAt(at, this.takeBackup, undefined, 5);
    }
    if (disaster && !this.withoutDisaster) {
      if (backups?.strategy === 'replica') sim.scheduleAt(Math.max(0, disaster.atMs - backups.lagMs), this.captureReplica, undefined, 0);
      sim.scheduleAt(disaster.atMs, this.disaster, undefined, 1);
      if (recovery && this.runbook) sim.scheduleAt(disaster.atMs + recovery.afterMs, this.startRunbook, undefined, 2);
    }
    const endMs = scenario.durationMs + TIMINGS.drainLimitMs;
    const r = sim.run({ untilMs: endMs, maxEvents });
    if (r.reason === 'max-events') throw new Error(`the DR rehearsal of ${scenario.name} exceeded ${maxEvents} events`);
    return this.outcome();
  }

  private readonly webhook = (template: number, buildsRng: Rng): void => {
    // The push's number (dropped ones count): `planReplay`'s key for the same push, which names its project.
    const key = ++this.webhooks;
    const m = this.machine;
    // The frontend is on the Services machine: with it gone or the app stopped, GHE's webhook is dropped for good.
    if (!m || !m.appRunning) {
      this.webhooksDropped++;
      return;
    }
    const t = this.mix.template(template);
    const rng = buildsRng.fork(`build-${this.builds.length + 1}`);
    const cls = this.scenario.topology.resourceClasses[t.resourceClass];
    const d = this.scenario.disaster;
    // Whether a settings change of the scenario's kind would break this build: its job uses contexts, or its project
    // (a draw of its own stream by the push's number, `project-settings.ts`) is among those changed.
    const affected = d?.breaks === 'contexts' ? t.usesContexts : d?.breaks === 'project_settings' ? projectChanged(projectOfWorkflow(this.scenario.seed, key), d.share) : false;
    const build: DrBuild = { id: this.builds.length + 1, triggeredAtMs: this.sim.nowMs, durationMs: Math.max(1, Math.round(sampleDurationMs(t.duration, rng))), cpuMilli: (cls?.cpuMilli ?? 2000) * t.parallelism, afterDisaster: this.disasterAtMs !== null, affected };
    this.builds.push(build);
    this.createdMs.push(this.sim.nowMs);
    this.write(m, build.id, 'queued');
    m.volume.nomad.pending.push(build.id);
    this.place();
  };

  /** A write of a build record (what the next incremental snapshot copies). */
  private write(m: Machine, id: number, status: RecordStatus): void {
    m.volume.records.set(id, status);
    this.writesMs.push(this.sim.nowMs);
    this.writesSinceBackup++;
  }

  /** Whether the machine answers on `ip` (its primary or its secondary address). */
  private holds(m: Machine, ip: string): boolean {
    return m.primaryIp === ip || m.secondaryIp === ip;
  }

  /**
   * Builders reach the Services machine when it holds the IP they dial, replicated binds to its own address, and
   * they can register: builders dialling the original address paired at their first boot; builders launched for
   * another address need the machine's secret token as CIRCLE_SECRET_PASSPHRASE (003, "Discovery").
   */
  private buildersReach(): boolean {
    const m = this.machine;
    const b = this.builders;
    if (!m || !b.up) return false;
    // The rule both runtimes apply (`live-plan.ts`): builders dialling another address than OLD_IP were rotated onto it.
    const pairing = b.dialIp === OLD_IP ? {} : { pairing: { passphrase: b.passphrase, secretToken: m.volume.secretToken } };
    return buildersReachRule({ appRunning: m.appRunning, primaryIp: m.primaryIp, secondaryIp: m.secondaryIp, replicatedIp: m.volume.replicatedIp, dialIp: b.dialIp, ...pairing });
  }

  /** The Nomad server places pending jobs in order while capacity (as it believes it) allows. */
  private place(): void {
    const m = this.machine;
    if (!m || !this.buildersReach()) return;
    const { nomad } = m.volume;
    while (nomad.pending.length > 0) {
      const id = nomad.pending[0]!;
      const build = this.builds[id - 1]!;
      if (this.usedCpuMilli + build.cpuMilli > this.slotsCpuMilli) {
        if (this.staleCpuMilli() > 0) this.waitedBehindStale++;
        return;
      }
      nomad.pending.shift();
      this.usedCpuMilli += build.cpuMilli;
      // A job whose build is queued (or whose record was moved aside) really runs; one already Running is stale.
      const status = m.volume.records.get(id);
      const real = status === 'queued' || status === undefined;
      nomad.allocs.set(id, real);
      if (!real) continue;
      if (status === 'queued') this.write(m, id, 'running');
      // The build reads its project's settings and contexts as it starts.
      build.brokenBySettings = build.affected && m.volume.settingsBroken !== undefined;
      this.queueTimes.add(this.sim.nowMs - build.triggeredAtMs);
      this.running.set(id, this.sim.schedule(build.durationMs, this.finish, { id, epoch: this.epoch }));
    }
  }

  /**
   * Builders that cannot reach the machine when its app starts or an address moves miss their heartbeats: the Nomad
   * server marks their clients down and the allocations on them lost, the restored /opt/nomad's stale ones with them
   * (live: `ServicesMachine.judgeBuilders` on the twin's Nomad server). Real allocations are placed only while the
   * builders reach the machine, and their builds' fates stay the run's own.
   */
  private clientsDown(): void {
    const m = this.machine;
    if (!m || !m.appRunning || this.buildersReach()) return;
    const { allocs } = m.volume.nomad;
    let lost = 0;
    for (const [id, real] of [...allocs]) {
      if (real) continue;
      allocs.delete(id);
      this.usedCpuMilli -= this.builds[id - 1]!.cpuMilli;
      lost++;
    }
    if (lost > 0) this.note(`builders cannot reach the Services machine: their Nomad clients go down and ${lost} stale allocations the restored /opt/nomad brought back are lost with them`);
  }

  private staleAtEnd(): number {
    const m = this.machine;
    return m ? [...m.volume.nomad.allocs.values()].filter((real) => !real).length : 0;
  }

  private staleCpuMilli(): number {
    const m = this.machine;
    if (!m) return 0;
    let sum = 0;
    for (const [id, real] of m.volume.nomad.allocs) if (!real) sum += this.builds[id - 1]!.cpuMilli;
    return sum;
  }

  private readonly finish = ({ id, epoch }: { id: number; epoch: number }): void => {
    // Work begun on a machine since lost or replaced: the agent has nowhere to report.
    if (epoch !== this.epoch) return;
    const m = this.machine!;
    this.running.delete(id);
    const build = this.builds[id - 1]!;
    m.volume.nomad.allocs.delete(id);
    this.usedCpuMilli -= build.cpuMilli;
    // A record moved aside by circleci-restore: output-processor finds no build to record.
    if (!m.volume.records.has(id)) return;
    // With the app stopped or unreachable the agent cannot report: the record stays Running.
    if (!this.buildersReach()) return;
    if (build.brokenBySettings) {
      this.write(m, id, 'failed');
      this.settingsFailed++;
    } else {
      this.write(m, id, 'succeeded');
      build.succeededAtMs = this.sim.nowMs;
    }
    this.place();
  };

  /** A backup: an EBS snapshot copies every store on the root volume at an instant, without stopping anything. */
  private readonly takeBackup = (): void => {
    const m = this.machine;
    if (!m) return;
    const { backups } = this.scenario;
    const previous = this.backups.at(-1);
    const timing = timeBackup(backups!.strategy as Strategy, {
      atMs: this.sim.nowMs,
      previousAtMs: previous?.atMs ?? null,
      recordsTotal: m.volume.records.size,
      writesSincePrevious: this.writesSinceBackup,
      usedVolumeBytes: usedVolumeBytes(this.scenario),
      ...(backups!.copy ? { copyTakesMs: backups!.copy.takesMs } : {}),
    });
    // A tarball is read for its build records and settings only (restore_tarball): circleci-backup does not export /opt/nomad.
    this.backups.push({ ...timing, volume: copyVolume(m.volume) });
    this.writesSinceBackup = 0;
  };

  /** The replica at `lag` before the disaster: /data is replicated; /opt/nomad and /etc/default are the replica's own. */
  private readonly captureReplica = (): void => {
    const v = copyVolume(this.machine!.volume);
    v.nomad = { pending: [], allocs: new Map() };
    v.replicatedIp = REPLICA_IP;
    this.replica = v;
  };

  /** The newest backup taken before the disaster and restorable at it (`newestRestorable`, the rule both runtimes use). */
  private restorable(): Backup | undefined {
    const d = this.disasterAtMs;
    return d === null ? undefined : newestRestorable(this.backups, d, this.kind === 'region_outage');
  }

  private readonly disaster = (): void => {
    const m = this.machine!;
    const kind = this.kind!;
    this.disasterAtMs = this.sim.nowMs;
    if (kind === 'settings_change') {
      m.volume.settingsBroken = this.scenario.disaster!.breaks;
      this.note(`disaster: settings_change (${m.volume.settingsBroken === 'contexts' ? 'the contexts were changed' : `${describeProjectChange(this.scenario.disaster!.share)}`}); the installation runs on`);
      return;
    }
    // What the recovery can bring back: the replica, or the newest restorable backup; the rest written since is lost.
    if (kind === 'region_outage') this.replica = undefined;
    const kept = this.replica?.records ?? this.restorable()?.volume.records;
    for (const id of m.volume.records.keys()) if (!kept?.has(id)) this.recordsWrittenAfterBackup++;
    this.machine = undefined;
    this.epoch++;
    this.running.clear();
    this.usedCpuMilli = 0;
    switch (kind) {
      case 'ebs_corruption':
        this.former = { ip: m.primaryIp, why: 'the instance with the corrupted volume', terminable: true };
        this.note('disaster: ebs_corruption (the datastores cannot read their files: every container fails; the instance keeps its private IP)');
        break;
      case 'az_outage':
        this.former = { ip: m.primaryIp, why: 'the unreachable instance in the failed zone', terminable: false };
        this.note('disaster: az_outage (the Services machine\'s zone is down: its instance is unreachable with its address)');
        break;
      case 'region_outage':
        this.builders.up = false;
        this.slotsCpuMilli = 0;
        this.note('disaster: region_outage (the Services machine, the builders and every backup not copied out of the region are unreachable)');
        break;
      default:
        this.note(`disaster: ${kind} (every container stops, the root volume is deleted with the instance)`);
    }
    if (this.replica) {
      // Cold fail-over: the replica runs with the app stopped until `replicated app <id> start`.
      this.machine = { volume: this.replica, primaryIp: REPLICA_IP, secondaryIp: undefined, appRunning: false };
      this.replica = undefined;
      for (const status of this.machine.volume.records.values()) if (status === 'queued' || status === 'running') this.stuckFromSnapshot++;
      this.note(`the replica in another zone holds the data as of ${formatDurationMs(this.scenario.backups!.lagMs)} before, its app stopped`);
    }
  };

  private readonly startRunbook = (): void => {
    this.note(`recovery starts: runbook ${this.runbook!.name}`);
    this.runStep(0);
  };

  private runStep(index: number): void {
    const order = stepOrder(this.runbook!, this.scenario.recovery!);
    const step = order[index];
    if (!step) {
      if (this.stopAfterRunbook) this.sim.stop();
      return;
    }
    const skipped = this.scenario.recovery!.skip.includes(step.name);
    if (skipped) {
      this.steps.push({ step: step.name, does: step.does, status: 'skipped', started_at_ms: this.sim.nowMs, duration_ms: 0, consequence: '' });
      this.note(`${step.name} skipped`);
      this.runStep(index + 1);
      return;
    }
    const durationMs = Math.round(sampleDurationMs(step.duration, this.rng.fork('dr-runbook').fork(step.name)));
    const startedAtMs = this.sim.nowMs;
    this.sim.schedule(durationMs, () => {
      const consequence = this.apply(step.does);
      const early = ranBefore(step, this.runbook!, this.scenario.recovery!, new Set(this.steps.map((s) => s.step)));
      this.steps.push({ step: step.name, does: step.does, started_at_ms: startedAtMs, duration_ms: durationMs, ...judgeStep(consequence, early) });
      this.note(`${step.name} done: ${consequence}`);
      this.runStep(index + 1);
    });
  }

  /** The backup a restore step reads, or why there is none. */
  private backupFor(strategy: 'ebs_snapshot' | 'tarball'): Backup | string {
    const other = strategy === 'ebs_snapshot' ? 'tarballs' : 'EBS snapshots';
    const what = strategy === 'ebs_snapshot' ? 'snapshot' : 'tarball';
    if (this.scenario.backups?.strategy === 'replica') return `no ${what}: the installation is protected by a replica`;
    if (this.scenario.backups?.strategy !== strategy) return `no ${what}: the backups are ${other}`;
    const b = this.restorable();
    if (b) return b;
    if (this.kind === 'region_outage' && this.backups.some((x) => x.atMs < this.disasterAtMs!)) {
      return this.scenario.backups.copy
        ? `no ${what} copy complete in ${this.scenario.backups.copy.region} before the outage`
        : `no ${what} outside the failed region: the backups stayed in it (backups.copy copies them to another region)`;
    }
    return `no ${what} complete before the disaster`;
  }

  /** One mechanic, applied to the machine's state; returns what it did. */
  private apply(does: AnyMechanic): string {
    const m = this.machine;
    const region = this.kind === 'region_outage' ? ` in ${this.scenario.backups?.copy?.region ?? 'another region'}` : '';
    switch (does) {
      case 'register_image': {
        const b = this.backupFor('ebs_snapshot');
        if (typeof b === 'string') return `${b}: nothing to register`;
        this.image = copyVolume(b.volume);
        return `AMI registered${region} from the ${region ? 'copy of the ' : ''}snapshot of ${formatDurationMs(b.atMs)}`;
      }
      case 'download_backup': {
        const b = this.backupFor('tarball');
        if (typeof b === 'string') return `${b}: nothing to download`;
        this.image = copyVolume(b.volume);
        return `circleci-data-export.tar.bz2 of ${formatDurationMs(b.atMs)} downloaded${region} (${this.image.records.size} build records)`;
      }
      case 'restore_tarball': {
        if (!m) return 'no instance';
        if (!this.image || this.scenario.backups?.strategy !== 'tarball') return 'no tarball downloaded: nothing to restore';
        // circleci-restore on a running install first moves the existing data aside (/data/circleci-restore-*).
        let movedAside = 0;
        for (const id of m.volume.records.keys()) if (!this.image.records.has(id)) movedAside++;
        this.recordsLostAtRestore += movedAside;
        m.volume.records = new Map(this.image.records);
        this.restoreSettings(m, this.image);
        for (const [id, status] of m.volume.records) if ((status === 'queued' || status === 'running') && !this.isLive(m, id)) this.stuckFromSnapshot++;
        this.checkUp();
        this.place();
        return `circleci-restore loaded ${m.volume.records.size} build records${movedAside > 0 ? `; ${movedAside} records written on this install since the backup moved to /data/circleci-restore-*` : ''}${this.settingsRestored ? '; the settings from before the change are back' : ''}`;
      }
      case 'launch_instance': {
        if (this.scenario.backups?.strategy === 'tarball') return this.launch(emptyVolume(this.launchIp(), CLEAN_INSTALL_TOKEN), 'a clean install (no data yet)');
        if (!this.image) return 'no image registered: nothing to launch';
        return this.launch(copyVolume(this.image), 'the restored state');
      }
      case 'reassign_private_ip':
        if (!m) return 'no instance';
        if (m.primaryIp === OLD_IP) return 'nothing to do: the instance has the old private IP';
        if (this.kind === 'region_outage') return `${OLD_IP} cannot be re-associated: it belongs to a subnet of the failed region`;
        // --allow-reassignment takes the address from whatever instance still holds it.
        if (this.former?.ip === OLD_IP) this.former = { ...this.former, ip: '' };
        m.secondaryIp = OLD_IP;
        this.clientsDown();
        this.checkUp();
        this.place();
        return `${OLD_IP} re-associated to the ${m.primaryIp === REPLICA_IP ? 'replica' : 'new instance'} as a secondary IP`;
      case 'stop_app':
        if (!m) return 'no instance';
        m.appRunning = false;
        return 'app stopped (webhooks are dropped until start_app)';
      case 'check_hostname':
        if (!m) return 'no instance';
        if (this.hostnameMatches()) return `hostname ${m.volume.hostname} still reaches the machine`;
        m.volume.hostname = m.primaryIp;
        return `hostname changed to ${m.primaryIp} (and the GitHub OAuth application with it)`;
      case 'update_replicated_ips':
        if (!m) return 'no instance';
        if (m.volume.replicatedIp === m.primaryIp) return `nothing to change: /etc/default/replicated already names ${m.primaryIp}`;
        m.volume.replicatedIp = m.primaryIp;
        return `/etc/default/replicated and replicated-operator now name ${m.primaryIp}`;
      case 'wipe_nomad_state': {
        if (!m) return 'no instance';
        const { allocs, pending } = m.volume.nomad;
        if (m.appRunning) {
          this.wipedUnderRunningApp = true;
          return `no effect: the app was running, and its Nomad server kept its ${allocs.size} allocations and ${pending.length} pending jobs in memory and wrote them back`;
        }
        const n = `${allocs.size} allocations and ${pending.length} pending jobs removed`;
        // Clients kill the allocations the server no longer knows: builds they ran stay Running in the records.
        for (const id of allocs.keys()) {
          const handle = this.running.get(id);
          if (handle !== undefined) this.sim.cancel(handle);
          this.running.delete(id);
        }
        m.volume.nomad = { pending: [], allocs: new Map() };
        this.usedCpuMilli = 0;
        return `/opt/nomad removed: ${n}`;
      }
      case 'start_app':
        if (!m) return 'no instance';
        m.appRunning = true;
        this.clientsDown();
        this.checkUp();
        this.place();
        return this.buildersReach() ? 'app started; builders reach the Services machine' : 'app started, but builders cannot reach the Services machine';
      case 'cleanup_stuck_builds': {
        if (!m) return 'no instance';
        let n = 0;
        for (const [id, status] of m.volume.records) {
          // admin/delete-build on the records left Running with nothing running them.
          if ((status === 'running' || status === 'queued') && !this.isLive(m, id)) {
            this.write(m, id, 'failed');
            n++;
          }
        }
        return `${n} build records left Running or queued with nothing running them marked failed`;
      }
      case 'confirm_primary_dead': {
        const f = this.former;
        if (!f || f.ip === '') return 'the old Services machine is gone: nothing else answers for the installation';
        if (!f.terminable) return `${f.why} cannot be reached to terminate it: confirmed down (it keeps ${f.ip} in its zone's subnet)`;
        this.former = undefined;
        return `${f.why} terminated: ${f.ip} is free`;
      }
      case 'get_secret_token':
        if (!m) return 'no instance';
        this.tokenRead = m.volume.secretToken;
        return `export CIRCLE_SECRET_PASSPHRASE='${m.volume.secretToken}'`;
      case 'update_launch_configuration': {
        if (!m) return 'no instance';
        this.launchConfig = { dialIp: m.primaryIp, passphrase: this.tokenRead };
        return `the builders' launch configuration now names SERVICES_PRIVATE_IP=${m.primaryIp}${this.tokenRead ? ' with CIRCLE_SECRET_PASSPHRASE' : ' without CIRCLE_SECRET_PASSPHRASE (the token was not read)'}`;
      }
      case 'rotate_builders':
        return this.rotateBuilders();
    }
  }

  /**
   * Every builder is terminated and a new one launched from the launch configuration. Nomad marks the old clients'
   * allocations lost and reschedules their jobs: builds they ran are retried (003, "Recovery from outage").
   */
  private rotateBuilders(): string {
    const m = this.machine;
    let requeued = 0;
    if (m) {
      const ids = [...m.volume.nomad.allocs.keys()].sort((a, b) => a - b);
      for (const id of ids) {
        const handle = this.running.get(id);
        if (handle !== undefined) this.sim.cancel(handle);
        this.running.delete(id);
        if (m.volume.records.has(id)) this.write(m, id, 'queued');
        this.retried.add(id);
        requeued++;
      }
      m.volume.nomad.allocs.clear();
      m.volume.nomad.pending.unshift(...ids);
    }
    this.usedCpuMilli = 0;
    this.slotsCpuMilli = this.fleetCpuMilli;
    Object.assign(this.builders, { up: true, dialIp: this.launchConfig.dialIp, passphrase: this.launchConfig.passphrase });
    this.buildersRotated += this.scenario.topology.nomadClients.count;
    this.checkUp();
    this.place();
    const reach = this.buildersReach();
    return `${this.scenario.topology.nomadClients.count} builders replaced, dialling ${this.builders.dialIp}; ${requeued} allocations rescheduled; ${reach ? 'they register with the Services machine' : `they cannot register with the Services machine${this.builders.dialIp !== OLD_IP && this.builders.passphrase === undefined ? ' (no CIRCLE_SECRET_PASSPHRASE for a new address)' : ''}`}`;
  }

  /** Settings from before the change come back with the restored data. */
  private restoreSettings(m: Machine, from: Volume): void {
    if (this.kind === 'settings_change' && from.settingsBroken === undefined) this.settingsRestored = true;
    m.volume.settingsBroken = from.settingsBroken;
  }

  /** The address a new instance is launched with. */
  private launchIp(): string {
    return this.scenario.recovery!.reassignPrivateIp ? NEW_IP : OLD_IP;
  }

  /** Boots an instance on `volume`; Replicated starts the app by itself (the seeds: "if CircleCI doesn't launch automatically"). */
  private launch(volume: Volume, what: string): string {
    const ip = this.launchIp();
    const current = this.machine;
    // RunInstances refuses an address another instance holds (the running one, or the old one still there).
    const holder = current && this.holds(current, ip) ? 'the running Services machine' : this.former?.ip === ip ? this.former.why : undefined;
    if (holder) return runInstancesRefused(ip, holder);
    if (current) {
      // The machine it replaces keeps running elsewhere: what it recorded since the backup stays there.
      for (const id of current.volume.records.keys()) if (!volume.records.has(id)) this.recordsLostAtRestore++;
      this.former = { ip: current.primaryIp === ip ? '' : current.primaryIp, why: 'the replaced Services machine', terminable: true };
      this.epoch++;
      this.running.clear();
    }
    // A clean install is configured with its own address; a restored volume still names the old one.
    if (volume.records.size === 0 && volume.nomad.allocs.size === 0) {
      volume.replicatedIp = ip;
      volume.hostname = ip;
    }
    this.machine = { volume, primaryIp: ip, secondaryIp: undefined, appRunning: true };
    if (current) this.restoreSettings(this.machine, volume);
    this.usedCpuMilli = 0;
    for (const status of volume.records.values()) if (status === 'queued' || status === 'running') this.stuckFromSnapshot++;
    // Every allocation in a restored /opt/nomad is stale: the builders that ran them lost them at the disaster.
    for (const id of [...volume.nomad.allocs.keys()]) {
      volume.nomad.allocs.set(id, false);
      this.usedCpuMilli += this.builds[id - 1]!.cpuMilli;
    }
    this.staleRestored = volume.nomad.allocs.size;
    this.clientsDown();
    this.checkUp();
    this.place();
    return `instance launched${this.kind === 'region_outage' ? ` in ${this.scenario.backups?.copy?.region ?? 'another region'}` : ''} with private IP ${ip}${ip === OLD_IP ? ' (the old one)' : ' (a new one)'}; the app starts on ${what}: ${volume.records.size} build records, ${this.staleRestored} allocations and ${volume.nomad.pending.length} pending jobs in /opt/nomad`;
  }

  /** A record is live when a builder really runs it or it waits in the Nomad server's queue. */
  private isLive(m: Machine, id: number): boolean {
    return m.volume.nomad.allocs.get(id) === true || m.volume.nomad.pending.includes(id);
  }

  /** The installation is up again: builders reach it, and its settings are not the broken ones. */
  private checkUp(): void {
    if (this.servicesUpAtMs === null && this.disasterAtMs !== null && this.buildersReach() && this.machine!.volume.settingsBroken === undefined) {
      this.servicesUpAtMs = this.sim.nowMs;
      this.note('every service up and builders reach the Services machine');
    }
  }

  private note(event: string): void {
    this.timeline.push({ at_ms: this.sim.nowMs, event });
  }

  private outcome(): DrOutcome {
    const m = this.machine;
    const counts = { triggered: this.builds.length, succeeded: 0, failed: 0, lost: 0, stuck: 0, not_triggered: this.webhooksDropped, retried: this.retried.size };
    for (const b of this.builds) {
      const status = m?.volume.records.get(b.id);
      if (status === 'succeeded') counts.succeeded++;
      else if (status === 'failed') counts.failed++;
      else if (status === undefined) counts.lost++;
      else counts.stuck++;
    }
    // The first new build whose success the restored installation still records (not one moved aside by a restore);
    // after a settings change, the first new one of those the change broke.
    const settings = this.kind === 'settings_change';
    let first: DrBuild | undefined;
    for (const b of this.builds) {
      if (!b.afterDisaster || b.succeededAtMs === undefined || (settings && !b.affected) || m?.volume.records.get(b.id) !== 'succeeded') continue;
      if (first === undefined || b.succeededAtMs < first.succeededAtMs!) first = b;
    }
    const firstNewSuccessAtMs = first?.succeededAtMs ?? null;
    const timeline = [...this.timeline];
    if (first) timeline.push({ at_ms: first.succeededAtMs!, event: `first build triggered after the disaster${settings ? ' of those the change broke' : ''} succeeded and recorded (build ${first.id})` });
    timeline.sort((a, b) => a.at_ms - b.at_ms);
    const staleAtEnd = this.staleAtEnd();
    const d = this.disasterAtMs;
    const restored = this.restorable();
    const lagMs = this.scenario.backups?.strategy === 'replica' && this.kind !== 'region_outage' ? this.scenario.backups.lagMs : null;
    const reach = this.buildersReach();
    return {
      builds: counts,
      queueTimeMs: this.queueTimes.percentiles(),
      webhooksDropped: this.webhooksDropped,
      rtoMs: d !== null && firstNewSuccessAtMs !== null && this.servicesUpAtMs !== null ? Math.max(firstNewSuccessAtMs, this.servicesUpAtMs) - d : null,
      rpoMs: d === null ? null : lagMs !== null ? lagMs : restored ? d - restored.atMs : null,
      servicesUpAtMs: this.servicesUpAtMs,
      firstNewSuccessAtMs,
      backupsTaken: this.backups.length,
      restoredFromMs: this.image && restored ? restored.atMs : null,
      recordsWrittenAfterBackup: this.recordsWrittenAfterBackup,
      stuckFromSnapshot: this.stuckFromSnapshot,
      staleAllocationsRestored: this.staleRestored,
      staleAllocationsAtEnd: staleAtEnd,
      nomadCpuMilli: this.fleetCpuMilli,
      buildersReachAtEnd: reach,
      hostnameMatchesAtEnd: this.hostnameMatches(),
      runbook: this.steps.map((s) => (s.status === 'skipped' ? { ...s, consequence: this.skippedConsequence(s.does) } : s)),
      timeline,
      endedAtMs: this.sim.nowMs,
      events: this.sim.eventsFired,
      sim: {
        backups: this.backups.map((b) => this.backupRecord(b, restored)),
        recordsLostAtRestore: this.recordsLostAtRestore,
        buildersRotated: this.buildersRotated,
        buildersReconnected: reach && this.buildersRotated === 0 ? this.scenario.topology.nomadClients.count : 0,
        settings: { broken: this.kind === 'settings_change' ? this.scenario.disaster!.breaks! : null, buildsFailed: this.settingsFailed, restored: this.settingsRestored },
        writes: { createdMs: this.createdMs, writesMs: this.writesMs },
      },
      machine: this.machineView(),
    };
  }

  private machineView(): DrMachineView {
    const m = this.machine;
    const stuckRecords: number[] = [];
    for (const [id, status] of m?.volume.records ?? []) if ((status === 'running' || status === 'queued') && !this.isLive(m!, id)) stuckRecords.push(id);
    const d = this.disasterAtMs;
    const restorable = this.restorable();
    return {
      backupsAtMs: this.backups.filter((b) => d === null || b.atMs < d).map((b) => b.atMs),
      restorableAtMs: restorable?.atMs ?? null,
      imageFromMs: this.image && restorable ? restorable.atMs : null,
      instance: m
        ? {
            primaryIp: m.primaryIp,
            secondaryIp: m.secondaryIp,
            appRunning: m.appRunning,
            replicatedIp: m.volume.replicatedIp,
            hostname: m.volume.hostname,
            secretToken: m.volume.secretToken,
            allocations: m.volume.nomad.allocs.size,
            staleAllocations: [...m.volume.nomad.allocs.values()].filter((real) => !real).length,
            pendingJobs: m.volume.nomad.pending.length,
            buildersReach: this.buildersReach(),
          }
        : null,
      stuckRecords: stuckRecords.sort((a, b) => a - b),
    };
  }

  private backupRecord(b: Backup, restored: Backup | undefined): BackupRecord {
    const d = this.disasterAtMs;
    const refMs = d ?? this.scenario.durationMs;
    const { usable, note } = judgeBackup(b, { disasterAtMs: d, kind: this.kind, restored: b === restored });
    return { at_ms: b.atMs, size_bytes: b.sizeBytes, duration_ms: b.durationMs, completed_at_ms: b.completedAtMs, ...(b.copiedAtMs === undefined ? {} : { copied_at_ms: b.copiedAtMs }), age_ms: b.atMs >= refMs ? null : refMs - b.atMs, usable, note };
  }

  /** What skipping a step cost, read from the state the run ended in (not from the runbook). */
  private skippedConsequence(does: AnyMechanic): string {
    const m = this.machine;
    switch (does) {
      case 'register_image':
      case 'download_backup':
      case 'restore_tarball':
      case 'launch_instance':
        if (this.kind === 'settings_change') return m?.volume.settingsBroken ? `the settings stayed changed: ${this.settingsFailed} builds failed because of them` : 'none observed';
        return m ? 'none observed' : `no Services machine came back: ${this.webhooksDropped} webhooks dropped, nothing recovered`;
      case 'reassign_private_ip':
      case 'update_replicated_ips':
        if (!m) return 'no Services machine';
        if (this.buildersReach()) return `none: builders reach the Services machine (private IP ${m.primaryIp})`;
        if (this.holds(m, this.builders.dialIp) && m.volume.replicatedIp === m.primaryIp) {
          const why = !m.appRunning ? 'the app is not running' : !this.builders.up ? 'no builders run' : 'they dial a new address without its CIRCLE_SECRET_PASSPHRASE';
          return `none of its own: builders dial ${this.builders.dialIp}, which the instance holds and replicated names; they cannot reach it because ${why}`;
        }
        return unreachedConsequence({ dialIp: this.builders.dialIp, holdsDial: this.holds(m, this.builders.dialIp), replicatedIp: m.volume.replicatedIp, primaryIp: m.primaryIp, neverPlaced: this.countStatus('queued') });
      case 'stop_app':
        return this.wipedUnderRunningApp ? 'wipe_nomad_state ran under a running Nomad server and had no effect (see its consequence)' : 'the app kept taking webhooks during the reconciliation';
      case 'check_hostname':
        return this.hostnameMatches() ? 'none: the hostname still reaches the machine' : `the console's hostname ${m?.volume.hostname} no longer reaches the machine: UI logins through GitHub OAuth fail`;
      case 'wipe_nomad_state':
        return skippedWipeConsequence({ restored: this.staleRestored, atEnd: this.staleAtEnd(), heldPercent: Math.round((100 * this.staleCpuMilli()) / Math.max(1, this.fleetCpuMilli)), waitedBehind: this.waitedBehindStale });
      case 'start_app':
        return m?.appRunning ? 'none: the app was still running from the image boot' : `the app never started: ${this.webhooksDropped} webhooks dropped`;
      case 'cleanup_stuck_builds':
        return `${this.countStatus('running') + this.countStatus('queued')} build records left Running or queued`;
      case 'confirm_primary_dead':
        return this.former && this.former.ip !== '' ? `${this.former.why} still holds ${this.former.ip}${this.former.terminable ? ': RunInstances cannot reuse that address' : ''}` : 'none observed: no old instance held an address';
      case 'get_secret_token':
      case 'update_launch_configuration':
      case 'rotate_builders':
        if (this.buildersReach()) return `none: builders reach the Services machine (dialling ${this.builders.dialIp})`;
        return this.builders.up ? `builders dial ${this.builders.dialIp}${this.builders.dialIp === OLD_IP ? '' : this.builders.passphrase === undefined ? ' without CIRCLE_SECRET_PASSPHRASE' : ''} and cannot register with the Services machine${m ? ` at ${m.primaryIp}` : ''}` : 'no builders: the fleet was lost and none was launched';
    }
  }

  private hostnameMatches(): boolean {
    const m = this.machine;
    return m !== undefined && (m.volume.hostname === m.primaryIp || m.volume.hostname === m.secondaryIp);
  }

  private countStatus(status: RecordStatus): number {
    let n = 0;
    for (const s of this.machine?.volume.records.values() ?? []) if (s === status) n++;
    return n;
  }
}

/** `launch_instance`'s consequence when another instance holds the address (both runtimes' words). */
export function runInstancesRefused(ip: string, holder: string): string {
  return `RunInstances refused: ${ip} is in use by ${holder} (launch with a new address and reassign_private_ip, or terminate it first)`;
}

function emptyVolume(ip: string, token: string): Volume {
  return { records: new Map(), nomad: { pending: [], allocs: new Map() }, replicatedIp: ip, hostname: ip, settingsBroken: undefined, secretToken: token };
}

function copyVolume(v: Volume): Volume {
  return { ...v, records: new Map(v.records), nomad: { pending: [...v.nomad.pending], allocs: new Map(v.nomad.allocs) } };
}
