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
import { judgeStep, ranBefore, stepOrder, type DrMechanic, type Runbook } from './runbook.ts';

/**
 * A disaster-recovery rehearsal in virtual time: backups on a schedule, the Services machine terminated, the
 * runbook's steps run one after another, and builds arriving throughout. The Services machine is a set of stores
 * (build records, Nomad's `/opt/nomad`, `/etc/default/replicated`, the console's hostname); a backup copies them at
 * an instant, the disaster deletes them, a restore brings back the copy. What each skipped step costs is not
 * looked up: it follows from the state the restored machine is left in (stale Nomad allocations hold capacity,
 * the wrong IP leaves builders unable to reach it, records restored as Running stay Running).
 */

/** A build record's state in the Services machine's databases. */
type RecordStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** The old private IP of the Services machine (what builders were configured with at startup) and a new one. */
export const OLD_IP = '10.0.1.10';
export const NEW_IP = '10.0.1.77';

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
}

interface Machine {
  volume: Volume;
  primaryIp: string;
  secondaryIp: string | undefined;
  appRunning: boolean;
}

export interface DrStepResult {
  step: string;
  does: DrMechanic;
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
  /** The Services machine as the run left it (the simulation fills it; `twin dr --interactive` shows it). */
  machine?: DrMachineView;
}

/** What a person at the Services machine sees of the rehearsal's state: the instance, its files, Nomad, the records. */
export interface DrMachineView {
  /** Instants of the backups taken before the disaster, in order. */
  backupsAtMs: number[];
  /** The AMI (or downloaded tarball) the restore runs from: its backup's instant; null before `register_image`. */
  imageFromMs: number | null;
  instance: { primaryIp: string; secondaryIp: string | undefined; appRunning: boolean; replicatedIp: string; hostname: string; allocations: number; staleAllocations: number; pendingJobs: number; buildersReach: boolean } | null;
  /** Build ids whose records are queued or Running with nothing running them (what `admin/delete-build` cleans). */
  stuckRecords: number[];
}

/** Runs one rehearsal; `withoutDisaster` gives the baseline (the same arrivals and builds, nothing destroyed). */
export function rehearse(scenario: SettledScenario, runbook: Runbook | undefined, opts: { withoutDisaster?: boolean; maxEvents?: number; stopAfterRunbook?: boolean } = {}): DrOutcome {
  return new DrRehearsal(scenario, runbook, opts.withoutDisaster ?? false, opts.stopAfterRunbook ?? false).run(opts.maxEvents ?? DR_MAX_EVENTS);
}

class DrRehearsal {
  private readonly sim = new Simulation();
  private readonly rng: Rng;
  private readonly mix: JobMix;
  private readonly builds: DrBuild[] = [];
  private machine: Machine | undefined;
  private image: Volume | undefined;
  private snapshot: { atMs: number; volume: Volume } | undefined;
  private backupsTaken = 0;
  private readonly backupsAtMs: number[] = [];
  /** Incremented at the disaster: completions of work begun on the old machine no longer report anywhere. */
  private epoch = 0;
  private readonly slotsCpuMilli: number;
  private usedCpuMilli = 0;
  private readonly queueTimes = new SampleSet();
  private webhooksDropped = 0;
  private webhooksSent = 0;
  private servicesUpAtMs: number | null = null;
  private disasterAtMs: number | null = null;
  private recordsWrittenAfterBackup = 0;
  private stuckFromSnapshot = 0;
  private staleRestored = 0;
  private readonly timeline: { at_ms: number; event: string }[] = [];
  private readonly steps: DrStepResult[] = [];
  /** Whether `wipe_nomad_state` ran while the app (and its Nomad server) was running. */
  private wipedUnderRunningApp = false;
  private waitedBehindStale = 0;
  /** The completion event of each build a builder really runs (cancelled when its allocation is killed). */
  private readonly running = new Map<number, EventHandle>();

  constructor(
    private readonly scenario: SettledScenario,
    private readonly runbook: Runbook | undefined,
    private readonly withoutDisaster: boolean,
    /** Stop the run once the runbook's last step is done (an interactive rehearsal shows the state at that instant). */
    private readonly stopAfterRunbook = false,
  ) {
    this.rng = new Rng(scenario.seed);
    this.mix = new JobMix(scenario.workload.jobs);
    const { count, cpus } = scenario.topology.nomadClients;
    // Nomad reserves 2 vCPU on each client (the seeds' reservation); the rest is what builds can use.
    this.slotsCpuMilli = count * Math.max(0, cpus - 2) * 1000;
    this.machine = { volume: emptyVolume(), primaryIp: OLD_IP, secondaryIp: undefined, appRunning: true };
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
    if (backups && !this.withoutDisaster) {
      const lastMs = disaster ? disaster.atMs : scenario.durationMs;
      // A backup due at the instant of the disaster is not taken: the machine is gone (priority: after the disaster).
      for (let at = backups.everyMs; at < lastMs; at += backups.everyMs) sim.scheduleAt(at, this.takeBackup, undefined, 5);
    }
    if (disaster && !this.withoutDisaster) {
      sim.scheduleAt(disaster.atMs, this.disaster, undefined, 1);
      if (recovery && this.runbook) sim.scheduleAt(disaster.atMs + recovery.afterMs, this.startRunbook, undefined, 2);
    }
    const endMs = scenario.durationMs + TIMINGS.drainLimitMs;
    const r = sim.run({ untilMs: endMs, maxEvents });
    if (r.reason === 'max-events') throw new Error(`the DR rehearsal of ${scenario.name} exceeded ${maxEvents} events`);
    return this.outcome();
  }

  private readonly webhook = (template: number, buildsRng: Rng): void => {
    this.webhooksSent++;
    const m = this.machine;
    // The frontend is on the Services machine: with it gone or the app stopped, GHE's webhook is dropped for good.
    if (!m || !m.appRunning) {
      this.webhooksDropped++;
      return;
    }
    const t = this.mix.template(template);
    const cls = this.scenario.topology.resourceClasses[t.resourceClass];
    const id = this.builds.length + 1;
    const rng = buildsRng.fork(`build-${id}`);
    const build: DrBuild = { id, triggeredAtMs: this.sim.nowMs, durationMs: Math.max(1, Math.round(sampleDurationMs(t.duration, rng))), cpuMilli: (cls?.cpuMilli ?? 2000) * t.parallelism, afterDisaster: this.disasterAtMs !== null };
    this.builds.push(build);
    m.volume.records.set(id, 'queued');
    m.volume.nomad.pending.push(id);
    this.place();
  };

  /** Builders reach the Services machine when it holds the IP they dial and replicated binds to its own address. */
  private buildersReach(): boolean {
    const m = this.machine;
    if (!m || !m.appRunning) return false;
    const holdsOld = m.primaryIp === OLD_IP || m.secondaryIp === OLD_IP;
    return holdsOld && m.volume.replicatedIp === m.primaryIp;
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
      if (status === 'queued') m.volume.records.set(id, 'running');
      this.queueTimes.add(this.sim.nowMs - build.triggeredAtMs);
      this.running.set(id, this.sim.schedule(build.durationMs, this.finish, { id, epoch: this.epoch }));
    }
  }

  private staleCpuMilli(): number {
    const m = this.machine;
    if (!m) return 0;
    let sum = 0;
    for (const [id, real] of m.volume.nomad.allocs) if (!real) sum += this.builds[id - 1]!.cpuMilli;
    return sum;
  }

  private readonly finish = ({ id, epoch }: { id: number; epoch: number }): void => {
    // Work begun before the disaster: the agent lost its Services machine and has nowhere to report.
    if (epoch !== this.epoch) return;
    const m = this.machine!;
    this.running.delete(id);
    // A record moved aside by circleci-restore: output-processor finds no build to record.
    if (!m.volume.records.has(id)) {
      m.volume.nomad.allocs.delete(id);
      this.usedCpuMilli -= this.builds[id - 1]!.cpuMilli;
      return;
    }
    m.volume.nomad.allocs.delete(id);
    const build = this.builds[id - 1]!;
    this.usedCpuMilli -= build.cpuMilli;
    // With the app stopped or unreachable the agent cannot report: the record stays Running.
    if (!this.buildersReach()) return;
    m.volume.records.set(id, 'succeeded');
    build.succeededAtMs = this.sim.nowMs;
    this.place();
  };

  /** A backup: an EBS snapshot copies every store on the root volume at an instant, without stopping anything. */
  private readonly takeBackup = (): void => {
    if (!this.machine) return;
    // A tarball is read for its build records only (restore_tarball): circleci-backup does not export /opt/nomad.
    this.snapshot = { atMs: this.sim.nowMs, volume: copyVolume(this.machine.volume) };
    this.backupsTaken++;
    this.backupsAtMs.push(this.sim.nowMs);
  };

  private readonly disaster = (): void => {
    const m = this.machine!;
    this.disasterAtMs = this.sim.nowMs;
    const snapRecords = this.snapshot?.volume.records;
    for (const id of m.volume.records.keys()) if (!snapRecords?.has(id)) this.recordsWrittenAfterBackup++;
    this.machine = undefined;
    this.epoch++;
    this.running.clear();
    this.usedCpuMilli = 0;
    this.note(`disaster: ${this.scenario.disaster!.kind} (every container stops, the root volume is deleted with the instance)`);
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

  /** One mechanic, applied to the machine's state; returns what it did. */
  private apply(does: DrMechanic): string {
    const m = this.machine;
    switch (does) {
      case 'register_image':
        if (!this.snapshot) return 'no snapshot taken before the disaster: nothing to register';
        if (this.scenario.backups?.strategy !== 'ebs_snapshot') return 'no EBS snapshot to register: the backups are tarballs';
        this.image = copyVolume(this.snapshot.volume);
        return `AMI registered from the snapshot of ${formatDurationMs(this.snapshot.atMs)}`;
      case 'download_backup':
        if (!this.snapshot) return 'no tarball written before the disaster: nothing to download';
        if (this.scenario.backups?.strategy !== 'tarball') return 'no tarball to download: the backups are EBS snapshots';
        this.image = copyVolume(this.snapshot.volume);
        return `circleci-data-export.tar.bz2 of ${formatDurationMs(this.snapshot.atMs)} downloaded (${this.image.records.size} build records)`;
      case 'restore_tarball': {
        if (!m) return 'no instance';
        if (!this.image || this.scenario.backups?.strategy !== 'tarball') return 'no tarball downloaded: nothing to restore';
        // circleci-restore on a running install first moves the existing data aside (/data/circleci-restore-*).
        const movedAside = m.volume.records.size;
        m.volume.records = new Map(this.image.records);
        for (const status of m.volume.records.values()) if (status === 'queued' || status === 'running') this.stuckFromSnapshot++;
        return `circleci-restore loaded ${m.volume.records.size} build records${movedAside > 0 ? `; ${movedAside} records written on this install since it booted moved to /data/circleci-restore-*` : ''}`;
      }
      case 'launch_instance': {
        if (this.scenario.backups?.strategy === 'tarball') return this.launch(emptyVolume(), 'a clean install (no data yet)');
        if (!this.image) return 'no image registered: nothing to launch';
        return this.launch(copyVolume(this.image), 'the restored state');
      }
      case 'reassign_private_ip':
        if (!m) return 'no instance';
        if (m.primaryIp === OLD_IP) return 'nothing to do: the instance has the old private IP';
        m.secondaryIp = OLD_IP;
        this.checkUp();
        this.place();
        return `${OLD_IP} re-associated to the new instance as a secondary IP`;
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
        this.checkUp();
        this.place();
        return this.buildersReach() ? 'app started; builders reach the Services machine' : 'app started, but builders cannot reach the Services machine';
      case 'cleanup_stuck_builds': {
        if (!m) return 'no instance';
        let n = 0;
        for (const [id, status] of m.volume.records) {
          // admin/delete-build on the records left Running with nothing running them.
          if ((status === 'running' || status === 'queued') && !this.isLive(m, id)) {
            m.volume.records.set(id, 'failed');
            n++;
          }
        }
        return `${n} build records left Running or queued with nothing running them marked failed`;
      }
    }
  }

  /** Boots an instance on `volume`; Replicated starts the app by itself (the seeds: "if CircleCI doesn't launch automatically"). */
  private launch(volume: Volume, what: string): string {
    const ip = this.scenario.recovery!.reassignPrivateIp ? NEW_IP : OLD_IP;
    // A clean install is configured with its own address; a restored volume still names the old one.
    if (volume.records.size === 0 && volume.nomad.allocs.size === 0) {
      volume.replicatedIp = ip;
      volume.hostname = ip;
    }
    this.machine = { volume, primaryIp: ip, secondaryIp: undefined, appRunning: true };
    this.usedCpuMilli = 0;
    for (const status of volume.records.values()) if (status === 'queued' || status === 'running') this.stuckFromSnapshot++;
    // Every allocation in a restored /opt/nomad is stale: the builders that ran them lost them at the disaster.
    for (const id of [...volume.nomad.allocs.keys()]) {
      volume.nomad.allocs.set(id, false);
      this.usedCpuMilli += this.builds[id - 1]!.cpuMilli;
    }
    this.staleRestored = volume.nomad.allocs.size;
    this.checkUp();
    this.place();
    return `instance launched with private IP ${ip}${ip === OLD_IP ? ' (the old one)' : ' (a new one)'}; the app starts on ${what}: ${volume.records.size} build records, ${volume.nomad.allocs.size} allocations and ${volume.nomad.pending.length} pending jobs in /opt/nomad`;
  }

  /** A record is live when a builder really runs it or it waits in the Nomad server's queue. */
  private isLive(m: Machine, id: number): boolean {
    return m.volume.nomad.allocs.get(id) === true || m.volume.nomad.pending.includes(id);
  }

  private checkUp(): void {
    if (this.servicesUpAtMs === null && this.buildersReach()) {
      this.servicesUpAtMs = this.sim.nowMs;
      this.note('every service up and builders reach the Services machine');
    }
  }

  private note(event: string): void {
    this.timeline.push({ at_ms: this.sim.nowMs, event });
  }

  private outcome(): DrOutcome {
    const m = this.machine;
    const counts = { triggered: this.builds.length, succeeded: 0, failed: 0, lost: 0, stuck: 0, not_triggered: this.webhooksDropped, retried: 0 };
    for (const b of this.builds) {
      const status = m?.volume.records.get(b.id);
      if (status === 'succeeded') counts.succeeded++;
      else if (status === 'failed') counts.failed++;
      else if (status === undefined) counts.lost++;
      else counts.stuck++;
    }
    // The first new build whose success the restored installation still records (not one moved aside by a restore).
    let first: DrBuild | undefined;
    for (const b of this.builds) if (b.afterDisaster && b.succeededAtMs !== undefined && m?.volume.records.get(b.id) === 'succeeded' && (first === undefined || b.succeededAtMs < first.succeededAtMs!)) first = b;
    const firstNewSuccessAtMs = first?.succeededAtMs ?? null;
    const timeline = [...this.timeline];
    if (first) timeline.push({ at_ms: first.succeededAtMs!, event: `first build triggered after the disaster succeeded and recorded (build ${first.id})` });
    timeline.sort((a, b) => a.at_ms - b.at_ms);
    const staleAtEnd = m ? [...m.volume.nomad.allocs.values()].filter((real) => !real).length : 0;
    const d = this.disasterAtMs;
    return {
      builds: counts,
      queueTimeMs: this.queueTimes.percentiles(),
      webhooksDropped: this.webhooksDropped,
      rtoMs: d !== null && firstNewSuccessAtMs !== null && this.servicesUpAtMs !== null ? Math.max(firstNewSuccessAtMs, this.servicesUpAtMs) - d : null,
      rpoMs: d !== null && this.snapshot ? d - this.snapshot.atMs : null,
      servicesUpAtMs: this.servicesUpAtMs,
      firstNewSuccessAtMs,
      backupsTaken: this.backupsTaken,
      restoredFromMs: this.image && this.snapshot ? this.snapshot.atMs : null,
      recordsWrittenAfterBackup: this.recordsWrittenAfterBackup,
      stuckFromSnapshot: this.stuckFromSnapshot,
      staleAllocationsRestored: this.staleRestored,
      staleAllocationsAtEnd: staleAtEnd,
      nomadCpuMilli: this.slotsCpuMilli,
      buildersReachAtEnd: this.buildersReach(),
      hostnameMatchesAtEnd: this.hostnameMatches(),
      runbook: this.steps.map((s) => (s.status === 'skipped' ? { ...s, consequence: this.skippedConsequence(s.does) } : s)),
      timeline,
      endedAtMs: this.sim.nowMs,
      events: this.sim.eventsFired,
      machine: this.machineView(),
    };
  }

  private machineView(): DrMachineView {
    const m = this.machine;
    const stuckRecords: number[] = [];
    for (const [id, status] of m?.volume.records ?? []) if ((status === 'running' || status === 'queued') && !this.isLive(m!, id)) stuckRecords.push(id);
    return {
      backupsAtMs: [...this.backupsAtMs],
      imageFromMs: this.image && this.snapshot ? this.snapshot.atMs : null,
      instance: m
        ? {
            primaryIp: m.primaryIp,
            secondaryIp: m.secondaryIp,
            appRunning: m.appRunning,
            replicatedIp: m.volume.replicatedIp,
            hostname: m.volume.hostname,
            allocations: m.volume.nomad.allocs.size,
            staleAllocations: [...m.volume.nomad.allocs.values()].filter((real) => !real).length,
            pendingJobs: m.volume.nomad.pending.length,
            buildersReach: this.buildersReach(),
          }
        : null,
      stuckRecords: stuckRecords.sort((a, b) => a - b),
    };
  }

  /** What skipping a step cost, read from the state the run ended in (not from the runbook). */
  private skippedConsequence(does: DrMechanic): string {
    const m = this.machine;
    switch (does) {
      case 'register_image':
      case 'download_backup':
      case 'restore_tarball':
      case 'launch_instance':
        return m ? 'none observed' : `no Services machine came back: ${this.webhooksDropped} webhooks dropped, nothing recovered`;
      case 'reassign_private_ip':
      case 'update_replicated_ips':
        if (!m) return 'no Services machine';
        if (this.buildersReach()) return `none: builders reach the Services machine (private IP ${m.primaryIp})`;
        return m.primaryIp === OLD_IP || m.secondaryIp === OLD_IP
          ? `builders cannot reach the Services machine: replicated names ${m.volume.replicatedIp}, the instance's address is ${m.primaryIp}; ${this.countStatus('queued')} builds never placed`
          : `builders dial ${OLD_IP}, which no instance holds: they cannot reach the Services machine; ${this.countStatus('queued')} builds never placed`;
      case 'stop_app':
        return this.wipedUnderRunningApp ? 'wipe_nomad_state ran under a running Nomad server and had no effect (see its consequence)' : 'the app kept taking webhooks during the reconciliation';
      case 'check_hostname':
        return this.hostnameMatches() ? 'none: the hostname still reaches the machine' : `the console's hostname ${m?.volume.hostname} no longer reaches the machine: UI logins through GitHub OAuth fail`;
      case 'wipe_nomad_state':
        return this.staleRestored === 0
          ? 'none: the snapshot held no allocations'
          : `the restored /opt/nomad kept ${this.staleRestored} stale allocations holding ${Math.round((100 * this.staleCpuMilli()) / Math.max(1, this.slotsCpuMilli))}% of the fleet's CPU at the end; new builds waited behind them ${this.waitedBehindStale} times`;
      case 'start_app':
        return m?.appRunning ? 'none: the app was still running from the image boot' : `the app never started: ${this.webhooksDropped} webhooks dropped`;
      case 'cleanup_stuck_builds':
        return `${this.countStatus('running') + this.countStatus('queued')} build records left Running or queued`;
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

function emptyVolume(): Volume {
  return { records: new Map(), nomad: { pending: [], allocs: new Map() }, replicatedIp: OLD_IP, hostname: OLD_IP };
}

function copyVolume(v: Volume): Volume {
  return { records: new Map(v.records), nomad: { pending: [...v.nomad.pending], allocs: new Map(v.nomad.allocs) }, replicatedIp: v.replicatedIp, hostname: v.hostname };
}

