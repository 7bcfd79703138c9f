import {
  AssignPrivateIpAddressesCommand,
  CreateSnapshotCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RegisterImageCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance as SdkInstance,
} from '@aws-sdk/client-ec2';
import { loadProfile } from '../../fixtures/load.ts';
import { LiveStack } from '../live/stack.ts';
import { liveBackends } from '../live/backends.ts';
import { FOLLOWED_REPO } from '../live/pipeline-services.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { REPLAY_CONTEXTS, workflowConfig } from '../live/replay/config.ts';
import { StartedEc2Api } from '../ec2/server.ts';
import type { StartedFakeGithub } from '../github/server.ts';
import type { StartedPostgres } from '../providers/index.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import type { Runbook, RunbookStep } from '../../sim/models/dr/runbook.ts';
import { judgeStep, ranBefore, reassociatesBuilders, stepOrder } from '../../sim/models/dr/runbook.ts';
import { BuildersRotation } from './builders-rotation.ts';
import { buildDrReport, type DrReport } from '../../sim/models/dr/dr-report.ts';
import { INSTALL_SECRET_TOKEN, rehearse, runInstancesRefused, type DrOutcome, type DrStepResult } from '../../sim/models/dr/dr-rehearsal.ts';
import { planLiveDr, pushPhase, skippedWipeConsequence, unreachedConsequence, type LiveDrPlan, type PushPhase } from '../../sim/models/dr/live-plan.ts';
import { SampleSet } from '../../sim/metrics/percentiles.ts';
import { ServicesMachine, SERVICES_TAG } from './services-machine.ts';
import { consoleHostname, replicatedAddresses, setConsoleHostname, updateReplicatedAddresses } from './services-volume.ts';
import type { LiveDisasterKind, LiveKindContext } from './live-kinds/types.ts';
import { LiveSettingsChange } from './live-kinds/settings-change.ts';
import { LiveEbsCorruption } from './live-kinds/ebs-corruption.ts';
import { LiveProjectSettingsChange, projectSettingsStack } from './live-kinds/project-settings.ts';

/** The disasters done live other than TerminateInstances (`harness/dr/live-kinds/`), by `disaster.kind`. */
const LIVE_KINDS: Readonly<Record<string, (s: SettledScenario) => LiveDisasterKind>> = {
  settings_change: (s) => (s.disaster!.breaks === 'project_settings' ? new LiveProjectSettingsChange(s) : new LiveSettingsChange()),
  ebs_corruption: () => new LiveEbsCorruption(),
};
import type { LiveFailover } from './live-kinds/failover.ts';
import { ReplicaFailover } from './live-kinds/az-outage.ts';
import { RegionOutage } from './live-kinds/region-outage.ts';

/** Documented ports at 16000 + port: clear of `twin up`'s 10000 and the live tests' 14000. */
export const DR_PORT_OFFSET = 16_000;
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** Bound on every wait for an EC2 transition or a health check (wall ms): the app's second start on a restored machine took more than 120 s at load 17-35 (2026-12-07). */
const WAIT_LIMIT_MS = 240_000;
/** How long after the disaster pushes go on at most while the installation is not back (wall ms). */
const OUTAGE_LIMIT_MS = 150_000;
/** How long the builds triggered after the restore get to finish (wall ms). */
const DRAIN_LIMIT_MS = 60_000;
/** How long the builds after the restore are watched when the builders cannot reach the machine (wall ms). */
const UNREACHED_DRAIN_MS = 15_000;
const POLL_MS = 250;
/** Pushes built by the restored installation before the workload stops. */
const PUSHES_AFTER_RESTORE = 3;

/** An operating error of a live rehearsal (the stack did not boot, a wait ran out): what, and what to try. */
export class LiveDrError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'LiveDrError';
  }
}

/** A push the rehearsal made, and what became of it. */
export interface LivePush {
  sha: string;
  plannedAtMs: number;
  /** Wall ms when GHE's push returned (its webhook answered). */
  wallMs: number;
  /**
   * Wall ms when the push was sent. A push in flight across an instant (the rollback's replacement) was written by
   * the machine that answered it, before that instant when delivered: judge which machine took it by this one.
   */
  sentWallMs: number;
  phase: PushPhase;
  /** frontend answered GHE's delivery with 200 (a build row was written). */
  delivered: boolean;
  /** A job of its workflow names a context. */
  usesContexts: boolean;
  /** The project (repository) it was pushed to. */
  repo: string;
}

/** What the test (or a caller) may look at before the stack goes away. */
export interface LiveDrInspection {
  postgres: StartedPostgres;
  pushes: readonly LivePush[];
  machine: ServicesMachine;
  /** The builders' rotation, when the runbook re-associates them. */
  rotation?: BuildersRotation;
}

export interface LiveDrOptions {
  log?: (line: string) => void;
  portOffset?: number;
  /** Called with the restored installation once the rehearsal is measured, before teardown. */
  inspect?: (i: LiveDrInspection) => Promise<void>;
  /** The rehearsal's class: `LiveRun` (EBS snapshots) or one extending it (`TarballRun` of tarball-rehearsal.ts, `live-interactive.ts`'s typed steps). */
  runner?: typeof LiveRun;
  /** The report's rerun line (default: this scenario with --mode live). */
  replay?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string | (() => string), probe: () => Promise<T | undefined>, limitMs = WAIT_LIMIT_MS): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new LiveDrError(`live DR: timed out after ${limitMs} ms waiting for ${typeof what === 'string' ? what : what()}`, 'the machine may be loaded: check `uptime`, then run it again');
    await sleep(POLL_MS);
  }
}

/**
 * `twin dr --mode live`: the live stack booted as the Services machine of the twin's EC2 endpoint, the scenario's
 * pushes around the last backup acted out at its time scale, the backup taken as the seeds' script takes it
 * (`CreateSnapshot` of the instance tagged `circleci_services`), the machine terminated, and the runbook's steps
 * carried out with real EC2 calls and real actions on the restored machine. RTO is wall time (the recovery is not
 * compressed); RPO is in the scenario's time (the workload is). The report is the simulation's, from the same
 * report builder, over what the real PostgreSQL holds at the end.
 */
export async function runLiveDr(scenario: SettledScenario, runbook: Runbook, opts: LiveDrOptions = {}): Promise<DrReport> {
  const log = opts.log ?? (() => undefined);
  const plan = planLiveDr(scenario);
  const t0 = Date.now();
  const timeline: { at_ms: number; event: string }[] = [];
  const note = (event: string) => {
    timeline.push({ at_ms: Date.now() - t0, event });
    log(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${event}`);
  };
  const profile = loadProfile(scenario.version);
  // A change of project settings needs the workload's projects followed (harness/dr/live-kinds/project-settings.ts).
  const projects = scenario.disaster!.breaks === 'project_settings' ? projectSettingsStack() : undefined;
  const { backends, externals, migrate, services } = liveBackends(profile, {
    nomadClients: scenario.topology.nomadClients.count,
    storage: scenario.topology.storage,
    auth: scenario.topology.auth,
    timeScale: plan.timeScale,
    resourceClasses: scenario.topology.resourceClasses,
    // The context the pushes' jobs that use contexts name, as the live replay seeds it.
    pipeline: { contexts: REPLAY_CONTEXTS, ...(projects ? { alsoFollowed: projects.alsoFollowed } : {}) },
    ...(projects ? { github: projects.github } : {}),
  });
  const stack = new LiveStack({ profile, portOffset: opts.portOffset ?? DR_PORT_OFFSET, backends, externals, services, migrate });
  let machine: ServicesMachine | undefined;
  let client: EC2Client | undefined;
  let failover: LiveFailover | undefined;
  let rotation: BuildersRotation | undefined;
  try {
    const failed = await stack.up();
    if (failed.length > 0) throw new LiveDrError(`live DR: the stack did not boot: ${failed.map((f) => `${f.name} (${f.reason})`).join(', ')}`, 'a component that did not listen in time is usually a loaded machine: run it again; `twin up` shows the same boot');
    const ec2 = stack.components.get('ec2');
    if (!(ec2 instanceof StartedEc2Api)) throw new LiveDrError('live DR needs the twin\'s EC2 endpoint (unset AWS_ENDPOINT_URL): it acts on the Services machine\'s volume', 'unset AWS_ENDPOINT_URL');
    // The installation's secret token on its volume; with the builders re-associated, the fleet is the group's instances.
    const rotates = reassociatesBuilders(runbook);
    machine = await ServicesMachine.attach(stack, ec2, { nomadClients: scenario.topology.nomadClients.count, secretToken: INSTALL_SECRET_TOKEN, fleetIsGroup: rotates });
    note(`stack up in ${Date.now() - t0} ms; ${machine.events.at(-1)!.event}`);
    client = new EC2Client({ endpoint: ec2.url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
    let calls = 0;
    const failoverCtx = { ec2: client, machine, zones: ec2.state.ec2.network.availabilityZones, note, call: <T>(r: Promise<T>) => (calls++, r), until: <T>(what: string, probe: () => Promise<T | undefined>) => until(what, probe) };
    if (scenario.backups!.strategy === 'replica') failover = await ReplicaFailover.launch(failoverCtx);
    // A region outage: a second region's endpoint, linked to this one, receives the snapshots' copies; the recovery is there.
    const region = scenario.disaster!.kind === 'region_outage' && scenario.backups!.strategy === 'ebs_snapshot' && scenario.backups!.copy
      ? await RegionOutage.launch(failoverCtx, { api: ec2, copy: scenario.backups!.copy, timeScale: plan.timeScale, nomadClients: scenario.topology.nomadClients.count, credentials: CREDENTIALS, disasterAtMs: plan.disasterAtMs, everyMs: scenario.backups!.everyMs, firstActedAtMs: plan.backupsAtMs[0]! })
      : undefined;
    failover ??= region;
    const run = new (opts.runner ?? LiveRun)(scenario, runbook, plan, stack, machine, client, note, t0, failover, () => calls);
    // After a region outage the builders are the recovery region's group, empty until the rotation launches the fleet.
    const builders = region ? { api: region.recoveryApi, ec2: region.recoveryClient(), region: scenario.backups!.copy!.region, clients: region.clients, fleetSize: scenario.topology.nomadClients.count } : { api: ec2, ec2: client, region: REGION };
    if (rotates) run.rotation = rotation = new BuildersRotation({ ...builders, machine, credentials: CREDENTIALS, until: (what, probe) => until(what, probe), call: (r) => run.countCall(r) });
    const outcome = await run.act();
    await opts.inspect?.({ postgres: run.postgres, pushes: run.pushes, machine, ...(rotation ? { rotation } : {}) });
    const baseline = rehearse(scenario, runbook, { withoutDisaster: true });
    return buildDrReport(run.reportedScenario(), runbook, outcome.outcome, baseline, { replay: opts.replay ?? `twin dr ${scenario.file} --mode live --seed ${scenario.seed}`, measures: outcome.measures });
  } finally {
    rotation?.dispose();
    client?.destroy();
    await stack.down();
    await machine?.dispose();
    await failover?.dispose();
  }
}

/** One rehearsal on a booted stack (the EBS path; a backup strategy extends it: tarball-rehearsal.ts). */
export class LiveRun {
  readonly pushes: LivePush[] = [];
  protected readonly steps: DrStepResult[] = [];
  private restored = false;
  private recovered = false;
  protected snapshot: { id: string; wallMs: number } | undefined;
  /** Backups taken (the report's `backups_taken`), and the scenario instant of the one restored. */
  private backupsTaken = 0;
  private restoredFromMs: number | null = null;
  protected disasterWallMs = 0;
  protected oldIp = '';
  protected oldInstanceId = '';
  protected servicesUpWallMs: number | undefined;
  protected restoredShas = new Set<string>();
  protected shasAtDisaster = new Set<string>();
  protected stuckFromSnapshot = 0;
  protected staleRestored = 0;
  /** Builds triggered after the disaster that were still waiting to be placed at the end. */
  private neverPlaced = 0;
  private bootMs: number | undefined;
  private calls = 0;
  protected imageId: string | undefined;
  /** Build ids submitted to Nomad when /opt/nomad was wiped with the app stopped: nothing runs them after it. */
  private forgottenAtWipe: string[] = [];
  /** Build ids not finished (queued, scheduled or running) when the app was stopped: the Nomad server's jobs. */
  private submittedAtStop: string[] = [];
  /** The disaster when it is not TerminateInstances. */
  private readonly kind: LiveDisasterKind | undefined;
  /** Whether the volume's content was read since the machine came back (`afterBoot`). */
  private bootRead = false;
  /** The builders' re-association (`builders-rotation.ts`), when the runbook does it. */
  rotation: BuildersRotation | undefined;

  constructor(
    protected readonly scenario: SettledScenario,
    protected readonly runbook: Runbook,
    protected readonly plan: LiveDrPlan,
    protected readonly stack: LiveStack,
    protected readonly machine: ServicesMachine,
    /** The EC2 client of the region the steps act in: the recovery region's after a region outage. */
    protected ec2: EC2Client,
    protected readonly note: (e: string) => void,
    protected readonly t0: number,
    /** The cold fail-over's own backup (a replica), aftermath and steps (harness/dr/live-kinds/az-outage.ts), if any. */
    protected readonly failover?: LiveFailover,
    private readonly failoverCalls: () => number = () => 0,
  ) {
    this.kind = LIVE_KINDS[scenario.disaster!.kind]?.(scenario);
  }

  /** What a disaster kind acts on; its notes go to the log and to the report's timeline. */
  private get kindContext(): LiveKindContext {
    return { stack: this.stack, machine: this.machine, postgres: this.postgres, note: (e) => (this.note(e), this.machine.note(e)) };
  }

  /** Whether a build of this push succeeding shows the installation is back (after a settings change: one it broke). */
  private showsRecovery(p: Pick<LivePush, 'usesContexts' | 'repo'>): boolean {
    return this.kind?.showsRecovery?.(p) ?? true;
  }

  /** The repository a planned push goes to: its project's when the disaster kind spreads them, else the followed one. */
  private repoOf(w: { key: number }): string {
    return this.kind?.repoOf?.(w) ?? FOLLOWED_REPO;
  }

  get postgres(): StartedPostgres {
    return this.stack.components.get('postgres') as StartedPostgres;
  }

  private get github(): StartedFakeGithub {
    return this.stack.components.get('github') as StartedFakeGithub;
  }

  /** Wall ms (since the run's start) at which scenario time `atMs` is acted out. */
  private wallAt(atMs: number): number {
    return (atMs - this.plan.windowStartMs) / this.plan.timeScale;
  }

  async act(): Promise<{ outcome: DrOutcome; measures: Record<string, unknown> }> {
    await this.kind?.prepare?.(this.kindContext);
    const start = Date.now();
    const actions: { atMs: number; run: () => Promise<void> }[] = [
      ...this.plan.pushes.map((w) => ({ atMs: w.atMs, run: () => this.push(w) })),
      ...this.backupTimes().map((atMs) => ({ atMs, run: () => this.backup(atMs) })),
      { atMs: this.plan.disasterAtMs, run: () => this.disaster() },
    ];
    // A stable sort: at equal times the pushes (listed first) go before the snapshot and the disaster.
    actions.sort((a, b) => a.atMs - b.atMs);
    let recovery: Promise<void> | undefined;
    for (const a of actions) {
      // After the disaster, pushes go on until a few were built by the restored installation (or for OUTAGE_LIMIT_MS).
      if (a.atMs > this.plan.disasterAtMs && (this.deliveredAfterRestore() >= PUSHES_AFTER_RESTORE || Date.now() - this.disasterWallMs > OUTAGE_LIMIT_MS)) break;
      if (recovery === undefined && a.atMs >= this.plan.recoveryAtMs && this.disasterWallMs > 0) recovery = this.recover();
      const wait = start + this.wallAt(a.atMs) - Date.now();
      if (wait > 0) await sleep(wait);
      await a.run();
    }
    recovery ??= this.recover();
    await recovery;
    await this.drain();
    return this.measure();
  }

  /** The scenario instants at which backups are taken: the last one before the disaster (and the one before it, for a region outage). */
  protected backupTimes(): number[] {
    return this.plan.backupsAtMs;
  }

  private deliveredAfterRestore(): number {
    return this.pushes.filter((p) => p.phase === 'after_restore' && p.delivered && this.showsRecovery(p)).length;
  }

  private async push(w: LiveDrPlan['pushes'][number]): Promise<void> {
    const phase = pushPhase(this.plan, w.atMs, this.restored);
    const repo = this.repoOf(w);
    const sentWallMs = Date.now();
    const pushed = await this.github.push(repo, { files: { '.circleci/config.yml': workflowConfig(w) }, message: `workflow ${w.seq} at ${w.atMs} ms` });
    const delivered = pushed.deliveries.length > 0 && pushed.deliveries.every((d) => d.statusCode === 200);
    this.pushes.push({ sha: pushed.commit.sha, plannedAtMs: w.atMs, wallMs: Date.now(), sentWallMs, phase, delivered, usesContexts: w.jobs.some((j) => j.usesContexts), repo });
  }

  /** The seeds' backup script, as SDK calls: find the box by its tag, its root volume, snapshot it (the backup of scenario instant `atMs`). */
  protected async backup(atMs: number): Promise<void> {
    this.backupsTaken++;
    if (this.failover) {
      this.snapshot = await this.failover.backup(atMs);
      return;
    }
    const box = await this.servicesInstance();
    const volumeId = box.BlockDeviceMappings?.[0]?.Ebs?.VolumeId;
    const wallMs = Date.now();
    const snap = await this.call(this.ec2.send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: `CircleCI Services box Backup taken at ${new Date(wallMs).toString()}` })));
    this.snapshot = { id: snap.SnapshotId!, wallMs };
    const stored = this.machine.snapshots.get(snap.SnapshotId!);
    this.note(`backup: ${snap.SnapshotId} of ${volumeId} (${snap.State} ${snap.Progress ?? ''}); stores held ${stored?.holdMs.toFixed(0)} ms for the copy`);
  }

  protected async disaster(): Promise<void> {
    const box = await this.servicesInstance();
    this.oldInstanceId = box.InstanceId!;
    this.oldIp = box.PrivateIpAddress!;
    this.shasAtDisaster = await this.shas();
    this.disasterWallMs = Date.now();
    if (this.kind !== undefined) {
      await this.kind.strike(this.kindContext);
      return;
    }
    await this.call(this.ec2.send(new TerminateInstancesCommand({ InstanceIds: [this.oldInstanceId] })));
    this.note(`disaster: TerminateInstances ${this.oldInstanceId} (${this.oldIp}); ${this.shasAtDisaster.size} workflows recorded at that instant`);
    await this.machine.whenDead();
    await this.failover?.afterDisaster();
    this.ec2 = this.failover?.recoveryClient?.() ?? this.ec2;
  }

  protected async servicesInstance(): Promise<SdkInstance> {
    const r = await this.call(this.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: [SERVICES_TAG] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }] })));
    const box = r.Reservations?.[0]?.Instances?.[0];
    if (box === undefined) throw new Error('live DR: no instance tagged circleci_services is pending or running');
    return box;
  }

  /** An EC2 call, counted (the report's `engine.events`: pushes and calls). */
  protected call<T>(request: Promise<T>): Promise<T> {
    this.calls++;
    return request;
  }

  /** `call` for the rehearsal's helpers (the builders' rotation). */
  countCall<T>(request: Promise<T>): Promise<T> {
    return this.call(request);
  }

  /** The runbook, step by step, in the operator's order; each step's real duration and what it did. */
  protected async recover(): Promise<void> {
    const recovery = this.scenario.recovery!;
    this.note(`recovery starts: runbook ${this.runbook.name}`);
    for (const step of stepOrder(this.runbook, recovery)) {
      const startedAt = Date.now();
      if (recovery.skip.includes(step.name)) {
        this.steps.push({ step: step.name, does: step.does, status: 'skipped', started_at_ms: startedAt - this.t0, duration_ms: 0, consequence: '' });
        this.note(`${step.name} skipped`);
        continue;
      }
      const consequence = await this.apply(step);
      const early = ranBefore(step, this.runbook, recovery, new Set(this.steps.map((s) => s.step)));
      this.steps.push({ step: step.name, does: step.does, started_at_ms: startedAt - this.t0, duration_ms: Date.now() - startedAt, ...judgeStep(consequence, early) });
      this.note(`${step.name} done in ${Date.now() - startedAt} ms: ${consequence}`);
    }
    if (this.servicesUpWallMs === undefined && this.machine.phase === 'running') await this.waitHealthy();
  }

  protected async apply(step: RunbookStep): Promise<string> {
    const m = this.machine;
    const own = await this.failover?.apply(step, { oldIp: this.oldIp, oldInstanceId: this.oldInstanceId });
    if (own !== undefined) return own;
    switch (step.does) {
      case 'confirm_primary_dead':
        return m.phase === 'terminated' ? `${this.oldInstanceId} terminated` : 'the Services machine runs';
      case 'register_image': {
        // The failover's choice (a region outage: the newest copy complete at the outage), else the last snapshot.
        const source = this.failover?.restoreSource?.() ?? (this.snapshot && { ...this.snapshot, atMs: this.plan.snapshotAtMs });
        if (typeof source === 'string') return `${source}: nothing to register`;
        if (source === undefined) return 'no snapshot taken before the disaster: nothing to register';
        const id = source.id;
        this.imageId = await this.registerImage(id, `circleci-services-restore-${id}`);
        this.restoredFromMs = source.atMs;
        return `AMI ${this.imageId} registered from ${id} (taken ${Math.round(this.scenarioMsBeforeDisaster(source.wallMs) / 1000)} s of scenario time before the disaster)`;
      }
      case 'launch_instance': {
        if (this.imageId === undefined) return 'no image registered: nothing to launch';
        const newIp = this.scenario.recovery!.reassignPrivateIp;
        // The old address is held until the old instance is terminated: RunInstances refuses it until then, and for
        // good when the old instance runs on (a corrupted volume, a settings change).
        const reservation = await until('the old private IP to be free', async () => {
          try {
            return await this.call(this.ec2.send(
              new RunInstancesCommand({ ImageId: this.imageId, InstanceType: 'm4.2xlarge', MinCount: 1, MaxCount: 1, ...(newIp ? {} : { PrivateIpAddress: this.oldIp }), TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: SERVICES_TAG }] }] }),
            ));
          } catch (e) {
            if ((e as { name?: string }).name === 'InvalidIPAddress.InUse') return this.kind?.keepsInstance ? null : undefined;
            throw e;
          }
        });
        if (reservation === null) return runInstancesRefused(this.oldIp, this.kind!.holderWhy);
        return this.launched(reservation.Instances![0]!.InstanceId!, Date.now());
      }
      case 'reassign_private_ip': {
        if (m.phase !== 'running') return 'no instance';
        if (m.privateIp === this.oldIp) return 'nothing to do: the instance has the old private IP';
        const eni = (await this.servicesInstance()).NetworkInterfaces?.[0]?.NetworkInterfaceId;
        await this.call(this.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, PrivateIpAddresses: [this.oldIp], AllowReassignment: true })));
        return this.reassigned(eni!);
      }
      case 'stop_app':
        if (m.phase !== 'running') return 'no instance';
        // The services first (a webhook taken while they stop is written), then the records the Nomad server held, then the stores.
        await m.stopServices();
        this.submittedAtStop = (await this.postgres.query<{ id: string }>(PIPELINE_DB, "SELECT id FROM builds WHERE status IN ('queued', 'scheduled', 'running')")).rows.map((r) => r.id);
        await m.stopApp();
        return 'app stopped: every container of the Services machine stopped (webhooks fail until start_app)';
      case 'check_hostname': {
        // No machine came back (a region outage with no copy restorable): as the simulation says, nothing to act on.
        if (m.phase === 'terminated') return 'no instance';
        const host = consoleHostname(m.etcDir);
        if (host === m.privateIp || host === m.secondaryIp) return `hostname ${host} still reaches the machine`;
        setConsoleHostname(m.etcDir, m.privateIp);
        return `hostname changed from ${host} to ${m.privateIp} (and the GitHub OAuth application with it)`;
      }
      case 'update_replicated_ips': {
        if (m.phase === 'terminated') return 'no instance';
        const named = replicatedAddresses(m.etcDir);
        if (named.every((ip) => ip === m.privateIp)) return `nothing to change: /etc/default/replicated and replicated-operator name ${m.privateIp}`;
        const changed = updateReplicatedAddresses(m.etcDir, this.oldIp, m.privateIp);
        return `${changed.join(' and ')} now name ${m.privateIp}`;
      }
      case 'wipe_nomad_state': {
        if (m.phase === 'terminated') return 'no instance';
        if (!this.stack.components.has('nomad_server')) return 'no Nomad server';
        const nomad = m.nomad;
        const running = this.stack.rows.get('nomad_server')?.state === 'healthy';
        // With the app stopped the wipe takes: the builders kill the allocations the server no longer knows, and the
        // builds it held (pending or placed) stay queued or Running in the records with nothing running them (the
        // simulation's `wipe_nomad_state`).
        if (!running) this.forgottenAtWipe = this.submittedAtStop;
        if (nomad === undefined) {
          // A real Nomad with its own data dir: the stack's wipe deletes it.
          const what = await this.stack.wipeState('nomad_server');
          return running ? `the app was running: ${what}` : `/opt/nomad removed: ${what}`;
        }
        return m.wipeNomadState(running);
      }
      case 'start_app':
        if (m.phase !== 'running') return 'no instance';
        await m.startApp();
        await this.waitHealthy();
        // A machine that came back without a launch (a replica): its data is what it held of the records at the disaster.
        if (!this.bootRead) await this.afterBoot(this.shasAtDisaster);
        return `app started; every health endpoint answers 200 ${this.servicesUpWallMs! - this.disasterWallMs} ms after the disaster`;
      case 'cleanup_stuck_builds': {
        if (m.phase !== 'running') return 'no instance';
        // admin/delete-build on the records left Running or queued that nothing runs: those restored from the snapshot,
        // and those whose Nomad jobs the wipe of /opt/nomad forgot.
        const shas = [...this.restoredShas];
        const r = await this.postgres.query(PIPELINE_DB, "UPDATE builds SET status = 'failed', reason = 'deleted with admin/delete-build after the restore', finished_at = clock_timestamp() WHERE status IN ('queued', 'scheduled', 'running') AND (sha = ANY($1) OR id = ANY($2::bigint[])) RETURNING id", [shas, this.forgottenAtWipe]);
        return `${r.rowCount ?? 0} build records left Running or queued with nothing running them marked failed`;
      }
      case 'download_backup':
      case 'restore_tarball':
        return `${step.does}: the backups are EBS snapshots, not tarballs`;
      case 'get_secret_token':
        return this.rotationOf(step.name).getSecretToken();
      case 'update_launch_configuration':
        return this.rotationOf(step.name).updateLaunchConfiguration();
      case 'rotate_builders':
        return this.rotationOf(step.name).rotateBuilders();
    }
  }

  private rotationOf(step: string): BuildersRotation {
    if (this.rotation === undefined) throw new Error(`live DR: ${step} needs the builders' rotation (runLiveDr sets it up for a runbook that re-associates the builders)`);
    return this.rotation;
  }

  /** Waits for snapshot `id` to complete, registers an AMI from it and waits for it to be available; its id. */
  protected async registerImage(id: string, name: string): Promise<string> {
    await this.snapshotCompleted(id);
    const image = await this.call(this.ec2.send(
      new RegisterImageCommand({ Name: name, RootDeviceName: '/dev/sda1', VirtualizationType: 'hvm', Architecture: 'x86_64', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: id, DeleteOnTermination: true } }] }),
    ));
    await this.imageAvailable(image.ImageId!);
    return image.ImageId!;
  }

  /** Waits for snapshot `id` to complete (RegisterImage takes completed snapshots only). */
  protected async snapshotCompleted(id: string): Promise<void> {
    await until(`snapshot ${id} to complete`, async () => {
      const r = await this.call(this.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] })));
      return r.Snapshots?.[0]?.State === 'completed' ? true : undefined;
    });
  }

  /** Waits for AMI `imageId` to be available (RunInstances launches available images only). */
  protected async imageAvailable(imageId: string): Promise<void> {
    await until(`image ${imageId} to be available`, async () => {
      const r = await this.call(this.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })));
      return r.Images?.[0]?.State === 'available' ? true : undefined;
    });
  }

  /** Instance `id` launched at `launchedAt` from the restored image: waits for it to run and boot, reads its volume; the step's consequence. */
  protected async launched(id: string, launchedAt: number): Promise<string> {
    const m = this.machine;
    await until(`${id} to be running`, async () => {
      const r = await this.call(this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
      return r.Reservations?.[0]?.Instances?.[0]?.State?.Name === 'running' ? true : undefined;
    });
    await m.whenBooted();
    this.bootMs = Date.now() - launchedAt;
    await this.afterBoot();
    return `${id} launched at ${m.privateIp}${m.privateIp === this.oldIp ? ' (the old private IP)' : ' (a new one)'}, booted and the app started on the restored volume in ${this.bootMs} ms: ${this.restoredShas.size} workflows restored, ${this.stuckFromSnapshot} build records restored as queued or running`;
  }

  /** The old private IP re-associated to `eni` (AssignPrivateIpAddresses --allow-reassignment done): the builders judged again; the step's consequence. */
  protected reassigned(eni: string): string {
    const m = this.machine;
    m.secondaryIp = this.oldIp;
    m.judgeBuilders();
    return `${this.oldIp} re-associated to ${this.failover ? 'the replica\'s ' : ''}${eni} as a secondary IP${m.appRunning ? `; builders ${m.buildersReach() ? 'reach' : 'still cannot reach'} the Services machine` : ''}`;
  }

  /** The scenario the report is computed from: this one, or (typed steps) the operator's. */
  reportedScenario(): SettledScenario {
    return this.scenario;
  }

  /**
   * What the restored volume holds, read once the machine booted; `within`: the records it can hold (read after the
   * app started, the builds of webhooks it took since are not the backup's).
   */
  private async afterBoot(within?: ReadonlySet<string>): Promise<void> {
    this.bootRead = true;
    const present = await this.shas();
    this.restoredShas = within === undefined ? present : new Set([...present].filter((sha) => within.has(sha)));
    const r = await this.postgres.query<{ n: string }>(PIPELINE_DB, "SELECT count(*) AS n FROM builds WHERE status IN ('queued', 'scheduled', 'running') AND sha = ANY($1)", [[...this.restoredShas]]);
    this.stuckFromSnapshot = Number(r.rows[0]!.n);
    // What the restored /opt/nomad brought back at boot (before the builders were judged: clients that cannot reach the machine lose them).
    const found = this.machine.nomad?.lastStart;
    this.staleRestored = found?.kind === 'restored' ? found.staleAllocs : (this.machine.nomad?.state.staleAllocations().length ?? 0);
  }

  protected async shas(): Promise<Set<string>> {
    const r = await this.postgres.query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds');
    return new Set(r.rows.map((x) => x.sha));
  }

  protected async waitHealthy(): Promise<void> {
    let failing: string[] = [];
    await until(
      () => `every health endpoint to answer 200 (not yet: ${failing.join(', ')})`,
      async () => {
        await this.stack.refreshHealth();
        failing = [...this.stack.rows.values()]
          .filter((r) => (r.healthUrl !== undefined && r.state !== 'healthy') || r.state === 'failed')
          .map((r) => `${r.name} ${r.state}${r.reason ? ` (${r.reason})` : ''}${r.health ? ` (${r.health})` : ''}`);
        return failing.length === 0 ? true : undefined;
      },
    );
    this.servicesUpWallMs = Date.now();
    this.recovered = true;
    this.restored = true;
    this.note(`every health endpoint answers 200`);
  }

  /** Waits (bounded) for the builds triggered after the restore to end, and for one of them to succeed. */
  private async drain(): Promise<void> {
    // Those triggered after the disaster: after the restore, or taken by the restored installation before it was
    // healthy (an installation restored in place takes webhooks as soon as its services start).
    const after = () => this.pushes.filter((p) => (p.phase === 'after_restore' || p.phase === 'outage') && p.delivered).map((p) => p.sha);
    if (!this.recovered) return;
    // Builders that cannot reach the machine place nothing: a short wait shows it (their builds stay queued).
    const deadline = Date.now() + (this.machine.buildersReach() ? DRAIN_LIMIT_MS : UNREACHED_DRAIN_MS);
    // A few builds after the restore (the RTO ends with the first success; a restore that took longer than the outage's
    // pushes gets them here), as the pushes would have gone on.
    let extra = 0;
    while (this.deliveredAfterRestore() < PUSHES_AFTER_RESTORE && extra < PUSHES_AFTER_RESTORE + 2 && Date.now() < deadline) {
      // The last planned push of those that show the installation is back (any, when none does).
      const next = [...this.plan.pushes].reverse().find((w) => this.showsRecovery({ usesContexts: w.jobs.some((j) => j.usesContexts), repo: this.repoOf(w) })) ?? this.plan.pushes.at(-1)!;
      await this.push({ ...next, seq: next.seq + 1 + extra, atMs: next.atMs + extra + 1 });
      extra++;
    }
    await until(
      'the builds triggered after the restore to end',
      async () => {
        const r = await this.postgres.query<{ n: string }>(PIPELINE_DB, "SELECT count(*) AS n FROM builds WHERE sha = ANY($1) AND status IN ('queued', 'scheduled', 'running')", [after()]);
        return Number(r.rows[0]!.n) === 0 ? true : undefined;
      },
      Math.max(1, deadline - Date.now()),
    ).catch(() => undefined);
  }

  /** Scenario ms from wall instant `wallMs` to the disaster (the run's time scale). */
  protected scenarioMsBeforeDisaster(wallMs: number): number {
    return Math.round((this.disasterWallMs - wallMs) * this.plan.timeScale);
  }

  protected async measure(): Promise<{ outcome: DrOutcome; measures: Record<string, unknown> }> {
    const S = this.plan.timeScale;
    const delivered = this.pushes.filter((p) => p.delivered);
    type Row = { sha: string; status: string; queued_at: Date; started_at: Date | null; finished_at: Date | null };
    const rows = await this.postgres.query<Row>(PIPELINE_DB, 'SELECT DISTINCT ON (sha) sha, status, queued_at, started_at, finished_at FROM builds ORDER BY sha, id DESC').catch((e: unknown) => {
      // No Services machine came back (nothing restorable): its stores are gone, and every build with them.
      if (this.machine.phase === 'running') throw e;
      this.note(`no Services machine runs at the end: the installation's build records are gone (${(e as Error).message})`);
      return { rows: [] as Row[] };
    });
    const bySha = new Map(rows.rows.map((r) => [r.sha, r] as const));
    const counts = { triggered: delivered.length, succeeded: 0, failed: 0, lost: 0, stuck: 0, not_triggered: this.pushes.length - delivered.length, retried: 0 };
    const queue = new SampleSet();
    for (const p of delivered) {
      const row = bySha.get(p.sha);
      if (row === undefined) counts.lost++;
      else if (row.status === 'succeeded') counts.succeeded++;
      else if (row.status === 'failed' || row.status === 'lost') counts.failed++;
      else counts.stuck++;
      if (row?.started_at) queue.add(Math.round((row.started_at.getTime() - row.queued_at.getTime()) * S));
    }
    this.neverPlaced = delivered.filter((p) => p.wallMs > this.disasterWallMs && ['queued', 'scheduled'].includes(bySha.get(p.sha)?.status ?? '') && !bySha.get(p.sha)?.started_at).length;
    const firstNew = delivered
      .filter((p) => p.wallMs > this.disasterWallMs && this.showsRecovery(p) && bySha.get(p.sha)?.status === 'succeeded')
      .map((p) => bySha.get(p.sha)!.finished_at!.getTime())
      .sort((a, b) => a - b)[0];
    const d = this.plan.disasterAtMs;
    const rtoMs = firstNew !== undefined && this.servicesUpWallMs !== undefined ? Math.max(firstNew, this.servicesUpWallMs) - this.disasterWallMs : null;
    const lostAfterSnapshot = [...this.shasAtDisaster].filter((s) => !this.restoredShas.has(s)).length;
    const phases = Object.fromEntries(
      (['before_snapshot', 'after_snapshot', 'outage', 'after_restore'] as const).map((ph) => {
        const ps = this.pushes.filter((p) => p.phase === ph);
        return [ph, { pushed: ps.length, delivered: ps.filter((p) => p.delivered).length, recorded_at_end: ps.filter((p) => p.delivered && bySha.has(p.sha)).length }];
      }),
    );
    const m = this.machine;
    const stored = this.snapshot ? m.snapshots.get(this.snapshot.id) : undefined;
    const outcome: DrOutcome = {
      builds: counts,
      queueTimeMs: queue.percentiles(),
      webhooksDropped: this.pushes.filter((p) => !p.delivered).length,
      rtoMs,
      rpoMs: this.failover ? this.failover.rpoMs(this.plan) : this.snapshot ? this.scenarioMsBeforeDisaster(this.snapshot.wallMs) : null,
      servicesUpAtMs: this.servicesUpWallMs === undefined ? null : d + (this.servicesUpWallMs - this.disasterWallMs),
      firstNewSuccessAtMs: firstNew === undefined ? null : d + (firstNew - this.disasterWallMs),
      backupsTaken: this.backupsTaken,
      restoredFromMs: this.restoredFromMs ?? (this.imageId !== undefined || this.failover?.restored() ? this.plan.snapshotAtMs : null),
      recordsWrittenAfterBackup: lostAfterSnapshot,
      stuckFromSnapshot: this.stuckFromSnapshot,
      staleAllocationsRestored: this.staleRestored,
      staleAllocationsAtEnd: m.nomad?.state.staleAllocations().length ?? 0,
      nomadCpuMilli: this.outcomeCpuMilli(),
      buildersReachAtEnd: m.phase === 'running' && m.buildersReach(),
      hostnameMatchesAtEnd: m.phase === 'running' && [m.privateIp, m.secondaryIp].includes(consoleHostname(m.etcDir)),
      runbook: this.steps.map((s) => (s.status === 'skipped' ? { ...s, consequence: this.skippedConsequence(s.does, counts.stuck) } : s)),
      timeline: [...this.timelineOf()],
      endedAtMs: Date.now() - this.t0,
      events: this.pushes.length + this.calls + this.failoverCalls(),
      measured: {
        recordsLostAtRestore: 0,
        // Builders that reached the restored machine without being rotated (the simulation's count).
        buildersReconnected: this.failover ? this.failover.buildersReconnected() : m.phase === 'running' && m.buildersReach() && !this.rotation?.rotated ? this.scenario.topology.nomadClients.count : 0,
        ...(this.rotation ? { buildersRotated: this.rotation.rotated } : {}),
        ...(this.failover?.backupRecords ? { backups: this.failover.backupRecords() } : {}),
      },
    };
    const own = await this.kind?.outcome?.(this.kindContext, this.pushes, outcome);
    if (own) Object.assign(outcome, { ...own, measured: { ...outcome.measured!, ...own.measured } });
    const measures = {
      time_scale: S,
      window_ms: { start: this.plan.windowStartMs, snapshot: this.plan.snapshotAtMs, disaster: d },
      wall_ms: Date.now() - this.t0,
      rto_wall_ms: rtoMs,
      rpo_scenario_ms: outcome.rpoMs,
      snapshot: stored ? { id: stored.snapshotId, hold_ms: Math.round(stored.holdMs * 10) / 10, bytes: stored.bytes } : null,
      restore_boot_ms: this.bootMs ?? null,
      services_instance: { old: { id: this.oldInstanceId, private_ip: this.oldIp }, new: { id: m.instanceId, private_ip: m.privateIp } },
      pushes: phases,
      workflows_at_disaster: this.shasAtDisaster.size,
      workflows_restored: this.restoredShas.size,
      nomad: m.nomad ? { stale_allocations_restored: this.staleRestored, stale_cpu_milli_at_end: m.nomad.state.staleCpuMilli(), jobs_blocked_behind_stale: m.nomad.state.blockedBehindStale } : null,
      not_modelled: [
        'the runbook steps take the time the real calls take, not an operator\'s',
        ...(this.rotation ? ['builds running on the rotated builders lose their allocations and are not retried (the twin\'s Nomad does not reschedule lost allocations)'] : []),
      ],
      ...this.failover?.measures(),
      ...this.kind?.measures?.(),
    };
    return { outcome, measures };
  }

  /** The fleet's CPU for builds (after Nomad's reservation of 2 vCPU per client), in millicores. */
  private outcomeCpuMilli(): number {
    const { count, cpus } = this.scenario.topology.nomadClients;
    return count * Math.max(0, cpus - 2) * 1000;
  }

  private timelineOf(): { at_ms: number; event: string }[] {
    return this.machine.events.map((e) => ({ at_ms: e.atMs - this.t0, event: e.event }));
  }

  private skippedConsequence(does: DrStepResult['does'], stuck: number): string {
    const m = this.machine;
    switch (does) {
      case 'cleanup_stuck_builds':
        return `${stuck} build records left Running or queued`;
      case 'update_replicated_ips':
      case 'reassign_private_ip':
        return m.phase === 'running' && m.buildersReach()
          ? `none: builders reach the Services machine (private IP ${m.privateIp})`
          : unreachedConsequence({ dialIp: m.buildersDialIp, holdsDial: m.phase === 'running' && [m.privateIp, m.secondaryIp].includes(m.buildersDialIp), replicatedIp: replicatedAddresses(m.etcDir)[0]!, primaryIp: m.privateIp, neverPlaced: this.neverPlaced });
      case 'check_hostname':
        return consoleHostname(m.etcDir) === m.privateIp ? 'none: the hostname still reaches the machine' : `the console's hostname ${consoleHostname(m.etcDir)} no longer reaches the machine: UI logins through GitHub OAuth fail`;
      case 'wipe_nomad_state': {
        const nomad = m.nomad?.state;
        if (nomad === undefined) return 'not observed: a real Nomad keeps its own data dir, not on the twin\'s volume';
        // The simulation's words and rule (sim/models/dr/live-plan.ts), over what the twin's Nomad server holds.
        return skippedWipeConsequence({ restored: this.staleRestored, atEnd: nomad.staleAllocations().length, heldPercent: Math.round((100 * nomad.staleCpuMilli()) / Math.max(1, this.outcomeCpuMilli())), waitedBehind: nomad.blockedBehindStale });
      }
      case 'stop_app':
        return 'the app kept taking webhooks during the reconciliation';
      case 'start_app':
        return m.phase === 'running' ? 'none: the app was still running from the image boot' : 'the app never started';
      case 'get_secret_token':
      case 'update_launch_configuration':
      case 'rotate_builders':
        return this.rotationOf(does).skippedConsequence();
      default:
        return m.phase === 'running' ? 'none observed' : 'no Services machine came back';
    }
  }
}
