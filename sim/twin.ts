import { Simulation, type StopReason } from './engine/simulation.ts';
import { Rng } from './engine/rng.ts';
import { Ledger } from './ledger.ts';
import { Telegraf } from './metrics/telegraf.ts';
import { SampleSet } from './metrics/percentiles.ts';
import { TimelineRecorder, type Timeline } from './metrics/timeline.ts';
import { Services } from './models/services/registry.ts';
import { Broker } from './models/services/broker.ts';
import { Fates } from './models/services/fates.ts';
import { TestResults } from './models/services/test-results.ts';
import { ServicesDisk } from './models/services/disk.ts';
import { planStartup, type StartupPlan } from './models/services/startup.ts';
import { UiTraffic } from './models/services/ui-traffic.ts';
import { CronService } from './models/services/cron-service.ts';
import type { World } from './models/world.ts';
import type { Webhook } from './models/build.ts';
import { GithubEnterprise } from './models/github/github-enterprise.ts';
import { Frontend } from './models/services/frontend.ts';
import { WorkflowsConductor } from './models/services/workflows-conductor.ts';
import { Dispatcher } from './models/services/dispatcher.ts';
import { PicardDispatcher } from './models/services/picard-dispatcher.ts';
import { ContextsService } from './models/services/contexts-service.ts';
import { Schedulerer } from './models/services/schedulerer.ts';
import { OutputProcessor } from './models/services/output-processor.ts';
import { AuditLog } from './models/services/audit-log.ts';
import { VmService } from './models/vm-service/vm-service.ts';
import { NomadFleet } from './models/fleet/nomad-fleet.ts';
import { FaultInjector } from './faults/injector.ts';
import { createArrivalProcess } from './models/workload/arrivals.ts';
import { feedArrivals } from './models/workload/feed-arrivals.ts';
import { JobMix } from './models/workload/job-mix.ts';
import { TIMINGS } from './models/timings.ts';
import { renderJobList, renderNodeStatusAllocs } from './models/nomad/index.ts';
import { formatDurationMs } from './util/duration.ts';
import type { SettledScenario } from './scenario/settled.ts';
import type { Profile } from '../fixtures/schema.ts';
import { METRICS, reportServerPoll } from './metrics/metric-names.ts';
import { LIMITS } from './scenario/limits.ts';
import { AutoScalingGroup, ASG_TICK_MS } from './models/autoscaling/asg.ts';
import { SymptomObserver } from './symptoms/observer.ts';

/** Options of one simulated run. */
export interface TwinOptions {
  /** Hard bound on events (a runaway model stops with a typed reason instead of hanging); default `max_run_events`. */
  maxEvents?: number;
  /** Called now and then with progress in virtual time (for a progress indicator); must not affect the run. */
  onProgress?: (virtualMs: number, endMs: number) => void;
  /** Skip the scenario's faults (the baseline of the severity classifier). */
  withoutFaults?: boolean;
  /** Keep one point per statsd flush for each metric (for plots). */
  keepSeries?: boolean;
  /** Record the run's time series for plots (`timeline()`); the fault-free baseline does not need them. */
  timeline?: boolean;
  /** Receives the run's event log, one line per pipeline event. */
  trace?: (line: string) => void;
}

/**
 * The whole CircleCI Server pipeline wired in one place, one comment per link. Construct, then `run()`.
 */
export class Twin {
  readonly sim = new Simulation();
  readonly world: World;
  readonly ledger = new Ledger();
  readonly services: Services;
  readonly telegraf: Telegraf;
  readonly github: GithubEnterprise;
  readonly frontend: Frontend;
  readonly conductor: WorkflowsConductor;
  readonly dispatcher: Dispatcher;
  readonly picard: PicardDispatcher;
  readonly contexts: ContextsService;
  readonly schedulerer: Schedulerer;
  readonly output: OutputProcessor;
  readonly audit: AuditLog;
  readonly vm: VmService;
  readonly fleet: NomadFleet;
  /** The Auto Scaling Group of Nomad clients, when the scenario has `autoscaling`. */
  readonly asg: AutoScalingGroup | undefined;
  readonly faults: FaultInjector;
  readonly broker: Broker;
  readonly fates: Fates;
  readonly testResults: TestResults;
  readonly disk: ServicesDisk;
  readonly startup: StartupPlan;
  readonly ui: UiTraffic;
  readonly cron: CronService;
  /** What an operator would see of each failure (symptoms), for the report and the classifier. */
  readonly symptoms: SymptomObserver;
  readonly runQueueLatency = new SampleSet();
  readonly mix: JobMix;
  /** Per virtual hour, builds that reached a fate in it (throughput). */
  readonly finishedPerHour: number[] = [];
  private webhooksSent = 0;
  private doneAtHourStart = 0;
  private cpuUtilSum = 0;
  private cpuUtilSamples = 0;
  peakCpuUtilisation = 0;
  peakPendingJobs = 0;
  private stopReason: StopReason | 'completed' = 'completed';
  private readonly recorder: TimelineRecorder | undefined;
  /** Queue times already passed to the recorder (an index into `fleet.queueTimes`). */
  private queueTimesRecorded = 0;
  private lastTimelineMs = -1;
  /** What `nomad status` and `nomad node-status -allocs` printed at the busiest moment and when the workload stopped. */
  get nomadStatusText(): string {
    return `${this.peakNomadText}${this.peakNomadText ? '\n' : ''}${this.endNomadText}`;
  }
  private peakNomadText = '';
  private endNomadText = '';
  private peakSnapshotPending = 0;

  constructor(
    readonly scenario: SettledScenario,
    readonly profile: Profile,
    private readonly opts: TwinOptions = {},
  ) {
    const rng = new Rng(scenario.seed);
    this.services = new Services(profile.containers.map((c) => c.name));
    this.telegraf = new Telegraf(profile.metrics.names.map((m) => m.name), { keepSeries: opts.keepSeries ?? false });
    this.recorder = opts.timeline ? new TimelineRecorder(profile.metrics.statsd_interval_ms) : undefined;
    this.world = { sim: this.sim, rng, scenario, profile, services: this.services, ledger: this.ledger, telegraf: this.telegraf, trace: opts.trace };
    this.ledger.trace = opts.trace;
    this.mix = new JobMix(scenario.workload.jobs);

    // GitHub Enterprise sends push webhooks and serves config.yml.
    this.github = new GithubEnterprise(this.world);
    // RabbitMQ carries the queues between the services.
    this.broker = new Broker(this.world);
    // The Services machine's disk, kept in check by tutum/logrotate.
    this.disk = new ServicesDisk(this.world, this.broker, scenario.topology.disk);
    // audit-log-service persists the services' audit events from a durable queue.
    this.audit = new AuditLog(this.world, this.broker);
    // workflows-conductor turns a webhook into a workflow and its jobs into builds.
    this.conductor = new WorkflowsConductor(this.world, this.mix, this.audit);
    // Builds that end outside output-processor (visible failures, losses) are settled here.
    this.fates = new Fates(this.world, this.conductor);
    // frontend receives the webhook and asks workflows-conductor to start the workflow.
    this.frontend = new Frontend(this.world, this.conductor, this.broker);
    // dispatcher moves new builds from the usage queue to the run queue.
    this.dispatcher = new Dispatcher(this.world, this.broker, this.fates);
    this.conductor.connect(this.dispatcher);
    // test-results parses stored test results (and back-fills after an outage).
    this.testResults = new TestResults(this.world);
    // output-processor finalises builds (step output, artifacts, test results) and makes fates visible.
    this.output = new OutputProcessor(this.world, this.conductor, this.audit, this.broker, this.testResults);
    // contexts-service with vault-cci decrypts contexts for the jobs that use them.
    this.contexts = new ContextsService(this.world, this.audit, this.fates);
    // schedulerer sends each build's tasks to the Nomad server.
    this.schedulerer = new Schedulerer(this.world, this.broker, this.fates);
    // picard-dispatcher takes builds from the run queue, fetches config from GHE, splits them into tasks.
    this.picard = new PicardDispatcher(this.world, this.dispatcher, this.broker, this.github, this.contexts, this.schedulerer, this.fates, this.runQueueLatency);
    this.dispatcher.connect(this.picard);
    // vm-service (with vm-scaler and vm-gc) provides EC2 instances for machine and remote Docker jobs.
    this.vm = new VmService(this.world);
    // The Nomad server places tasks on the client fleet, whose build agents report to output-processor.
    this.fleet = new NomadFleet(this.world, this.vm, this.output, this.audit, this.fates);
    this.fleet.onInfrastructureFailure((build, reason) => this.fates.failAndRetry(build, reason, (retry) => this.dispatcher.enqueue(retry)));
    this.schedulerer.connect(this.fleet);
    this.fleet.addClients(scenario.topology.nomadClients.count);
    this.asg = scenario.autoscaling === undefined ? undefined : new AutoScalingGroup(this.world, this.fleet, scenario.autoscaling);
    // People use the UI and the API; their requests fail while a service they need is down.
    this.ui = new UiTraffic(this.world);
    // cron-service triggers scheduled workflows.
    this.cron = new CronService(this.world, this.conductor, this.broker);
    // telegraf drops what it receives while it is down (metric gaps).
    this.services.onChange('telegraf', (_n, state) => {
      this.telegraf.up = state === 'running';
    });
    // The symptoms observer counts what an operator would see: fates, failed requests, periodic work not done.
    this.symptoms = new SymptomObserver(
      this.world,
      {
        runningTasks: () => this.fleet.runningTasks,
        runQueueDepth: () => this.dispatcher.runQueue.length,
        schedulerQueueDepth: () => this.schedulerer.queue.length,
        testResultsBacklog: () => this.testResults.backlog,
        auditWaiting: () => this.audit.buffered,
        staleVms: () => this.vm.stale,
        vmPoolShortfall: () => this.vm.poolShortfall,
      },
      AuditLog.persistIntervalMs,
      VmService.gcIntervalMs,
    );
    this.ledger.onOutcome = this.symptoms.onOutcome;
    this.ledger.onLoss = this.symptoms.onLoss;
    this.ui.onFailure = this.symptoms.onUiFailure;
    // The fault injector changes container and fleet states at the scenario's times.
    this.faults = new FaultInjector(this.world, this.fleet, this.output, this.disk, this.broker, this.conductor);
    // The Services machine boots: containers start in the order of their startup dependencies.
    const failing = new Set(opts.withoutFaults ? [] : scenario.faults.filter((f) => f.action === 'fail_at_startup').map((f) => f.target));
    this.startup = planStartup(profile, failing);
    for (const f of this.startup.failed) this.services.set(f.name, 'failed', 0, 'startup-failure');
  }

  /** Runs the scenario to its end: the workload stops at `duration`, then in-flight work drains (bounded). */
  run(): void {
    const endMs = this.begin();
    const maxEvents = this.opts.maxEvents ?? LIMITS.runEvents.value;
    const progressStepMs = Math.max(60_000, Math.floor(endMs / 200));
    let nextProgressMs = 0;
    for (;;) {
      const r = this.sim.run({ untilMs: Math.min(endMs, nextProgressMs), maxEvents: maxEvents - this.sim.eventsFired });
      if (r.reason === 'max-events') {
        this.stopReason = 'max-events';
        break;
      }
      if (r.reason === 'stopped') break;
      if (r.reason === 'drained' || this.sim.nowMs >= endMs) break;
      this.opts.onProgress?.(this.sim.nowMs, endMs);
      nextProgressMs += progressStepMs;
    }
    this.finish();
  }

  /**
   * Schedules the workload, the faults and the periodic work, and returns the time the run ends by (workload plus
   * the drain limit). `run()` calls it; a training session calls it, then `advanceTo` as the trainee works.
   */
  begin(): number {
    const { scenario, sim } = this;
    const arrivalsRng = this.world.rng.fork('arrivals');
    const mixRng = this.world.rng.fork('mix');
    let webhookId = 0;
    feedArrivals(
      sim,
      createArrivalProcess(scenario.workload.arrivals, arrivalsRng),
      (arrival) => {
        // Delivered GitHub's webhook hop after the push (folded into the arrival event: one event fewer per push).
        const webhook: Webhook = { id: ++webhookId, template: this.mix.indexFor(arrival.job, mixRng), sentAtMs: arrival.atMs, attempts: 1 };
        this.webhooksSent++;
        this.frontend.receiveWebhook(webhook);
      },
      { untilMs: scenario.durationMs, delayMs: TIMINGS.webhookDeliveryMs },
    );
    if (!this.opts.withoutFaults) this.faults.schedule(scenario.faults);
    sim.scheduleAt(scenario.durationMs, this.snapshotNomad, undefined, 20);

    const endMs = scenario.durationMs + TIMINGS.drainLimitMs;
    this.every(this.profile.metrics.statsd_interval_ms, this.statsdFlush);
    this.every(TIMINGS.nomadGcIntervalMs, this.fleet.gc);
    if (this.asg) this.every(ASG_TICK_MS, this.asg.tick);
    this.every(AuditLog.persistIntervalMs, this.audit.persist);
    this.every(VmService.scaleIntervalMs, this.vm.scale);
    this.every(VmService.gcIntervalMs, this.vm.collectGarbage);
    this.every(UiTraffic.intervalMs, this.ui.tick, scenario.durationMs);
    this.cron.schedule(scenario.workload.scheduled, scenario.durationMs);
    return endMs;
  }

  /**
   * Runs events up to `untilMs` (virtual), within the event limit; false when the run is over (its end, a stop or
   * the limit). For a session that advances as someone works: `begin()` first, never `run()`.
   */
  advanceTo(untilMs: number): boolean {
    const maxEvents = this.opts.maxEvents ?? LIMITS.runEvents.value;
    const r = this.sim.run({ untilMs, maxEvents: maxEvents - this.sim.eventsFired });
    if (r.reason === 'max-events') this.stopReason = 'max-events';
    return r.reason !== 'max-events' && r.reason !== 'stopped' && r.reason !== 'drained';
  }

  /** Settles the run once its events are done: audit events persisted, the last timeline tick, unfinished builds stuck. */
  finish(): void {
    this.audit.persist();
    this.recordTimeline();
    this.settleUnfinished();
  }

  /** The run's time series and its faults as applied; throws unless constructed with `timeline: true`. */
  timeline(): Timeline {
    if (!this.recorder) throw new Error('this twin was not asked to record a timeline (TwinOptions.timeline)');
    return this.recorder.timeline(
      this.faults.applied.map(({ fault: f, atMs }) => ({
        at_ms: atMs,
        action: f.action,
        target: f.writtenTarget,
        ...(f.forMs === undefined ? {} : { until_ms: atMs + f.forMs }),
        ...(f.target === 'nomad_client' ? { count: f.count } : {}),
      })),
    );
  }

  /** One tick of the timeline: the gauges now, and the builds that started since the last tick. */
  private recordTimeline(): void {
    const { recorder, fleet, sim } = this;
    if (!recorder) return;
    const now = sim.nowMs;
    // Starts are not timestamped one by one: each is put in the interval that ends now, which lies in one bucket.
    for (; this.queueTimesRecorded < fleet.queueTimes.size; this.queueTimesRecorded++) recorder.buildStarted(now, fleet.queueTimes.at(this.queueTimesRecorded));
    // The end of the run may fall on a tick: that instant is sampled once.
    if (now === this.lastTimelineMs) return;
    this.lastTimelineMs = now;
    recorder.sample(now, { runQueueDepth: this.dispatcher.runQueue.length, pendingJobs: fleet.scheduler.counts().pending, runningTasks: fleet.runningTasks, readyClients: fleet.scheduler.readyNodeCount() });
  }

  /** The operator's view of Nomad at the end of the workload, as the troubleshooting chapter shows it. */
  private readonly snapshotNomad = (): void => {
    this.endNomadText = this.nomadText('end of the workload');
  };

  private nomadText(when: string): string {
    const at = formatDurationMs(this.sim.nowMs);
    if (!this.services.isUp('nomad_server')) return `# at ${at} (${when}): nomad_server is down\nError querying jobs: Unexpected response code: 500 (connection refused)\n`;
    const s = this.fleet.scheduler;
    return `# at ${at} (${when})\n$ nomad status\n${renderJobList(s.jobs())}\n\n$ nomad node-status -allocs\n${renderNodeStatusAllocs(s.nodes())}\n`;
  }

  /** Builds and webhooks still in the pipeline: the run may end when this is zero after `duration`. */
  activeWork(): number {
    const c = this.conductor;
    const f = this.frontend;
    return this.webhooksSent - f.received + (f.accepted + this.cron.triggered - c.started - c.rejected) + c.running;
  }

  get endReason(): string {
    return this.stopReason;
  }

  get cpuUtilisationMean(): number {
    return this.cpuUtilSamples === 0 ? 0 : this.cpuUtilSum / this.cpuUtilSamples;
  }

  /** Calls `fn` every `intervalMs` (after the other events of the same instant), until `untilMs` if given. */
  private every(intervalMs: number, fn: () => void, untilMs = Infinity): void {
    const tick = (): void => {
      fn();
      if (this.sim.nowMs + intervalMs <= untilMs) this.sim.schedule(intervalMs, tick, undefined, 10);
    };
    if (intervalMs <= untilMs) this.sim.schedule(intervalMs, tick, undefined, 10);
  }

  /** nomad-metrics polls the server and clients, services report queue depths, telegraf flushes. */
  private readonly statsdFlush = (): void => {
    const { telegraf, fleet, services, sim } = this;
    if (services.isUp('nomad-metrics')) {
      const c = services.isUp('nomad_server') ? fleet.scheduler.counts() : undefined;
      reportServerPoll(telegraf, c);
      if (c !== undefined) {
        if (c.pending > this.peakPendingJobs) this.peakPendingJobs = c.pending;
        // Re-render at a new peak only when it grew by a tenth: a bounded number of snapshots per run.
        if (c.pending > 0 && c.pending >= this.peakSnapshotPending * 1.1 + 1) {
          this.peakSnapshotPending = c.pending;
          this.peakNomadText = this.nomadText(`the most pending jobs so far: ${c.pending}`);
        }
      }
    }
    fleet.sampleClients();
    const usable = fleet.usableCpuMilli();
    const util = usable === 0 ? 0 : fleet.usedCpuMilli / usable;
    this.cpuUtilSum += util;
    this.cpuUtilSamples++;
    if (util > this.peakCpuUtilisation) this.peakCpuUtilisation = util;
    telegraf.gauge(METRICS.runnableBuilds, this.dispatcher.runQueue.length);
    telegraf.flush(sim.nowMs);
    this.recordTimeline();
    this.disk.tick(this.ledger.counts.succeeded + this.ledger.counts.failed);
    this.symptoms.tick(sim.nowMs);

    const hour = Math.floor((sim.nowMs - 1) / 3_600_000);
    const done = this.ledger.counts.succeeded + this.ledger.counts.failed;
    while (this.finishedPerHour.length <= hour) {
      this.doneAtHourStart += this.finishedPerHour[this.finishedPerHour.length - 1] ?? 0;
      this.finishedPerHour.push(0);
    }
    this.finishedPerHour[hour] = done - this.doneAtHourStart;

    if (sim.nowMs >= this.scenario.durationMs && this.activeWork() === 0) sim.stop();
  };

  /** Every build still without a fate at the end is stuck, with where it was. */
  private settleUnfinished(): void {
    const now = this.sim.nowMs;
    for (const build of [...this.conductor.inflight.values()].sort((a, b) => a.id - b.id)) {
      if (build.fate !== undefined) continue;
      // A build still in a queue has its message there: a lost message gave its build a fate when it went.
      const { reason } = this.ledger.settleUnfinished(build, { stage: build.stage, messageWaiting: true, nomadWiped: false, brokerWentDown: false }, now);
      this.conductor.buildAbandoned(build, reason);
    }
  }
}
