import http from 'node:http';
import type { Container, Profile } from '../../fixtures/schema.ts';
import type { FaultOrder } from '../../sim/faults/port.ts';
import type { NomadScheduler } from '../../sim/models/nomad/scheduler.ts';
import { clockTime } from '../../sim/symptoms/clock-text.ts';
import { containerLogs, type LifeEvent } from '../../sim/symptoms/container-logs.ts';
import { DOCKER_NAMES, dockerName, listedContainers, renderDockerPs, type ContainerLife } from '../../sim/symptoms/docker-ps.ts';
import { findContainer } from '../../fixtures/lookup.ts';
import { buildUrls, devConsoleForm, type DevConsoleQueue } from '../../sim/training/dev-console.ts';
import type { SettledDrill } from '../../sim/training/drill.ts';
import { causeOf, judgeClients, judgeHealth, judgeNextBuild, judgeQueueDrains, judgeRunning, judgeStaleAllocations, liveServiceState, LIVE_SHELL_COMMANDS, notOnLiveStack, type LiveBuildsSince, type LiveQueues } from '../../sim/training/live-support.ts';
import { nomadNodeStatusText, nomadStatusText } from '../../sim/training/nomad-text.ts';
import { MAX_SESSION_COMMANDS, type AnswerRecord, type FollowStep, type CheckResult, type LineResult, type TrainingResult, type TranscriptEntry } from '../../sim/training/session.ts';
import { applyFilters, parsePipeline, parseShellLine, type Filter, type ShellCommand } from '../../sim/training/shell.ts';
import { actionMsOf, drillBanner, gradeSession, hintText, judgeAnswer } from '../../sim/training/tutor.ts';
import { formatDurationMs } from '../../sim/util/duration.ts';
import type { ConsoleSession } from './console.ts';
import { LiveMachineCommands, type LiveMachine } from './live-commands.ts';
import { LiveFollow } from './live-follow.ts';

/**
 * The drill console on the live stack: the simulation's shell grammar (sim/training/shell.ts), its tutor
 * (answers, hints, grade) and its read-outs (docker ps, nomad status), answered from the live stack's rows, its
 * real health endpoints, PostgreSQL and the twin's Nomad API; `docker start|stop|restart` act on the stack through
 * its fault port. What a command means stays in sim/training: this file only does I/O.
 */

/** One row of the live stack as the console reads it (harness/live/stack.ts `LiveRow`). */
export interface LiveRowView {
  readonly state: string;
  readonly healthUrl?: string | undefined;
  /** `127.0.0.1:<port>-><documented>/tcp`. */
  readonly ports: readonly string[];
}

/**
 * `LiveStack.logs` (a service's own log lines), where the stack has it: coded against that signature so that a stack
 * with real service logs answers `docker logs`; without it the console generates the log from the row's history.
 */
export interface LiveLogSource {
  logs(name: string, opts?: { tail?: number }): readonly string[];
  /** `docker logs -f`: the lines written from now on, until `signal` aborts (`LiveStack.follow`). */
  follow?(name: string, signal: AbortSignal): AsyncIterable<string>;
}

/** What the console needs of the running installation (harness/train/live-installation.ts). */
export interface LiveInstallation {
  readonly profile: Profile;
  readonly storage: 's3' | 'fileserved';
  /** The installation's time now (virtual ms since its start). */
  nowMs(): number;
  rows(): ReadonlyMap<string, LiveRowView>;
  /** Carries out a lifecycle order on a container (start, stop, restart); resolves once it took effect. */
  act(order: FaultOrder): Promise<string>;
  refreshHealth(): Promise<void>;
  /** Service logs, when the stack has them. */
  readonly logSource?: LiveLogSource | undefined;
  /** The Services machine around the stack (Replicated's app, /etc/circleconfig, its disks, its AWS account), where there is one. */
  readonly machine?: LiveMachine | undefined;
  /** The twin's Nomad API scheduler (read-only use), or undefined when the server is not the twin's. */
  nomadScheduler(): NomadScheduler | undefined;
  /** Whether the Nomad server answers. */
  nomadUp(): Promise<boolean>;
  /** Drains a client or makes it take work again, through the Nomad HTTP API; resolves with the node's full id. */
  nomadDrain(nodePrefix: string, enable: boolean): Promise<string | undefined>;
  queues(): Promise<LiveQueues>;
  /** Allocations of a restored /opt/nomad the Nomad server still holds (undefined: it does not say). */
  staleAllocations?(): number | undefined;
  /** Builds of a dev-console queue (oldest first): `usage` (waiting for dispatcher) or `run` (waiting for picard-dispatcher). */
  queuedBuilds(queue: DevConsoleQueue): Promise<string[]>;
  /** Builds queued at or after `sinceMs` (virtual). */
  buildsSince(sinceMs: number): Promise<LiveBuildsSince>;
}

/** Wall time curl waits for a health endpoint (a hung service: curl's own (28) after it). */
export const LIVE_CURL_TIMEOUT_MS = 3_000;
/** How often the verification looks while it waits for the fix to show (wall ms). */
export const VERIFY_POLL_MS = 1_000;
/** The verification waits at least this much wall time, however fast the time scale. */
export const MIN_VERIFY_WALL_MS = 5_000;

/** Container ports that do not speak HTTP (the stores, the Nomad RPC ports): curl gets an empty reply. */
const NOT_HTTP: ReadonlySet<number> = new Set([5432, 6379, 27017, 5672, 5671, 4369, 25672, 4647, 4648]);

/** The drill console on the live stack (implements the console's session: `runScript`, `runInteractive`). */
export class LiveTrainingSession implements ConsoleSession {
  readonly entries: TranscriptEntry[] = [];
  readonly answers: AnswerRecord[] = [];
  private hints = 0;
  private mode: 'shell' | 'dev-console' = 'shell';
  private namespace = 'user';
  private ended: TrainingResult['endedBy'] | undefined;
  private readonly listed: Container[];
  /** Each container's state changes as the console saw them (virtual ms): `docker ps` ages and the generated logs. */
  private readonly history = new Map<string, LifeEvent[]>();
  private readonly loginMs: number;
  /** The nomad binary's line in progress (`beginExternal`). */
  private externalAtMs = 0;
  /** Installation time the console spent waiting for the live stack (a restart, a health probe): not the trainee's. */
  private busyMs = 0;
  /** The Services machine's commands (live-commands.ts), when the installation has a machine. */
  private readonly machineCommands: LiveMachineCommands | undefined;
  /** `docker logs -f` that `dockerLogs` began (the line's entry and filters are attached in `execute`), and the one following. */
  private followFrom: string | undefined;
  private follow: LiveFollow | undefined;

  constructor(
    readonly drill: SettledDrill,
    private readonly inst: LiveInstallation,
    private readonly opts: { seed: number; commandMs: number; timeScale: number; wallMs?: () => number; sleep?: (ms: number) => Promise<void> },
  ) {
    this.listed = listedContainers(inst.profile, inst.storage);
    this.loginMs = inst.nowMs();
    this.machineCommands = inst.machine === undefined ? undefined : new LiveMachineCommands(inst.machine, { profile: inst.profile, listed: this.listed, rowState: (n) => inst.rows().get(n)?.state, resolve: (n) => this.resolve(n) });
  }

  /** Records what the hidden fault did, at its time (before the trainee logs in). */
  recordFault(order: FaultOrder, atMs: number): void {
    this.note(order.target, atMs, order.action);
  }

  get prompt(): string {
    return this.mode === 'shell' && this.machineCommands?.inRepl !== true ? 'ubuntu@ip-172-31-72-162:~$ ' : `${this.namespace}=> `;
  }

  get isOver(): boolean {
    return this.ended !== undefined;
  }

  banner(): string {
    return `${drillBanner(this.drill, this.loginMs)}\n(On the live stack: the installation runs at ${this.opts.timeScale}× the wall clock while you work.)`;
  }

  endOfInput(): void {
    this.ended ??= 'end-of-input';
  }

  private get elapsedMs(): number {
    return this.inst.nowMs() - this.loginMs;
  }

  async execute(line: string): Promise<LineResult> {
    if (this.ended !== undefined) throw new Error('the session is over');
    if (this.follow !== undefined) throw new Error('docker logs -f is following: stopFollowing() first');
    const atMs = this.elapsedMs;
    const clock = clockTime(this.inst.nowMs());
    let output: string;
    let exit: number;
    const inRepl = this.machineCommands?.inRepl === true;
    const inShell = this.mode === 'shell' && !inRepl;
    const pipeline = !inShell ? { command: line, filters: [] } : parsePipeline(line);
    if ('kind' in pipeline) ({ output, exit } = pipeline);
    else if (inRepl) {
      const r = await this.machineCommands!.replLine(line);
      if (r === undefined) return { output: '', exit: 0, ended: false };
      ({ output, exit } = r);
    } else if (this.mode === 'dev-console') {
      const r = await this.devConsole(line);
      if (r === undefined) return { output: '', exit: 0, ended: false };
      ({ output, exit } = r);
    } else {
      const parsed = parseShellLine(pipeline.command);
      if (parsed.kind === 'noop') return { output: '', exit: 0, ended: false };
      if (parsed.kind === 'refusal') ({ output, exit } = parsed);
      else if (!LIVE_SHELL_COMMANDS.includes(parsed.kind)) ({ output, exit } = { output: notOnLiveStack(pipeline.command), exit: 1 });
      else ({ output, exit } = await this.run(parsed));
      if (pipeline.filters.length > 0) ({ output, exit } = applyFilters(output, exit, pipeline.filters, this.machineCommands === undefined ? undefined : (f, text) => this.machineCommands!.tee(f, text)));
    }
    this.busyMs += this.elapsedMs - atMs;
    const entry = { at_ms: atMs, clock, command: line.trim(), exit, output };
    this.entries.push(entry);
    if (this.followFrom !== undefined) return this.startFollow(this.followFrom, entry, 'kind' in pipeline ? [] : pipeline.filters);
    if (inShell && /^\s*(exit|logout)\s*$/.test(line)) this.ended = 'exit';
    else if (this.entries.length >= MAX_SESSION_COMMANDS) {
      this.ended = 'command-limit';
      output += `${output ? '\n' : ''}(the drill's command limit, ${MAX_SESSION_COMMANDS} commands, is reached: the session ends)`;
    }
    return { output, exit, ended: this.ended !== undefined };
  }

  /** The real `nomad` binary's line (console.ts `executeLine`): its time is taken now. */
  beginExternal(): void {
    this.externalAtMs = this.elapsedMs;
  }

  recordExternal(line: string, output: string, exit: number): LineResult {
    this.busyMs += this.elapsedMs - this.externalAtMs;
    const pipeline = parsePipeline(line);
    if (!('kind' in pipeline) && pipeline.filters.length > 0) ({ output, exit } = applyFilters(output, exit, pipeline.filters));
    this.entries.push({ at_ms: this.externalAtMs, clock: clockTime(this.loginMs + this.externalAtMs), command: line.trim(), exit, output });
    if (this.entries.length >= MAX_SESSION_COMMANDS) this.ended = 'command-limit';
    return { output, exit, ended: this.ended !== undefined };
  }

  private async run(c: Exclude<ShellCommand, { kind: 'noop' }>): Promise<{ output: string; exit: number }> {
    switch (c.kind) {
      case 'docker-ps':
        await this.look();
        return { output: renderDockerPs(this.listed, this.life, this.inst.nowMs(), { all: c.all }), exit: 0 };
      case 'docker-logs':
        return this.dockerLogs(c.container, c.tail, c.follow);
      case 'docker-lifecycle':
        return this.dockerLifecycle(c.verb, c.containers);
      case 'nomad-status':
      case 'nomad-node-status': {
        const s = this.inst.nomadScheduler();
        if (s === undefined || !(await this.inst.nomadUp())) return { output: 'Error querying jobs: Get http://127.0.0.1:4646/v1/jobs: dial tcp 127.0.0.1:4646: connect: connection refused', exit: 1 };
        return c.kind === 'nomad-status' ? nomadStatusText(s, c.job) : nomadNodeStatusText(s, c.allocs, c.self, c.node);
      }
      case 'nomad-node-drain': {
        if (c.self || c.node === undefined) return { output: 'Error determining local node ID: Node ID not found (name a node: nomad node-status lists them)', exit: 1 };
        const id = await this.inst.nomadDrain(c.node, c.enable);
        if (id === undefined) return { output: `No node(s) with prefix or id "${c.node}" found`, exit: 1 };
        return { output: `Node "${id}" drain strategy ${c.enable ? 'set' : 'unset'}`, exit: 0 };
      }
      case 'curl':
        return this.curl(c.url, c.headers);
      case 'dev-console':
        this.mode = 'dev-console';
        this.namespace = 'user';
        return { output: 'nREPL server started on port 6005\nCircleCI Dev-Console (a REPL into frontend). `exit` leaves it.', exit: 0 };
      case 'answer': {
        const r = judgeAnswer(this.drill, c.words, (n) => this.resolve(n), this.elapsedMs);
        if (r.record !== undefined) this.answers.push(r.record);
        return { output: r.output, exit: r.exit };
      }
      case 'hint': {
        const h = hintText(this.drill, this.hints);
        if (h.counted) this.hints++;
        return { output: h.output, exit: 0 };
      }
      case 'help':
        return { output: liveHelp(this.listed, this.opts.timeScale), exit: 0 };
      case 'exit':
        return { output: 'logout', exit: 0 };
      default:
        return this.machineCommands === undefined ? { output: notOnLiveStack(c.kind), exit: 1 } : this.machineCommands.run(c);
    }
  }

  /** The canonical container a typed name means (canonical, alias, or the `docker ps` name). */
  resolve(name: string): string | undefined {
    const byDocker = Object.entries(DOCKER_NAMES).find(([, d]) => d === name)?.[0];
    if (byDocker !== undefined) return byDocker;
    const c = findContainer(this.inst.profile, name);
    return c !== undefined && this.inst.rows().has(c.name) ? c.name : undefined;
  }

  /** The rows as they are now: health probed, each state change since the last look recorded. */
  private async look(refresh = true): Promise<void> {
    if (refresh) await this.inst.refreshHealth();
    const now = this.inst.nowMs();
    for (const [name, row] of this.inst.rows()) {
      const state = liveServiceState(row.state);
      const last = this.history.get(name)?.at(-1);
      if ((last?.state ?? 'running') !== state) this.note(name, now, state === 'running' ? 'start' : state === 'paused' ? 'pause' : 'kill');
    }
  }

  private note(name: string, atMs: number, action: string): void {
    const state = liveServiceState({ kill: 'killed', stop: 'exited', pause: 'paused' }[action] ?? 'healthy');
    const events = this.history.get(name) ?? [];
    events.push({ atMs, state, cause: causeOf(action) });
    this.history.set(name, events);
  }

  /** A container's life as `docker ps` shows it, from the states the console saw (running since boot until then). */
  private life = (name: string): ContainerLife => {
    let life: ContainerLife = { state: liveServiceState(this.inst.rows().get(name)?.state ?? 'healthy'), sinceMs: 0, cause: 'boot' };
    let up = true;
    for (const h of this.history.get(name) ?? []) {
      const isUp = h.state === 'running' || h.state === 'paused';
      if (isUp !== up) life = { state: h.state, sinceMs: h.atMs, cause: h.cause };
      up = isUp;
    }
    return { ...life, state: liveServiceState(this.inst.rows().get(name)?.state ?? 'healthy') };
  };

  private async dockerLogs(name: string, tail: number | undefined, follow: boolean): Promise<{ output: string; exit: number }> {
    // notifier is a row of the listing only (frontend's mailer), as in the simulation's shell.
    const canonical = name === 'notifier' ? 'notifier' : this.resolve(name);
    if (canonical === undefined || (canonical !== 'notifier' && !this.listed.some((c) => c.name === canonical))) return { output: `Error: No such container: ${name}`, exit: 1 };
    await this.look(false);
    // Following: subscribed before the log so far is read (nothing written in between is lost); a stopped
    // container's log is printed and docker returns, as it does.
    const source = this.inst.logSource;
    if (follow && source?.follow !== undefined && !this.stopped(canonical)) this.followFrom = canonical;
    const lines = source !== undefined ? [...source.logs(canonical, tail === undefined ? {} : { tail })] : this.generatedLog(canonical, tail);
    // Without the stack's own logs there is nothing to stream: the generated lines so far, and it says so rather than hang.
    if (follow && source?.follow === undefined) lines.push('(docker logs -f without the live services\' logs prints the log so far and returns: run it again to see more)');
    return { output: lines.join('\n'), exit: 0 };
  }

  private stopped(canonical: string): boolean {
    return liveServiceState(this.inst.rows().get(canonical)?.state ?? 'healthy') === 'stopped';
  }

  /** `docker logs -f` began: the lines written from now on stream through `followStep` (live-follow.ts). */
  private startFollow(canonical: string, entry: TranscriptEntry, filters: readonly Filter[]): LineResult {
    this.followFrom = undefined;
    const source = this.inst.logSource!;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    // The row of notifier is output-processor's: it stops with it.
    const row = canonical === 'notifier' ? 'output-processor' : canonical;
    this.follow = new LiveFollow(canonical, (n, signal) => source.follow!(n, signal), entry, filters, this.inst.nowMs(), { nowMs: () => this.inst.nowMs(), stopped: () => this.stopped(row), sleep, timeScale: this.opts.timeScale });
    return { output: entry.output, exit: entry.exit, ended: false, following: true };
  }

  /** Whether `docker logs -f` is following. */
  get isFollowing(): boolean {
    return this.follow !== undefined;
  }

  /** One step of `docker logs -f` (live-follow.ts): the lines the service wrote since the last step. */
  async followStep(opts: { untilCtrlC?: boolean } = {}): Promise<FollowStep> {
    const f = this.follow;
    if (f === undefined) throw new Error('docker logs -f is not following');
    const step = await f.step(opts);
    if (step.done && this.follow === f) this.follow = undefined;
    return step;
  }

  /** Ends `docker logs -f` (Ctrl-C): the transcript records the `^C`. */
  stopFollowing(): void {
    this.follow?.stop();
    this.follow = undefined;
  }

  /** Without the stack's own logs: the simulation's log lines for the container, from the states the console saw. */
  private generatedLog(canonical: string, tail: number | undefined): string[] {
    return containerLogs(canonical, { nowMs: this.inst.nowMs(), history: (n) => this.history.get(n) ?? [], builds: [], allocs: [], events: [], containers: this.inst.profile.containers }, tail);
  }

  private async dockerLifecycle(verb: 'start' | 'stop' | 'restart', names: readonly string[]): Promise<{ output: string; exit: number }> {
    const out: string[] = [];
    const missing: string[] = [];
    for (const name of names) {
      const canonical = this.resolve(name);
      if (canonical === undefined || !this.listed.some((c) => c.name === canonical)) {
        out.push(`Error response from daemon: No such container: ${name}`);
        missing.push(name);
        continue;
      }
      const state = liveServiceState(this.inst.rows().get(canonical)?.state ?? 'healthy');
      if (verb === 'restart' || (verb === 'start' && state !== 'running') || (verb === 'stop' && state !== 'stopped')) {
        const action = verb === 'start' && state === 'paused' ? 'unpause' : verb;
        try {
          await this.inst.act({ action, target: canonical, count: 1 });
        } catch (e) {
          out.push(`Error response from daemon: ${(e as Error).message.split('\n')[0]}`);
          missing.push(name);
          continue;
        }
        this.note(canonical, this.inst.nowMs(), action);
      }
      out.push(name);
    }
    if (missing.length > 0) out.push(`Error: failed to ${verb} containers: ${missing.join(', ')}`);
    return { output: out.join('\n'), exit: missing.length > 0 ? 1 : 0 };
  }

  /** `curl` to a documented port: the real endpoint of the container publishing it (its port on the live stack). */
  private async curl(url: string, headers: boolean): Promise<{ output: string; exit: number }> {
    const m = /^(?:https?:\/\/)?(localhost|127\.0\.0\.1|0\.0\.0\.0|services)(?::(\d+))?(\/[^\s]*)?$/.exec(url);
    if (m === null) return { output: `curl: (6) Could not resolve host: ${url.replace(/^https?:\/\//, '').split(/[/:]/)[0]}`, exit: 6 };
    const port = m[2] === undefined ? 80 : Number(m[2]);
    const path = m[3] ?? '/';
    const refused = { output: `curl: (7) Failed to connect to ${m[1]} port ${port}: Connection refused`, exit: 7 };
    const owner = this.listed.find((c) => c.ports.some((p) => p.host === port && p.protocol === 'tcp'));
    if (owner === undefined) return refused;
    const mapping = owner.ports.find((p) => p.host === port)!;
    if (NOT_HTTP.has(mapping.container)) return { output: 'curl: (52) Empty reply from server', exit: 52 };
    const row = this.inst.rows().get(owner.name);
    const live = row?.ports.map((p) => /^[\d.]+:(\d+)->(\d+)\/tcp$/.exec(p)).find((x) => x !== null && Number(x[2]) === mapping.container) ?? row?.ports.map((p) => /^[\d.]+:(\d+)->/.exec(p)).find((x) => x !== null);
    // The row's port is asked even when the row says the container is down: the connection itself tells.
    if (live == null) return refused;
    const a = await httpGet(`http://127.0.0.1:${live[1]}${path}`, LIVE_CURL_TIMEOUT_MS);
    if (a.error === 'ECONNREFUSED') return refused;
    if (a.error === 'timeout') return { output: `curl: (28) Operation timed out after ${LIVE_CURL_TIMEOUT_MS + 1} milliseconds with 0 bytes received`, exit: 28 };
    if (a.status === undefined) return { output: `curl: (52) Empty reply from server (${a.error ?? 'no answer'})`, exit: 52 };
    const head = `HTTP/1.1 ${a.status} ${http.STATUS_CODES[a.status] ?? ''}\nContent-Type: ${a.contentType ?? 'text/plain'}\nContent-Length: ${Buffer.byteLength(a.body ?? '')}\n\n`;
    return { output: headers ? head + (a.body ?? '') : (a.body ?? ''), exit: 0 };
  }

  private async devConsole(line: string): Promise<{ output: string; exit: number } | undefined> {
    const f = devConsoleForm(line, this.namespace);
    switch (f.kind) {
      case 'noop':
        return undefined;
      case 'leave':
        this.mode = 'shell';
        return { output: f.output, exit: 0 };
      case 'in-ns':
        this.namespace = f.namespace;
        return { output: f.output, exit: 0 };
      case 'text':
        return { output: f.output, exit: 0 };
    }
    const builds = await this.inst.queuedBuilds(f.queue);
    if (f.kind === 'count') return { output: String(builds.length), exit: 0 };
    return { output: buildUrls((f.reverse ? [...builds].reverse() : builds).slice(0, f.n)), exit: 0 };
  }

  /**
   * Verifies the fix on the live stack and grades the session: the drill's checks are observed until they all pass
   * or the verification window (`within`, at the time scale) ends; the last observation of each is what counts.
   */
  async finish(): Promise<TrainingResult> {
    this.stopFollowing();
    this.ended ??= 'end-of-input';
    const durationMs = this.elapsedMs;
    const fromMs = this.inst.nowMs();
    const wall = this.opts.wallMs ?? Date.now;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const untilWall = wall() + Math.max(MIN_VERIFY_WALL_MS, this.drill.verify.withinMs / this.opts.timeScale);
    let checks: CheckResult[];
    for (;;) {
      checks = await this.observeChecks(fromMs);
      if (checks.every((c) => c.passed) || wall() >= untilWall) break;
      await sleep(VERIFY_POLL_MS);
    }
    const fixed = checks.every((c) => c.passed);
    // The time part counts the trainee's time: the installation's time between the prompts, plus what the fixes
    // take as the simulation reckons them (ACTION_MS), not how long the live stack took to carry commands out.
    const parsed = this.entries.map((e) => parseShellLine(e.command));
    const traineeMs = Math.max(0, durationMs - this.busyMs) + actionMsOf(parsed);
    const grade = gradeSession({ drill: this.drill, answers: this.answers, fixed, hintsUsed: this.hints, durationMs: traineeMs, commandMs: this.opts.commandMs, entries: this.entries });
    grade.notes.push(`Time on the live stack: ${formatDurationMs(traineeMs)} of the installation's time counted (${formatDurationMs(this.busyMs)} the live stack took carrying out commands is not the trainee's; the fixes count as the simulation reckons them).`);
    return { drill: this.drill, seed: this.opts.seed, commandMs: this.opts.commandMs, grade, fixed, checks, answers: this.answers, hintsUsed: this.hints, durationMs, entries: this.entries, endedBy: this.ended };
  }

  private async observeChecks(fromMs: number): Promise<CheckResult[]> {
    await this.inst.refreshHealth();
    const after = `${formatDurationMs(Math.max(0, this.inst.nowMs() - fromMs))} after the session`;
    const out: CheckResult[] = [];
    for (const c of this.drill.verify.checks) {
      switch (c.kind) {
        case 'queue_drains':
          out.push(judgeQueueDrains(await this.inst.queues(), after));
          break;
        case 'next_build_succeeds':
          out.push(judgeNextBuild(await this.inst.buildsSince(fromMs)));
          break;
        case 'health_200': {
          const url = this.inst.rows().get(c.container)?.healthUrl;
          out.push(judgeHealth(c.container, url === undefined ? { error: 'no health endpoint on the live stack' } : await httpGet(url, LIVE_CURL_TIMEOUT_MS)));
          break;
        }
        case 'container_running':
          out.push(judgeRunning(c.container, this.inst.rows().get(c.container)?.state));
          break;
        case 'clients_eligible': {
          const s = (await this.inst.nomadUp()) ? this.inst.nomadScheduler() : undefined;
          out.push(judgeClients(c.count, s?.nodes()));
          break;
        }
        case 'no_stale_allocations':
          out.push(judgeStaleAllocations(this.inst.staleAllocations?.()));
          break;
      }
    }
    return out;
  }
}

/** `help` on the live stack: the commands it carries out. */
function liveHelp(listed: readonly Container[], timeScale: number): string {
  return [
    'Commands on this Services machine (the live stack):',
    '  sudo docker ps [-a]                         the containers (the seeds\' listing)',
    '  sudo docker logs [-f] [--tail N] <name>     a container\'s log (-f follows it until Ctrl-C)',
    '  sudo docker start|stop|restart <name>...    change a container (on the live stack)',
    '  nomad status [job] | nomad node-status [-allocs] [node] | nomad node-drain -enable|-disable <node>',
    '  nomad logs -stderr <alloc>                  with a nomad binary on PATH (it runs against the live Nomad API)',
    '  curl [-i] http://localhost:PORT/PATH        the real health endpoints:',
    ...listed.filter((c) => c.health !== undefined).map((c) => `      http://localhost:${c.health!.port}${c.health!.path}  (${dockerName(c.name)})`),
    '  circleci dev-console                        (in-ns \'circle.backend.build.run-queue) (-> (all-builds) count)',
    '  replicated apps | replicated app <id> start|stop|status   the whole stack stopped and started (the files applied)',
    '  ls|cat /etc/circleconfig/SERVICE/customizations    the customization files; write one: echo \'export NAME="value"\' | sudo tee -a FILE',
    '  sudo docker exec C printenv [NAME] | env    the environment a container was created with (the last app start): a pipeline stage\'s own process environment',
    '  sudo docker exec -it frontend lein repl :connect 6005   a JVM service\'s REPL',
    '  df -h                                       the Services machine\'s volume (the simulation\'s disk rule, as of now), then the real filesystems',
    '  aws autoscaling describe-auto-scaling-groups | update-auto-scaling-group   the Nomad clients\' group, on the stack\'s EC2 endpoint',
    '  answer <container> <cause> | hint | exit',
    `The installation runs at ${timeScale}× the wall clock: queues grow while you look.`,
  ].join('\n');
}

/** One GET with a bound (node:http: fetch refuses some of the stack's ports). */
export function httpGet(url: string, timeoutMs: number): Promise<{ status?: number; body?: string; contentType?: string; error?: string }> {
  return new Promise((resolve) => {
    // A connection of its own, as curl makes (a kept-alive socket would outlive the server it was opened to).
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body = (body + c).slice(0, 64 * 1024)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] ?? 'text/plain' }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body, error: e.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}
