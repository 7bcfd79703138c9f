import type { Chosen } from '../backend-choice.ts';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Profile } from '../../../fixtures/schema.ts';
import type { SettledScenario, SettledFault } from '../../../sim/scenario/settled.ts';
import type { Report } from '../../../sim/report/types.ts';
import { planReplay, type PlannedWorkflow } from '../../../sim/models/workload/replay-plan.ts';
import { runWithBaseline } from '../../../sim/run.ts';
import { classify } from '../../../sim/severity.ts';
import { withSeverity } from '../../../sim/report/build-report.ts';
import { agreementTolerance, compareRuns, REAL_AGENT_AGREEMENT, starvationCaveat, type Agreement } from '../../../sim/agreement.ts';
import { scenarioAsCarriedOut, type CarriedOutFault } from '../../../sim/as-carried-out.ts';
import { tuningKeysWritten } from '../../../sim/scenario/tuning-keys.ts';
import { describeMutant, liveMutantFromEnv, type LiveMutant } from './mutants.ts';
import { Telegraf } from '../../../sim/metrics/telegraf.ts';
import { TIMINGS } from '../../../sim/models/timings.ts';
import { UiTraffic } from '../../../sim/models/services/ui-traffic.ts';
import { UI_REQUESTS } from '../pipeline/index.ts';
import type { BackendChoice } from '../../providers/index.ts';
import { ReplayStack, PUSH_REPO, SCHEDULED_REPO } from './stack.ts';
import { faultEntry, liveActionsOn, LIVE_GROUPS } from '../../../sim/faults/catalogue.ts';
import { undoOrder, type FaultOrder } from '../../../sim/faults/port.ts';
import { workflowConfig } from './config.ts';
import { accountLiveRun, type LiveObservations } from './account.ts';
import { peakStackRssMb, sampleStackRss } from './memory.ts';
import { cpuSnapshot, startLoopProbe } from './loop-probe.ts';
import { METRICS, reportServerPoll } from '../../../sim/metrics/metric-names.ts';
import { answersOk } from './answers-ok.ts';
import { realAgentClientRefusal } from '../../nomad/real-fleet.ts';
import { StartedNomadApiServer } from '../../nomad/server.ts';

/** A scenario the live replay cannot act out: names the fault and says what is supported. */
export class LiveUnsupportedError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'LiveUnsupportedError';
  }
}

/**
 * A live run stopped by SIGINT or SIGTERM: the stack was torn down; the CLI returns `exitCode` (130 or 143, as a
 * shell reports a process ended by the signal).
 */
export class LiveInterruptedError extends Error {
  readonly code = 'LIVE_INTERRUPTED';
  constructor(readonly signal: NodeJS.Signals) {
    super(`${signal}: the live run was stopped and its stack torn down; nothing was written`);
    this.name = 'LiveInterruptedError';
  }

  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}

/** Checks that every fault of the scenario has a live counterpart (the catalogue's live column); throws before anything is started. */
export function checkLiveSupport(scenario: SettledScenario, nomad: 'real' | 'twin' = 'twin'): void {
  const systems = (['services_machine', 'nomad_server', 'nomad_client'] as const).map((t) => `${liveActionsOn(t).join('/')} ${t}`);
  scenario.faults.forEach((f, i) => {
    const actions = liveActionsOn(f.target);
    const where = `${scenario.file}: faults[${i}] (${f.action} ${f.writtenTarget} at ${f.atMs / 60_000} min)`;
    // The fleet's faults act on the twin's clients (simulated clients, build agents in this process); a real agent
    // is one process, server and one client node: a drain of that node is carried out, the rest refused with why
    // (real-fleet.ts). Its server is a process the adapter acts on.
    const refused = nomad !== 'real' ? undefined : f.target === 'services_machine' ? "the real agent's client is this machine, not the twin's fleet" : f.target === 'nomad_client' ? realAgentClientRefusal(f.action, f.count) : undefined;
    if (refused !== undefined) {
      throw new LiveUnsupportedError(
        `${where}: with --nomad real, live mode cannot ${f.action} \`${f.writtenTarget}\`${f.count > 1 ? ` (count ${f.count})` : ''}: ${refused}`,
        'run it without --nomad real (the twin\'s Nomad API and its clients), or keep to faults on nomad_server (kill, stop, start, restart, wipe_state), a drain of nomad_client with count 1, and the services',
      );
    }
    if (actions.length === 0) {
      throw new LiveUnsupportedError(
        `${where}: live mode cannot act on \`${f.writtenTarget}\` yet`,
        `live faults act on the real processes ${LIVE_GROUPS.process.join(', ')}, the pipeline services ${LIVE_GROUPS.service.join(', ')}, and: ${systems.join('; ')}; run this scenario with --mode sim`,
      );
    }
    if (!actions.includes(f.action)) {
      const why = faultEntry(f.action).live.whyNot;
      throw new LiveUnsupportedError(`${where}: live mode cannot ${f.action} \`${f.writtenTarget}\`${why ? ` (${why})` : ''}`, `on ${f.writtenTarget} live mode can: ${actions.join(', ')}`);
    }
  });
  if (scenario.backups || scenario.disaster) throw new LiveUnsupportedError(`${scenario.file}: backups and disasters are not replayed live yet`, 'run this scenario with --mode sim');
  // The tuning keys act in the simulation only: the replay's fleet is fixed, the twin's Nomad API bin-packs, and
  // the live report carries no cost. Refused rather than ignored.
  const tuning = tuningKeysWritten(scenario).map((k) => (k === 'topology.scheduler' ? '`topology.scheduler: spread`' : `\`${k}\``));
  if (tuning.length > 0) throw new LiveUnsupportedError(`${scenario.file}: ${tuning.join(', ')} ${tuning.length === 1 ? 'is' : 'are'} not replayed live yet (the simulation acts on ${tuning.length === 1 ? 'it' : 'them'})`, 'run this scenario with --mode sim');
}

export interface LiveRunOptions {
  /** Scenario ms per wall ms; default the scenario's `time_scale` (60). */
  timeScale?: number;
  choice?: Partial<Record<Chosen, BackendChoice>>;
  urls?: Partial<Record<Chosen, string>>;
  /** Lines for people (boot steps, faults as they happen). */
  log?: (line: string) => void;
  /** Scenario time reached and where it ends, every statsd interval. */
  onProgress?: (virtualMs: number, endMs: number) => void;
  /** A deliberate defect of the live side (`mutants.ts`); default `TWIN_LIVE_MUTANT`'s. */
  mutant?: LiveMutant;
  /** `real`: the builds run on a real Nomad agent when one is found (`twin run --mode live --nomad real`). */
  nomad?: 'real' | 'twin';
  /** Documented ports at this offset + port (default `REPLAY_PORT_OFFSET`): a test's stack apart from the others. */
  portOffset?: number;
}

export interface LiveRunOutput {
  report: Report;
  /** The simulated run of the same scenario and seed as planned (`sim-report.json`). */
  sim: Report;
  /** The simulated run with the faults' timings as the live run carried them out: what the live run is compared with. */
  simAsCarriedOut: Report;
  agreement: Agreement;
  files: Record<string, string>;
}

/** One thing that happens at a scenario time during the replay. */
type Step = { atMs: number; order: number } & ({ kind: 'workflow'; workflow: PlannedWorkflow } | { kind: 'fault'; fault: SettledFault; index: number; op: FaultOrder } | { kind: 'tick' } | { kind: 'ui' });

/** Waits `ms`; rejects with the interruption at once when the run is stopped (Ctrl-C). */
const sleep = (ms: number, stop: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (stop.aborted) return reject(stop.reason as Error);
    const t = setTimeout(() => {
      stop.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(stop.reason as Error);
    };
    stop.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Replays a scenario on the live pipeline in compressed wall-clock time: the simulation's arrivals (same seed,
 * same streams) become pushes to the fake GitHub Enterprise, scheduled workflows become pipeline triggers,
 * and each fault acts on the real process or service at its time (and is undone after `for`). Queue time is
 * measured on real messages and scaled back to scenario time. The report follows the same contract as the
 * simulation's; its severity is classified against the simulated fault-free baseline of the same seed, and an
 * agreement section compares it with the simulated run.
 */
export async function runLive(scenario: SettledScenario, profile: Profile, opts: LiveRunOptions = {}): Promise<LiveRunOutput> {
  checkLiveSupport(scenario, opts.nomad);
  const scale = opts.timeScale ?? scenario.timeScale;
  const log = opts.log ?? (() => undefined);
  const sim = runWithBaseline(scenario, profile);
  const plan = planReplay(scenario);
  const mutant = 'mutant' in opts ? opts.mutant : liveMutantFromEnv();
  if (mutant) log(`MUTANT ON: ${describeMutant(mutant)}: this live run is deliberately defective`);

  startLoopProbe();
  const wallStart = performance.now();
  const stack = new ReplayStack({ scenario, profile, timeScale: scale, ...(mutant ? { mutant } : {}), ...(opts.nomad ? { nomad: opts.nomad } : {}), ...(opts.choice ? { choice: opts.choice } : {}), ...(opts.urls ? { urls: opts.urls } : {}), ...(opts.portOffset === undefined ? {} : { portOffset: opts.portOffset }), log });
  // Ctrl-C or a kill leaves nothing behind: the replay stops where it waits, the processes are ended and their temp
  // dirs removed (runOnStack's `finally`), and the run rejects with LiveInterruptedError for the CLI's exit code.
  return interruptible(log, 'stopping the live stack', (stop) => runOnStack(scenario, profile, stack, sim, plan, scale, { ...opts, ...(mutant ? { mutant } : {}) }, log, wallStart, stop));
}

/**
 * Runs `body` with SIGINT and SIGTERM turned into an abort of its signal: `body` stops at its next step and tears
 * down what it started; the run then rejects with LiveInterruptedError (the CLI's 130 or 143). The listeners stay
 * until the teardown is over: a second Ctrl-C (or a signal the teardown itself raises) must not end the process
 * with its default action half-way through.
 */
export async function interruptible<T>(log: (line: string) => void, doing: string, body: (stop: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) return;
    log(`${signal}: ${doing} …`);
    stop.abort(new LiveInterruptedError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(stop.signal);
  } catch (err) {
    // Whatever failed while the stack was being torn down for a signal is the interruption.
    if (stop.signal.aborted) throw stop.signal.reason as Error;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runOnStack(
  scenario: SettledScenario,
  profile: Profile,
  stack: ReplayStack,
  sim: ReturnType<typeof runWithBaseline>,
  plan: PlannedWorkflow[],
  scale: number,
  opts: LiveRunOptions,
  log: (line: string) => void,
  wallStart: number,
  stop: AbortSignal,
): Promise<LiveRunOutput> {
  try {
    await stack.up();
  } finally {
    if (stop.aborted) await stack.down();
  }
  stop.throwIfAborted();
  const bootMs = Math.round(performance.now() - wallStart);
  log(`stack up in ${(bootMs / 1000).toFixed(1)} s; replaying ${plan.length} workflows and ${scenario.faults.length} faults at ${scale}× (${(scenario.durationMs / scale / 1000).toFixed(0)} s of wall time)`);
  const rss = sampleStackRss();
  try {
    const carried: CarriedOutFault[] = [];
    const observed = await replay(scenario, profile, stack, plan, scale, opts, log, rss, stop, carried);
    if (process.env['TWIN_LOOP_PROBE']) log(await phaseProfile(stack, scale));
    const { report: live, stored } = await accountLiveRun(scenario, profile, observed);
    const classified = sim.baseline ? classify(live, sim.baseline) : { severity: 'none' as const, because: [] };
    const report = sim.baseline ? withSeverity(live, classified.severity, classified.because, scenario.expect) : live;
    // The live run is compared with the simulation of its faults as carried out (the real restart durations).
    const asCarried = carried.length > 0 ? runWithBaseline(scenarioAsCarriedOut(scenario, carried), profile).report : sim.report;
    const tolerance = agreementTolerance(scale);
    const compared = compareRuns(asCarried, report, tolerance, { planned: scenario.faults.length, carried });
    // On a real agent the builds' process start is outside what the agreement allows; CPU starvation is the other reason to doubt it.
    const caveat = !(stack.nomad instanceof StartedNomadApiServer) ? `the builds ran on a real Nomad agent (--nomad real): ${REAL_AGENT_AGREEMENT}; the counts are comparable, the queue times are not` : observed.liveSection.main_loop_delay_ms ? starvationCaveat(observed.liveSection.main_loop_delay_ms, tolerance) : undefined;
    const agreement = caveat ? { ...compared, caveat } : compared;
    const mutantNote = opts.mutant ? { mutant: describeMutant(opts.mutant) } : {};
    const full: Report = { ...report, live: { ...observed.liveSection, ...mutantNote, boot_ms: bootMs, boot_ms_by_component: { ...stack.bootMs }, backends: stack.backends(), peak_rss_mb: peakStackRssMb(rss), ...(rss.peakPssKb > 0 ? { peak_pss_mb: Math.round(rss.peakPssKb / 1024) } : {}), stored }, agreement };
    return { report: full, sim: sim.report, simAsCarriedOut: asCarried, agreement, files: { 'fault-log.txt': observed.faultLog.join('\n') + '\n', 'sim-as-carried-out-report.json': JSON.stringify(asCarried, null, 2) + '\n' } };
  } finally {
    rss.stop();
    await stack.down();
  }
}

async function replay(
  scenario: SettledScenario,
  profile: Profile,
  stack: ReplayStack,
  plan: PlannedWorkflow[],
  scale: number,
  opts: LiveRunOptions,
  log: (line: string) => void,
  rss: ReturnType<typeof sampleStackRss>,
  stop: AbortSignal,
  carried: CarriedOutFault[],
): Promise<LiveObservations> {
  const steps: Step[] = [];
  let order = 0;
  for (const w of plan) steps.push({ atMs: w.atMs, order: order++, kind: 'workflow', workflow: w });
  scenario.faults.forEach((f, index) => {
    steps.push({ atMs: f.atMs, order: order++, kind: 'fault', fault: f, index, op: f });
    // `for:` ends with the catalogue's undo of the action (validation refused `for` where there is none).
    if (f.forMs !== undefined) steps.push({ atMs: f.atMs + f.forMs, order: order++, kind: 'fault', fault: f, index, op: undoOrder(f) });
  });
  const interval = profile.metrics.statsd_interval_ms;
  for (let t = interval; t <= scenario.durationMs; t += interval) steps.push({ atMs: t, order: order++, kind: 'tick' });
  // People's UI and API requests, one of each kind a minute while the workload runs (as UiTraffic does).
  for (let t = UiTraffic.intervalMs; t <= scenario.durationMs; t += UiTraffic.intervalMs) steps.push({ atMs: t, order: order++, kind: 'ui' });
  steps.sort((a, b) => a.atMs - b.atMs || a.order - b.order);

  const telegraf = new Telegraf(profile.metrics.names.map((m) => m.name));
  const faultLog: string[] = opts.mutant ? [`MUTANT ON: ${describeMutant(opts.mutant)}`] : [];
  const triggers: Promise<void>[] = [];
  const scheduled = { triggered: 0, skipped: 0 };
  const ui = { requests: 0, failed: 0, failed_by_kind: {} as Record<string, number> };
  const uiRequests: Promise<void>[] = [];
  const request = async (kind: string, path: string): Promise<void> => {
    ui.requests++;
    if (!(await answersOk(`${stack.frontendUrl}${path}`, 5_000))) {
      ui.failed++;
      ui.failed_by_kind[kind] = (ui.failed_by_kind[kind] ?? 0) + 1;
    }
  };
  const notTriggered: { what: string; reason: string; atMs: number }[] = [];
  let peakPending = 0;
  let ticking = false;
  // Fault actions on one target run in order; different targets do not wait for each other.
  const chains = new Map<string, Promise<void>>();
  const paused = new Set<string>();
  let brokerWentDown = false;

  // Every push's config is written before the clock starts: YAML serialisation took 6 ms a workflow of this thread's
  // time at load 20-48 (5.7 s over 959 workflows), each millisecond 240 ms of scenario time at 240×.
  const configs = new Map(plan.map((w) => [w, workflowConfig(w)]));

  // How late this thread runs while the workload replays: the agreement's caveat when the machine is short of CPU.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const t0 = performance.now();
  const cpu0 = process.env['TWIN_LOOP_PROBE'] ? cpuSnapshot() : undefined;
  const epochMs = Date.now();
  const virtualNow = () => Math.round((performance.now() - t0) * scale);
  const stamp = (ms: number) => `${String(Math.floor(ms / 3_600_000)).padStart(2, '0')}:${String(Math.floor((ms % 3_600_000) / 60_000)).padStart(2, '0')}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

  const trigger = async (w: PlannedWorkflow): Promise<void> => {
    const config = configs.get(w) ?? workflowConfig(w);
    if (w.source === 'push') {
      const r = await stack.ghe.push(PUSH_REPO, { files: { '.circleci/config.yml': config }, message: `${w.templateName} #${w.seq}` });
      // A webhook GHE could not deliver is a push that triggered nothing (GHE's redelivery is not guaranteed).
      const failed = r.deliveries.find((d) => !d.ok);
      if (failed) notTriggered.push({ what: `webhook ${w.seq}`, reason: `frontend answered ${failed.statusCode ?? 'nothing'}: the push was not triggered`, atMs: w.atMs });
      return;
    }
    const commit = await stack.ghe.push(SCHEDULED_REPO, { files: { '.circleci/config.yml': config }, message: `${w.templateName} (scheduled) #${w.seq}` });
    const res = await fetch(`${stack.frontendUrl}/api/v2/project/gh/${SCHEDULED_REPO}/pipeline`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sha: commit.commit.sha }),
      signal: AbortSignal.timeout(5_000),
    }).catch((err: unknown) => err as Error);
    if (res instanceof Response && res.ok) {
      scheduled.triggered++;
      await res.text();
    } else {
      scheduled.skipped++;
      const why = res instanceof Response ? `frontend answered ${res.status}` : 'frontend unreachable';
      notTriggered.push({ what: `scheduled workflow ${w.seq}`, reason: `${why}: the scheduled workflow did not run`, atMs: w.atMs });
    }
  };

  const act = (step: Extract<Step, { kind: 'fault' }>): void => {
    const target = step.fault.target;
    const prev = chains.get(target) ?? Promise.resolve();
    const next = prev.then(async () => {
      const at = virtualNow();
      try {
        const { action } = step.op;
        const isUndo = step.op !== step.fault;
        // A no-restart mutant: the undo is logged as done, as a silently broken restart would be, but nothing happens.
        const swallowed = opts.mutant?.kind === 'no-restart' && isUndo;
        const what = swallowed ? 'MUTANT no-restart: not carried out' : await stack.act(step.op);
        if (!isUndo) carried.push({ index: step.index, appliedAtMs: at });
        else {
          const applied = carried.find((c) => c.index === step.index);
          if (applied) applied.backAtMs = virtualNow();
        }
        if (target === 'rabbitmq' && (action === 'kill' || action === 'stop' || action === 'restart')) brokerWentDown = true;
        if (action === 'pause') paused.add(target);
        if (action === 'unpause') paused.delete(target);
        const line = `${stamp(step.atMs)} (at ${stamp(at)}, done ${stamp(virtualNow())}) ${action} ${target}: ${what}`;
        faultLog.push(line);
        log(`  ${line}`);
      } catch (err) {
        const line = `${stamp(step.atMs)} ${step.op.action} ${target} FAILED: ${err instanceof Error ? err.message : String(err)}`;
        faultLog.push(line);
        log(`  ${line}`);
      }
    });
    chains.set(target, next);
  };

  const tick = async (atMs: number): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      const depths = await stack.queueDepths();
      if (depths) telegraf.gauge(METRICS.runnableBuilds, depths['run-queue'] ?? 0);
      const c = await stack.nomadJobCounts();
      // nomad-metrics polls the Nomad server: a poll that gets no answer is a poll failure.
      const polled = c !== undefined && (await answersOk(`${stack.nomad.url}/v1/status/leader`, 1_000));
      reportServerPoll(telegraf, polled ? c : undefined);
      if (c !== undefined && c.pending > peakPending) peakPending = c.pending;
      telegraf.flush(atMs);
      rss.sample();
      opts.onProgress?.(atMs, scenario.durationMs);
    } finally {
      ticking = false;
    }
  };

  for (const step of steps) {
    const wait = step.atMs / scale - (performance.now() - t0);
    if (wait > 1) await sleep(wait, stop);
    stop.throwIfAborted();
    if (step.kind === 'workflow') triggers.push(trigger(step.workflow).catch((err: unknown) => void notTriggered.push({ what: `workflow ${step.workflow.seq}`, reason: `the replay could not push: ${String(err)}`, atMs: step.atMs })));
    else if (step.kind === 'fault') act(step);
    else if (step.kind === 'ui') for (const [kind, u] of Object.entries(UI_REQUESTS)) uiRequests.push(request(kind, u.path));
    // A tick that throws is logged, never left as an unhandled rejection: the metrics of that minute are missing.
    else void tick(step.atMs).catch((err: unknown) => log(`  ${stamp(step.atMs)} metrics tick failed: ${err instanceof Error ? err.message : String(err)}`));
  }
  const workloadWallMs = Math.round(performance.now() - t0);
  loopDelay.disable();
  const delayMs = (ns: number) => Math.round(ns / 1e6);
  const mainLoopDelayMs = { p50: delayMs(loopDelay.percentile(50)), p99: delayMs(loopDelay.percentile(99)), max: delayMs(loopDelay.max) };
  if (cpu0) {
    const c = cpuSnapshot();
    log(`CPU over the workload (${(workloadWallMs / 1000).toFixed(1)} s wall): main thread ${(c.main - cpu0.main).toFixed(1)} s, other threads ${(c.otherThreads - cpu0.otherThreads).toFixed(1)} s, child processes ${(c.children - cpu0.children).toFixed(1)} s`);
    const top = [...c.byThread].map(([k, v]) => [k, v - (cpu0.byThread.get(k) ?? 0)] as const).sort((a, b) => b[1] - a[1]);
    log(`threads: ${c.byThread.size}; busiest: ${top.slice(0, 16).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  }
  log(`workload replayed; waiting for ${triggers.length} pushes and triggers to be answered and the faults to finish`);
  await Promise.all(triggers);
  await Promise.all(uiRequests);
  await Promise.all(chains.values());
  stop.throwIfAborted();
  log('draining: waiting for the builds in flight');

  // Drain: in-flight work may finish, within the simulation's drain limit (scaled, at most two minutes).
  const drainLimit = Math.min(120_000, Math.max(5_000, TIMINGS.drainLimitMs / scale));
  const drainStart = performance.now();
  let quiet = 0;
  let stopReason = 'drain-limit';
  while (performance.now() - drainStart < drainLimit) {
    const active = await activeWork(stack);
    quiet = active === 0 ? quiet + 1 : 0;
    if (quiet >= 3) {
      stopReason = 'drained';
      break;
    }
    await sleep(250, stop);
  }
  const endedAtMs = virtualNow();
  log(`${stopReason} at ${stamp(endedAtMs)}`);
  // Whatever is still paused is let go so that it can be stopped; audit events that arrived are written.
  for (const target of paused) await stack.act({ action: 'unpause', target, count: 1 }).catch(() => undefined);
  await stack.readyForAccounting();
  await stack.flushAuditLog();
  const depths = (await stack.queueDepths()) ?? {};
  return {
    stack,
    epochMs,
    scale,
    endedAtMs,
    stopReason,
    depths,
    brokerWentDown,
    notTriggered,
    scheduled,
    ui: { ...ui, failed_by_kind: Object.fromEntries(Object.entries(ui.failed_by_kind).sort(([a], [b]) => (a < b ? -1 : 1))) },
    telegraf,
    peakPending,
    faultLog,
    webhookDeliveries: stack.ghe.deliveries({ repo: PUSH_REPO, event: 'push' }),
    eventsFired: steps.length,
    liveSection: {
      time_scale: scale,
      wall_ms: Math.round(performance.now() - t0),
      workload_wall_ms: workloadWallMs,
      drain_wall_ms: Math.round(performance.now() - drainStart),
      stop_reason: stopReason,
      fault_log: faultLog,
      main_loop_delay_ms: mainLoopDelayMs,
      not_measured: [
        'vm_service.stale_peak, vm_service.stale_instance_hours (every termination succeeds on the EC2 endpoint: vm-gc has nothing to reap)',
        'capacity.mean_cpu_utilisation, capacity.peak_cpu_utilisation',
        'test_results.peak_backlog (results are stored, not parsed)',
        'services_machine (the disk is not filled live)',
      ],
    },
  };
}

/**
 * Work still in the pipeline: messages waiting in its queues and Nomad jobs pending or running. A build whose
 * allocation ended but whose end was never recorded (output-processor or its stores down) is not work: nothing
 * will move it any more.
 */
async function activeWork(stack: ReplayStack): Promise<number> {
  const depths = await stack.queueDepths();
  if (depths === undefined) return 1;
  const jobs = await stack.nomadJobCounts();
  if (jobs === undefined) return 1;
  return jobs.pending + jobs.running + Object.values(depths).reduce((a, b) => a + b, 0);
}

/** Where builds' queue time went, per phase (scenario seconds, p50/p95/max): a profiling aid with TWIN_LOOP_PROBE. */
async function phaseProfile(stack: ReplayStack, scale: number): Promise<string> {
  const phases = [
    ['queued→dispatched', 'dispatched_at - queued_at'],
    ['dispatched→scheduled', 'scheduled_at - dispatched_at'],
    ['scheduled→started', 'started_at - scheduled_at'],
    ['queued→started', 'started_at - queued_at'],
  ] as const;
  const out: string[] = [];
  for (const [name, expr] of phases) {
    const r = await stack.pool.query<{ p50: number; p95: number; max: number; n: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY s) AS p95, max(s) AS max, count(*)::int AS n FROM (SELECT EXTRACT(EPOCH FROM (${expr})) AS s FROM builds) x WHERE s IS NOT NULL`,
    );
    const row = r.rows[0]!;
    const f = (x: number) => (Number(x) * scale).toFixed(1);
    out.push(`${name} n ${row.n} p50 ${f(row.p50)} p95 ${f(row.p95)} max ${f(row.max)} s`);
  }
  const wall = Object.entries(stack.runner.postMs ?? {}).map(([k, v]) => {
    const sorted = [...v].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]?.toFixed(0);
    return `${k} n ${v.length} p50 ${at(0.5)} p95 ${at(0.95)} max ${at(1)} ms`;
  });
  return `phases (scenario s): ${out.join('; ')}\n  build agents (wall ms): ${wall.join('; ')}`;
}
