import { Twin } from '../twin.ts';
import type { Profile } from '../../fixtures/schema.ts';
import { findContainer } from '../../fixtures/lookup.ts';
import type { SettledScenario } from '../scenario/settled.ts';
import { SimFaultAdapter } from '../faults/sim-adapter.ts';
import { nomadNodeStatusText, nomadStatusText } from './nomad-text.ts';
import { QUEUE_DRAINED_MAX } from './live-support.ts';
import { buildUrls, devConsoleForm } from './dev-console.ts';
import { SymptomRecorder } from '../symptoms/recorder.ts';
import { DOCKER_NAMES, dockerName, listedContainers, renderDockerPs, type ContainerLife } from '../symptoms/docker-ps.ts';
import { allocStderr, containerLogs, type LogSources } from '../symptoms/container-logs.ts';
import { curlAnswer, healthUrls } from '../symptoms/health.ts';
import { clockTime } from '../symptoms/clock-text.ts';
import { formatDurationMs } from '../util/duration.ts';
import { CAUSES, type HiddenChange, type SettledDrill, type VerifyCheck } from './drill.ts';
import { AutoScalingError } from '../models/autoscaling/group-model.ts';
import { applyFilters, expandSubstitutions, parsePipeline, parseShellLine, replicatedAppsListing, type Filter, type ShellCommand, type ShellRefusal } from './shell.ts';
import type { Grade } from './grade.ts';
import { ACTION_MS, drillBanner, gradeSession, hintText, judgeAnswer } from './tutor.ts';

export { ACTION_MS, countsAsWork } from './tutor.ts';
import { EtcFiles, OVERRIDE_DIRS } from './etc-files.ts';
import { execEnv, notRunning, replConnect, replForm, replicatedStatus } from './container-env.ts';
export { DEFAULT_HEAP_BYTES, REPL_PORTS } from './container-env.ts';

/** Virtual time one command takes by default (reading, typing): the backlog grows while the trainee looks. */
export const DEFAULT_COMMAND_MS = 30_000;
/** Commands one session takes at most; the session ends at the limit (a script cannot run forever). */
export const MAX_SESSION_COMMANDS = 500;
/** `docker logs -f`: each step of following advances the installation this much (a person watching the log). */
export const FOLLOW_STEP_MS = 10_000;
/** `docker logs -f` stops by itself after this many new lines or this much of the installation's time (a script has no Ctrl-C). */
export const FOLLOW_MAX_LINES = 40;
export const FOLLOW_MAX_MS = 150_000;
/** In a terminal `docker logs -f` runs until Ctrl-C; this bounds it still (an hour of the installation's time). */
export const FOLLOW_MAX_INTERACTIVE_MS = 3_600_000;
/** The most a line may advance the installation when the console measures the time (an idle hour at a high factor). */
export const MAX_ELAPSED_MS = 3_600_000;
export { APP_ID } from './shell.ts';

/** One command of the transcript: DESIGN.md's `{ at_ms, command, exit }` plus what the shell printed. */
export interface TranscriptEntry {
  /** Virtual ms since the trainee logged in. */
  at_ms: number;
  /** Wall-clock time on the Services machine (HH:MM). */
  clock: string;
  command: string;
  exit: number;
  output: string;
}

/** The answers the trainee gave, each judged. */
export interface AnswerRecord {
  at_ms: number;
  text: string;
  container: string | undefined;
  cause: string | undefined;
  correct: boolean;
}

/** A verification check and what the twin saw. */
export interface CheckResult {
  check: string;
  passed: boolean;
  observed: string;
}

/** The outcome of a session: the grade, the verification and everything the report and transcript show. */
export interface TrainingResult {
  drill: SettledDrill;
  seed: number;
  commandMs: number;
  grade: Grade;
  fixed: boolean;
  checks: CheckResult[];
  answers: AnswerRecord[];
  hintsUsed: number;
  durationMs: number;
  entries: TranscriptEntry[];
  /** How the session ended: the trainee's `exit`, the end of the script, or the command limit. */
  endedBy: 'exit' | 'end-of-input' | 'command-limit';
}

export interface SessionOptions {
  /** Virtual time each command takes (default `DEFAULT_COMMAND_MS`). */
  commandMs?: number;
}

/** What one typed line produced. */
export interface LineResult {
  output: string;
  exit: number;
  /** The session is over (`exit`, or the command limit). */
  ended: boolean;
  /** `docker logs -f` is following: call `followStep()` until it is done, or `stopFollowing()` (Ctrl-C). */
  following?: boolean;
}

/** What one step of `docker logs -f` printed. */
export interface FollowStep {
  output: string;
  /** The follow stopped by itself: its line or time limit (printed as a `^C`), or the container stopped. */
  done: boolean;
  /** What stopped it, when done. */
  stoppedBy?: 'limit' | 'container-stopped';
}


/**
 * A training session: the drill's installation running in the simulation, broken by its hidden fault, and a
 * shell on its Services machine. Each command advances virtual time by `commandMs` before it runs, so what the
 * trainee sees moves on as they work; fixes go through the fault port (sim/faults/sim-adapter.ts), as a scenario's
 * faults do. Pure and deterministic: the same drill, seed and lines give the same transcript.
 */
export class TrainingSession {
  readonly twin: Twin;
  readonly recorder = new SymptomRecorder();
  readonly entries: TranscriptEntry[] = [];
  readonly answers: AnswerRecord[] = [];
  readonly commandMs: number;
  private readonly port: SimFaultAdapter;
  private readonly listed;
  private hints = 0;
  private mode: 'shell' | 'dev-console' | 'repl' = 'shell';
  /** The container whose REPL `lein repl :connect` opened. */
  private replOf = '';
  /** /etc/circleconfig and the environment each container was created with. */
  readonly etc = new EtcFiles();
  private namespace = 'user';
  private ended: TrainingResult['endedBy'] | undefined;
  /** /opt/nomad on the Services machine: removed by the trainee (`sudo rm -rf /opt/nomad`) until the Nomad server starts again and writes it anew. */
  private nomadDir: 'present' | 'emptied' | 'removed' = 'present';
  /** /opt/nomad was removed while the Nomad server ran: it keeps its state in memory and comes up empty at its next start. */
  private wipeAtNextStart = false;
  private follow: { container: string; lines: string[]; printed: number; sinceMs: number; entry: TranscriptEntry; filters: Filter[] } | undefined;
  private result: TrainingResult | undefined;

  constructor(
    readonly drill: SettledDrill,
    installation: SettledScenario,
    readonly profile: Profile,
    opts: SessionOptions = {},
  ) {
    this.commandMs = opts.commandMs ?? DEFAULT_COMMAND_MS;
    const scenario: SettledScenario = { ...installation, name: drill.name, faults: drill.faults, expect: [] };
    this.twin = new Twin(scenario, profile, { trace: this.recorder.onTrace });
    this.recorder.attach((id) => this.twin.conductor.inflight.get(id));
    const t = this.twin;
    this.port = new SimFaultAdapter({ world: t.world, fleet: t.fleet, output: t.output, disk: t.disk, broker: t.broker, conductor: t.conductor });
    this.listed = listedContainers(profile, installation.topology.storage);
    t.begin();
    // The hidden changes outside the fault catalogue, each at its time (the faults run as the scenario's own).
    for (const c of [...drill.changes].sort((a, b) => a.atMs - b.atMs)) {
      t.advanceTo(c.atMs);
      this.applyChange(c, installation);
    }
    t.advanceTo(drill.startsAtMs);
    this.recorder.resolve();
  }

  private applyChange(c: HiddenChange, installation: SettledScenario): void {
    const t = this.twin;
    if (c.kind === 'asg') {
      if (t.asg === undefined) throw new Error('the drill changes the Auto Scaling Group and the installation has none (loadDrill refuses it)');
      t.asg.update({ ...(c.min === undefined ? {} : { minSize: c.min }), ...(c.max === undefined ? {} : { maxSize: c.max }), ...(c.desired === undefined ? {} : { desiredCapacity: c.desired }) });
      return;
    }
    const rc = installation.topology.resourceClasses[installation.topology.defaultResourceClass];
    t.fleet.restoreStaleJobs(staleJobIds(c.staleAllocations).map((id) => ({ id, cpuMilli: rc?.cpuMilli ?? 2000, memoryMb: rc?.memoryMb ?? 4096 })));
  }

  get nowMs(): number {
    return this.twin.sim.nowMs;
  }

  /** Virtual ms since the trainee logged in. */
  get elapsedMs(): number {
    return this.nowMs - this.drill.startsAtMs;
  }

  get isOver(): boolean {
    return this.ended !== undefined;
  }

  /** The prompt: the Services machine's shell, or the dev-console's namespace. */
  get prompt(): string {
    return this.mode === 'shell' ? 'ubuntu@ip-172-31-72-162:~$ ' : `${this.namespace}=> `;
  }

  /** The ticket as the trainee first sees it. */
  banner(): string {
    return drillBanner(this.drill, this.nowMs);
  }

  /**
   * Runs one typed line. `elapsedMs` is the installation's time since the previous line when the console measures
   * it (interactive, with a time factor); without it each line takes `commandMs`, so a script replays exactly.
   */
  execute(line: string, elapsedMs?: number): LineResult {
    if (this.ended !== undefined) throw new Error('the session is over');
    if (this.follow !== undefined) throw new Error('docker logs -f is following: stopFollowing() first');
    const expanded = this.mode !== 'shell' ? { line } : expandSubstitutions(line, (inner) => this.substituted(inner));
    const pipeline = 'kind' in expanded ? expanded : this.mode !== 'shell' ? { command: line, filters: [] } : parsePipeline(expanded.line);
    const parsed = 'kind' in pipeline ? pipeline : this.mode === 'dev-console' ? this.devConsole(line) : this.mode === 'repl' ? this.jvmRepl(line) : parseShellLine(pipeline.command);
    if (parsed.kind === 'noop') return { output: '', exit: 0, ended: false };
    // Time passes while the trainee types and reads: the installation moves on before the command runs.
    this.advance(Math.max(0, Math.min(MAX_ELAPSED_MS, elapsedMs ?? this.commandMs)));
    const atMs = this.elapsedMs;
    let output: string;
    let exit: number;
    if (parsed.kind === 'refusal') {
      output = parsed.output;
      exit = parsed.exit;
    } else if (parsed.kind === 'console') {
      output = parsed.output;
      exit = 0;
    } else {
      ({ output, exit } = this.run(parsed));
    }
    const commandExit = exit;
    if (!('kind' in pipeline) && pipeline.filters.length > 0) ({ output, exit } = applyFilters(output, exit, pipeline.filters, (f, text) => this.etc.write(f.path, text, f.append, f.sudo, 'tee')));
    const entry: TranscriptEntry = { at_ms: atMs, clock: clockTime(this.nowMs), command: line.trim(), exit, output };
    this.entries.push(entry);
    if (parsed.kind === 'docker-logs' && parsed.follow && commandExit === 0 && this.twin.services.state(this.resolveLogName(parsed.container)!) !== 'stopped') {
      const filters = 'kind' in pipeline ? [] : pipeline.filters;
      this.follow = { container: this.resolveLogName(parsed.container)!, lines: this.fullLog(this.resolveLogName(parsed.container)!), printed: 0, sinceMs: this.nowMs, entry, filters };
      return { output, exit, ended: false, following: true };
    }
    if (parsed.kind === 'exit' && this.mode === 'shell') this.ended = 'exit';
    else if (this.entries.length >= MAX_SESSION_COMMANDS) {
      this.ended = 'command-limit';
      output += `${output ? '\n' : ''}(the drill's command limit, ${MAX_SESSION_COMMANDS} commands, is reached: the session ends)`;
    }
    return { output, exit, ended: this.ended !== undefined };
  }

  /** What the command of a `$(...)` prints: run as a line of its own would be, without a transcript entry of its own. */
  private substituted(inner: string): { output: string; exit: number } {
    const p = parsePipeline(inner);
    if ('kind' in p) return p;
    const parsed: ShellCommand | ShellRefusal = parseShellLine(p.command);
    if (parsed.kind === 'refusal') return parsed;
    if (parsed.kind === 'noop') return { output: '', exit: 0 };
    if (['dev-console', 'docker-exec-repl', 'answer', 'hint', 'help', 'exit'].includes(parsed.kind) || (parsed.kind === 'docker-logs' && parsed.follow)) return { output: `twin: \`${inner.trim()}\` is not run inside \`$(...)\` here: type it on its own`, exit: 2 };
    const r = this.run(parsed);
    return applyFilters(r.output, r.exit, p.filters);
  }

  /**
   * A line the console carries out itself (the real `nomad` binary): time passes first, as for `execute`, so the
   * command sees the installation as it is then; `recordExternal` then records what it printed.
   */
  beginExternal(elapsedMs?: number): void {
    if (this.ended !== undefined) throw new Error('the session is over');
    if (this.follow !== undefined) throw new Error('docker logs -f is following: stopFollowing() first');
    this.advance(Math.max(0, Math.min(MAX_ELAPSED_MS, elapsedMs ?? this.commandMs)));
  }

  /** Records an external command's output (through the line's filters) in the transcript. */
  recordExternal(line: string, output: string, exit: number): LineResult {
    const pipeline = parsePipeline(line);
    if (!('kind' in pipeline) && pipeline.filters.length > 0) ({ output, exit } = applyFilters(output, exit, pipeline.filters, (f, text) => this.etc.write(f.path, text, f.append, f.sudo, 'tee')));
    this.entries.push({ at_ms: this.elapsedMs, clock: clockTime(this.nowMs), command: line.trim(), exit, output });
    if (this.entries.length >= MAX_SESSION_COMMANDS) {
      this.ended = 'command-limit';
      output += `${output ? '\n' : ''}(the drill's command limit, ${MAX_SESSION_COMMANDS} commands, is reached: the session ends)`;
    }
    return { output, exit, ended: this.ended !== undefined };
  }

  /** Whether `docker logs -f` is following. */
  get isFollowing(): boolean {
    return this.follow !== undefined;
  }

  /**
   * One step of `docker logs -f`: the installation moves on `FOLLOW_STEP_MS` and the lines its container wrote
   * meanwhile are printed (through the line's filters). In a script it stops by itself after `FOLLOW_MAX_LINES`
   * new lines or `FOLLOW_MAX_MS`, as a person would press Ctrl-C; in a terminal (`untilCtrlC`) it runs until
   * Ctrl-C (`stopFollowing`), bounded by `FOLLOW_MAX_INTERACTIVE_MS`; either way it ends when the container stops.
   */
  followStep(opts: { untilCtrlC?: boolean } = {}): FollowStep {
    const f = this.follow;
    if (f === undefined) throw new Error('docker logs -f is not following');
    this.advance(FOLLOW_STEP_MS);
    const now = this.fullLog(f.container);
    let fresh = newLines(f.lines, now);
    f.lines = now;
    if (f.filters.length > 0) fresh = applyFilters(fresh.join('\n'), 0, f.filters).output.split('\n').filter((l) => l !== '');
    const room = FOLLOW_MAX_LINES - f.printed;
    const shown = opts.untilCtrlC === true ? fresh : fresh.slice(0, Math.max(0, room));
    f.printed += shown.length;
    const output = shown.join('\n');
    if (output !== '') f.entry.output += `${f.entry.output === '' ? '' : '\n'}${output}`;
    const stopped = this.twin.services.state(f.container) === 'stopped';
    const done = stopped || (opts.untilCtrlC === true ? this.nowMs - f.sinceMs >= FOLLOW_MAX_INTERACTIVE_MS : f.printed >= FOLLOW_MAX_LINES || this.nowMs - f.sinceMs >= FOLLOW_MAX_MS);
    if (!done) return { output, done };
    this.stopFollowing(stopped ? '' : '^C');
    return { output, done, stoppedBy: stopped ? 'container-stopped' : 'limit' };
  }

  /** Ends `docker logs -f` (Ctrl-C, or its limit): the transcript records the `^C`. */
  stopFollowing(mark = '^C'): void {
    const f = this.follow;
    if (f === undefined) return;
    if (mark !== '') f.entry.output += `${f.entry.output === '' ? '' : '\n'}${mark}`;
    this.follow = undefined;
  }

  /** Ends the session (the end of a script, or Ctrl-D) without an `exit` line. */
  endOfInput(): void {
    this.ended ??= 'end-of-input';
  }

  /** Verifies the fix (advancing the verification window once) and grades the session. */
  finish(): TrainingResult {
    if (this.result !== undefined) return this.result;
    this.stopFollowing();
    this.ended ??= 'end-of-input';
    const durationMs = this.elapsedMs;
    const verifyFromMs = this.nowMs;
    this.advance(this.drill.verify.withinMs);
    const checks = this.drill.verify.checks.map((c) => this.check(c, verifyFromMs));
    const fixed = checks.every((c) => c.passed);
    const g = gradeSession({ drill: this.drill, answers: this.answers, fixed, hintsUsed: this.hints, durationMs, commandMs: this.commandMs, entries: this.entries });
    this.result = { drill: this.drill, seed: this.twin.scenario.seed, commandMs: this.commandMs, grade: g, fixed, checks, answers: this.answers, hintsUsed: this.hints, durationMs, entries: this.entries, endedBy: this.ended };
    return this.result;
  }

  private advance(ms: number): void {
    this.twin.advanceTo(this.nowMs + ms);
    this.recorder.resolve();
  }

  private logSources(): LogSources {
    const history = this.twin.services.history;
    return {
      nowMs: this.nowMs,
      history: (name) => history.filter((h) => h.name === name),
      builds: this.recorder.list(),
      allocs: [...this.recorder.allocs.values()],
      events: this.recorder.events,
      containers: this.profile.containers,
    };
  }

  /**
   * A container's life as `docker ps` shows it: up since it last started (a hung process is still "Up": a pause
   * does not restart it), or down since it last went down and why.
   */
  private life = (name: string): ContainerLife => {
    let life: ContainerLife = { state: 'running', sinceMs: 0, cause: 'boot' };
    for (const h of this.twin.services.history) {
      if (h.name !== name) continue;
      const wasUp = life.state === 'running' || life.state === 'paused';
      const isUp = h.state === 'running' || h.state === 'paused';
      life = wasUp === isUp ? { ...life, state: h.state } : { state: h.state, sinceMs: h.atMs, cause: h.cause };
    }
    return life;
  };

  /** The canonical container a trainee's name means: canonical, alias, or the `docker ps` name. */
  resolve(name: string): string | undefined {
    const byDocker = Object.entries(DOCKER_NAMES).find(([, d]) => d === name)?.[0];
    if (byDocker !== undefined) return byDocker;
    const c = findContainer(this.profile, name);
    return c !== undefined && this.twin.services.has(c.name) ? c.name : undefined;
  }

  private run(c: Exclude<ShellCommand, { kind: 'noop' }>): { output: string; exit: number } {
    switch (c.kind) {
      case 'docker-ps':
        return { output: renderDockerPs(this.listed, this.life, this.nowMs, { all: c.all }), exit: 0 };
      case 'docker-logs':
        return this.dockerLogs(c.container, c.tail);
      case 'docker-lifecycle':
        return this.dockerLifecycle(c.verb, c.containers);
      case 'nomad-status':
        return this.nomadStatus(c.job);
      case 'nomad-node-status':
        return this.nomadNodeStatus(c.allocs, c.self, c.node);
      case 'nomad-node-drain':
        return this.nomadNodeDrain(c.enable, c.node, c.self);
      case 'nomad-logs':
        return this.nomadLogs(c.alloc, c.stderr, c.tail);
      case 'df':
        return { output: diskFree(this.twin.disk.settings.capacityMb, this.twin.disk.freeMb), exit: 0 };
      case 'curl': {
        const a = curlAnswer(c.url, this.listed, (n) => this.twin.services.state(n), c.headers);
        return { output: a.output, exit: a.exit };
      }
      case 'dev-console':
        this.mode = 'dev-console';
        this.namespace = 'user';
        return { output: 'nREPL server started on port 6005\nCircleCI Dev-Console (a REPL into frontend). `exit` leaves it.', exit: 0 };
      case 'replicated-apps':
        return { output: replicatedAppsListing(this.profile.version), exit: 0 };
      case 'replicated-app':
        return this.replicatedApp(c.verb);
      case 'cat': {
        const parts = c.paths.map((p) => this.etc.cat(p));
        return { output: parts.map((p) => p.output).filter((o) => o !== '').join('\n'), exit: Math.max(...parts.map((p) => p.exit)) };
      }
      case 'ls':
        if (/^\/opt\/nomad\/?$/.test(c.path)) return this.nomadDir === 'removed' ? { output: "ls: cannot access '/opt/nomad': No such file or directory", exit: 2 } : { output: this.nomadDir === 'emptied' ? '' : 'data', exit: 0 };
        return this.etc.ls(c.path);
      case 'mkdir':
        return this.etc.mkdir(c.path, c.parents, c.sudo);
      case 'rm':
        return NOMAD_DATA.test(c.path) ? this.rmNomadData(c.path, c.recursive, c.force, c.sudo) : this.etc.rm(c.path, c.force, c.sudo);
      case 'aws-asg-describe':
        return this.awsDescribe(c.names);
      case 'aws-asg-update':
        return this.awsUpdate(c);
      case 'echo':
        if (c.redirect === undefined) return { output: c.text.replace(/\n$/, ''), exit: 0 };
        return this.etc.write(c.redirect.path, c.text, c.redirect.append, c.redirect.root, 'bash');
      case 'docker-exec-env':
        return this.dockerExecEnv(c.container, c.name);
      case 'docker-exec-repl':
        return this.openRepl(c.container, c.port);
      case 'answer':
        return this.answer(c.words);
      case 'hint':
        return this.hint();
      case 'help':
        return { output: this.helpText(), exit: 0 };
      case 'exit':
        return { output: 'logout', exit: 0 };
    }
  }

  /** The canonical name `docker logs` reads for a trainee's name (`notifier` is a row of the listing only), or undefined. */
  private resolveLogName(name: string): string | undefined {
    const canonical = name === 'notifier' ? 'notifier' : this.resolve(name);
    if (canonical === undefined || (canonical !== 'notifier' && !this.listed.some((c) => c.name === canonical))) return undefined;
    return canonical;
  }

  private fullLog(canonical: string): string[] {
    return containerLogs(canonical, this.logSources());
  }

  private dockerLogs(name: string, tail: number | undefined): { output: string; exit: number } {
    const canonical = this.resolveLogName(name);
    if (canonical === undefined) return { output: `Error: No such container: ${name}`, exit: 1 };
    return { output: containerLogs(canonical, this.logSources(), tail).join('\n'), exit: 0 };
  }

  private dockerLifecycle(verb: 'start' | 'stop' | 'restart', names: readonly string[]): { output: string; exit: number } {
    const out: string[] = [];
    let exit = 0;
    for (const name of names) {
      const canonical = this.resolve(name);
      if (canonical === undefined || !this.listed.some((c) => c.name === canonical)) {
        out.push(`Error response from daemon: No such container: ${name}`);
        exit = 1;
        continue;
      }
      const state = this.twin.services.state(canonical);
      if (verb === 'restart' || (verb === 'start' && state !== 'running') || (verb === 'stop' && state !== 'stopped')) {
        this.port.apply({ action: verb === 'start' && state === 'paused' ? 'unpause' : verb, target: canonical, count: 1 });
        if (canonical === 'nomad_server') this.nomadStarted();
        this.advance(ACTION_MS.container);
      }
      out.push(name);
    }
    if (exit !== 0) out.push(`Error: failed to ${verb} containers: ${names.filter((n) => this.resolve(n) === undefined).join(', ')}`);
    return { output: out.join('\n'), exit };
  }

  /**
   * `sudo rm -rf /opt/nomad` (the seeds' remedy for a stale Nomad state, with the app stopped): a stopped server's
   * state is gone now; a running one keeps its state in memory and starts empty the next time it starts.
   */
  private rmNomadData(path: string, recursive: boolean, force: boolean, sudo: boolean): { output: string; exit: number } {
    const whole = /^\/opt\/nomad\/?$/.test(path);
    const refused = rmNomadRefusal(path, { recursive, force, sudo }, !(this.nomadDir === 'removed' || (this.nomadDir === 'emptied' && !whole)));
    if (refused !== undefined) return refused;
    this.nomadDir = whole ? 'removed' : 'emptied';
    if (this.twin.services.state('nomad_server') === 'stopped') this.port.apply({ action: 'wipe_state', target: 'nomad_server', count: 1 });
    else this.wipeAtNextStart = true;
    return { output: '', exit: 0 };
  }

  /** After a start or restart: a Nomad server whose /opt/nomad was removed while it ran comes up empty; a started server writes /opt/nomad again. */
  private nomadStarted(): void {
    if (this.twin.services.state('nomad_server') !== 'running') return;
    if (this.wipeAtNextStart) this.port.apply({ action: 'wipe_state', target: 'nomad_server', count: 1 });
    this.wipeAtNextStart = false;
    this.nomadDir = 'present';
  }

  /** `aws autoscaling describe-auto-scaling-groups`: the Nomad clients' group, as the AWS CLI prints it (JSON). */
  private awsDescribe(names: readonly string[]): { output: string; exit: number } {
    const asg = this.twin.asg;
    const g = asg?.describe();
    const groups = g === undefined || (names.length > 0 && !names.includes(g.name)) ? [] : [g];
    const out = {
      AutoScalingGroups: groups.map((x) => ({
        AutoScalingGroupName: x.name,
        AutoScalingGroupARN: x.arn,
        LaunchConfigurationName: x.launchConfigurationName,
        MinSize: x.minSize,
        MaxSize: x.maxSize,
        DesiredCapacity: x.desiredCapacity,
        DefaultCooldown: x.defaultCooldownS,
        AvailabilityZones: x.availabilityZones,
        LoadBalancerNames: [],
        TargetGroupARNs: [],
        HealthCheckType: x.healthCheckType,
        HealthCheckGracePeriod: x.healthCheckGracePeriodS,
        Instances: [...x.instances.values()].map((m) => ({ InstanceId: m.instanceId, InstanceType: m.instanceType, AvailabilityZone: m.availabilityZone, LifecycleState: m.lifecycleState, HealthStatus: m.healthStatus, LaunchConfigurationName: m.launchConfigurationName, ProtectedFromScaleIn: m.protectedFromScaleIn })),
        // The Services machine's own boot (clock-text's BOOTED_BEFORE_MS before virtual 0): Terraform made both.
        CreatedTime: '2026-01-04T06:00:00.000Z',
        SuspendedProcesses: [],
        EnabledMetrics: [],
        Tags: x.tags.map((t) => ({ ResourceId: x.name, ResourceType: 'auto-scaling-group', Key: t.key, Value: t.value, PropagateAtLaunch: t.propagateAtLaunch })),
        TerminationPolicies: x.terminationPolicies,
        NewInstancesProtectedFromScaleIn: x.newInstancesProtectedFromScaleIn,
      })),
    };
    return { output: JSON.stringify(out, null, 4), exit: 0 };
  }

  /** `aws autoscaling update-auto-scaling-group` / `set-desired-capacity`: through the group's model (AWS's refusals as the CLI prints them). */
  private awsUpdate(c: Extract<ShellCommand, { kind: 'aws-asg-update' }>): { output: string; exit: number } {
    const operation = c.explicitDesired ? 'SetDesiredCapacity' : 'UpdateAutoScalingGroup';
    const asg = this.twin.asg;
    if (asg === undefined || asg.describe().name !== c.name) return { output: `\nAn error occurred (ValidationError) when calling the ${operation} operation: AutoScalingGroup name not found - AutoScalingGroup '${c.name}' not found`, exit: 255 };
    try {
      asg.update({ ...(c.min === undefined ? {} : { minSize: c.min }), ...(c.max === undefined ? {} : { maxSize: c.max }), ...(c.desired === undefined ? {} : { desiredCapacity: c.desired }) }, c.explicitDesired);
    } catch (e) {
      if (!(e instanceof AutoScalingError)) throw e;
      return { output: `\nAn error occurred (${e.code}) when calling the ${operation} operation: ${e.message}`, exit: 255 };
    }
    return { output: '', exit: 0 };
  }

  private nomadDown(): { output: string; exit: number } | undefined {
    if (this.twin.services.isUp('nomad_server')) return undefined;
    return { output: 'Error querying jobs: Get http://127.0.0.1:4646/v1/jobs: dial tcp 127.0.0.1:4646: connect: connection refused', exit: 1 };
  }

  private nomadStatus(job: string | undefined): { output: string; exit: number } {
    return this.nomadDown() ?? nomadStatusText(this.twin.fleet.scheduler, job);
  }

  private nomadNodeStatus(allocs: boolean, self: boolean, node: string | undefined): { output: string; exit: number } {
    return this.nomadDown() ?? nomadNodeStatusText(this.twin.fleet.scheduler, allocs, self, node);
  }

  private nomadNodeDrain(enable: boolean, node: string | undefined, self: boolean): { output: string; exit: number } {
    const down = this.nomadDown();
    if (down) return down;
    if (self || node === undefined) return { output: 'Error determining local node ID: Node ID not found (name a node: nomad node-status lists them)', exit: 1 };
    const n = this.twin.fleet.scheduler.nodes().find((x) => x.id.startsWith(node));
    if (n === undefined) return { output: `No node(s) with prefix or id "${node}" found`, exit: 1 };
    this.twin.fleet.setDrain(n.id, enable);
    this.advance(ACTION_MS.drain);
    return { output: `Node "${n.id}" drain strategy ${enable ? 'set' : 'unset'}`, exit: 0 };
  }

  private nomadLogs(alloc: string, stderr: boolean, tail: number | undefined): { output: string; exit: number } {
    const a = [...this.recorder.allocs.values()].find((x) => x.allocId.startsWith(alloc) || this.recorder.list().some((b) => b.build?.nomadJobId === alloc && b.name === x.buildName));
    if (a === undefined) {
      // An allocation the server holds and no client runs (a restored /opt/nomad): the client does not know it.
      const s = this.twin.fleet.scheduler;
      const held = s.jobs().flatMap((j) => s.jobAllocs(j.id)).find((x) => x.allocId.startsWith(alloc) && (x.clientStatus === 'running' || x.clientStatus === 'pending'));
      if (held !== undefined && !this.nomadDown()) return { output: `Error reading file: Unexpected response code: 500 (unknown allocation ID "${held.allocId}")`, exit: 1 };
      return { output: `No allocation(s) with prefix or id "${alloc}" found`, exit: 1 };
    }
    if (!stderr) return { output: '', exit: 0 };
    return { output: allocStderr(a, this.logSources(), tail).join('\n'), exit: 0 };
  }

  private replicatedApp(verb: 'start' | 'stop' | 'status'): { output: string; exit: number } {
    const states = this.listed.map((c) => this.twin.services.state(c.name));
    const running = states.filter((s) => s === 'running' || s === 'paused').length;
    if (verb === 'status') return { output: replicatedStatus(running, states.length), exit: 0 };
    // Replicated creates the containers again when the app starts: they read the customization files then.
    if (verb === 'start' && running === 0) this.etc.applyAll(this.listed.map((c) => overrideDir(c.name)));
    this.port.apply({ action: verb, target: 'services_machine', count: 1 });
    if (verb === 'start') this.nomadStarted();
    this.advance(verb === 'stop' ? ACTION_MS.appStop : ACTION_MS.appStart);
    return { output: verb === 'stop' ? 'Stopping app... done' : 'Starting app... done', exit: 0 };
  }

  /** `sudo docker exec C printenv [NAME]` / `env`: what the container was created with (its customizations applied at the last app start). */
  private dockerExecEnv(name: string, variable: string | undefined): { output: string; exit: number } {
    const canonical = this.resolve(name);
    if (canonical === undefined || !this.listed.some((c) => c.name === canonical)) return { output: `Error: No such container: ${name}`, exit: 1 };
    if (this.twin.services.state(canonical) === 'stopped') return notRunning(canonical);
    return execEnv(canonical, this.etc.appliedEnvironment(overrideDir(canonical)), variable);
  }

  /** `sudo docker exec -it C lein repl :connect PORT`: the JVM services' nREPL (the seeds' ports). */
  private openRepl(name: string, port: number): { output: string; exit: number } {
    const canonical = this.resolve(name);
    if (canonical === undefined || !this.listed.some((c) => c.name === canonical)) return { output: `Error: No such container: ${name}`, exit: 1 };
    if (this.twin.services.state(canonical) === 'stopped') return notRunning(canonical);
    const r = replConnect(canonical, port);
    if (r.exit !== 0) return r;
    this.mode = 'repl';
    this.replOf = canonical;
    this.namespace = 'user';
    return r;
  }

  /** A form typed into a JVM service's REPL: the seeds' two checks of `JVM_HEAP_SIZE`. */
  private jvmRepl(line: string): ReturnType<typeof parseShellLine> | { kind: 'console'; output: string } {
    const r = replForm(line, this.etc.appliedEnvironment(overrideDir(this.replOf)));
    if (r.kind === 'console' && r.leave) this.mode = 'shell';
    return r;
  }

  private answer(words: readonly string[]): { output: string; exit: number } {
    const r = judgeAnswer(this.drill, words, (n) => this.resolve(n), this.elapsedMs);
    if (r.record !== undefined) this.answers.push(r.record);
    return { output: r.output, exit: r.exit };
  }

  private hint(): { output: string; exit: number } {
    const h = hintText(this.drill, this.hints);
    if (h.counted) this.hints++;
    return { output: h.output, exit: 0 };
  }

  private helpText(): string {
    return [
      'Commands on this Services machine (the troubleshooting chapter\'s):',
      '  sudo docker ps [-a]                         the containers (the seeds\' listing)',
      '  sudo docker logs [-f] [--tail N] <name>     a container\'s log',
      '  sudo docker start|stop|restart <name>...    change a container',
      '  nomad status [job]                          Nomad jobs (also: sudo docker exec -it nomad nomad status)',
      '  nomad node-status [-allocs] [node]          Nomad clients: drain, status, running allocations',
      '  nomad node-drain -enable|-disable <node>    drain a client or make it take work again',
      '  nomad logs -stderr <alloc>                  a build agent\'s standard error',
      '  df -h                                       the Services machine\'s disks',
      '  aws autoscaling describe-auto-scaling-groups   the Nomad clients\' Auto Scaling Group (update-auto-scaling-group, set-desired-capacity)',
      '  sudo rm -rf /opt/nomad                      the Nomad server\'s state (the seeds: stop the app first, start it after)',
      '  curl [-i] http://localhost:PORT/PATH        health endpoints:',
      ...healthUrls(this.listed).map((u) => `      ${u}`),
      '  circleci dev-console                        the REPL: (in-ns \'circle.backend.build.usage-queue) (-> (all-builds) count)',
      '  ls|cat /etc/circleconfig/SERVICE/customizations    the customization files (JVM_HEAP_SIZE, DOMAIN_SERVICE_REFRESH_USERS, ...)',
      '  sudo mkdir -p DIR; echo \'export NAME="value"\' | sudo tee -a FILE   write one (sudo sh -c \'echo ... >> FILE\' too)',
      '  sudo docker exec C printenv [NAME] | env    the environment a container was created with (the last app start)',
      '  sudo docker exec -it frontend lein repl :connect 6005   a JVM service\'s REPL (test-results 2719, picard-output-processor 6007)',
      '  replicated apps | replicated app <id> start|stop|status',
      '  answer <container> <cause>                  name the root cause; causes: ' + Object.keys(CAUSES).join(', '),
      '  hint                                        a nudge, then a pointer, then the answer (each costs points)',
      '  exit                                        end the drill: the twin checks your fix and grades the session',
      `Each command takes ${formatDurationMs(this.commandMs)} of the installation's time: queues grow while you look.`,
    ].join('\n');
  }

  /** The dev-console REPL: the seeds' queue forms, in the usage-queue and run-queue namespaces. */
  private devConsole(line: string): ReturnType<typeof parseShellLine> | { kind: 'console'; output: string } {
    const f = devConsoleForm(line, this.namespace);
    switch (f.kind) {
      case 'noop':
        return f;
      case 'leave':
        this.mode = 'shell';
        return { kind: 'console', output: f.output };
      case 'in-ns':
        this.namespace = f.namespace;
        return { kind: 'console', output: f.output };
      case 'text':
        return { kind: 'console', output: f.output };
    }
    const queue = f.queue === 'usage' ? this.twin.dispatcher.usageQueue : this.twin.dispatcher.runQueue;
    if (f.kind === 'count') return { kind: 'console', output: String(queue.length) };
    const all = queue.toArray();
    return { kind: 'console', output: buildUrls((f.reverse ? [...all].reverse() : all).slice(0, f.n).map((b) => b.name)) };
  }

  private check(c: VerifyCheck, fromMs: number): CheckResult {
    const t = this.twin;
    switch (c.kind) {
      case 'queue_drains': {
        // Every place a build waits: a hung dispatcher leaves builds in the usage queue, a hung picard-scheduler
        // in its own queue, a starved fleet as Nomad jobs pending.
        const usageQueue = t.dispatcher.usageQueue.length;
        const runQueue = t.dispatcher.runQueue.length;
        const schedulerQueue = t.schedulerer.queue.length;
        const pending = t.services.isUp('nomad_server') ? t.fleet.scheduler.counts().pending : Infinity;
        const passed = [usageQueue, runQueue, schedulerQueue, pending].every((n) => n <= QUEUE_DRAINED_MAX);
        return { check: 'queue_drains', passed, observed: `usage queue ${usageQueue}, run queue ${runQueue}, picard-scheduler queue ${schedulerQueue}, Nomad pending jobs ${pending === Infinity ? 'unknown (nomad down)' : pending}, ${formatDurationMs(this.nowMs - fromMs)} after the session` };
      }
      case 'next_build_succeeds': {
        const next = this.recorder.list().filter((b) => b.createdAtMs >= fromMs);
        const ok = next.find((b) => b.fate === 'succeeded');
        return { check: 'next_build_succeeds', passed: ok !== undefined, observed: ok ? `${ok.name} succeeded at ${clockTime(ok.fateAtMs!)}` : `${next.length} builds since the session, none succeeded (${countFates(next)})` };
      }
      case 'health_200': {
        const h = this.profile.containers.find((x) => x.name === c.container)?.health;
        const a = curlAnswer(`http://localhost:${h?.port ?? 0}${h?.path ?? '/'}`, this.listed, (n) => t.services.state(n), true);
        return { check: `health_200 ${c.container}`, passed: a.status === 200, observed: a.output.split('\n')[0]! };
      }
      case 'container_running':
        return { check: `container_running ${c.container}`, passed: t.services.state(c.container) === 'running', observed: `${c.container} ${t.services.state(c.container)}` };
      case 'no_stale_allocations': {
        const n = t.fleet.staleAllocations();
        return { check: 'no_stale_allocations', passed: n === 0, observed: `${n} allocations of the restored /opt/nomad the Nomad server still holds` };
      }
      case 'clients_eligible': {
        const ok = t.fleet.scheduler.nodes().filter((n) => n.status === 'ready' && !n.drain && n.eligibility === 'eligible').length;
        return { check: `clients_eligible ${c.count}`, passed: ok >= c.count, observed: `${ok} clients ready, not draining, eligible` };
      }
    }
  }
}

/**
 * What `rm` answers for /opt/nomad before it removes anything (both runtimes' consoles): nothing there (`-f` says
 * nothing), no sudo, no `-r`; undefined when it removes it.
 */
export function rmNomadRefusal(path: string, f: { recursive: boolean; force: boolean; sudo: boolean }, present: boolean): { output: string; exit: number } | undefined {
  const shown = path.replace(/\/\*$/, '/data');
  if (!present) return f.force ? { output: '', exit: 0 } : { output: `rm: cannot remove '${shown}': No such file or directory`, exit: 1 };
  if (!f.sudo) return { output: `rm: cannot remove '${shown}': Permission denied`, exit: 1 };
  if (!f.recursive) return { output: `rm: cannot remove '${shown}': Is a directory`, exit: 1 };
  return undefined;
}

/** `rm` of these paths is the Nomad server's data directory (the seeds' `sudo rm -rf /opt/nomad`). */
export const NOMAD_DATA = /^\/opt\/nomad(\/|\/\*|\/data\/?)?$/;

/** The /etc/circleconfig directory a container reads (the seeds' list names most by their canonical name, federations-service by the listing's). */
export function overrideDir(canonical: string): string {
  return (OVERRIDE_DIRS as readonly string[]).includes(canonical) ? canonical : dockerName(canonical);
}

/** `df -h` on the Services machine: the root volume as the disk model holds it (the other rows are fixed). */
export function diskFree(capacityMb: number, freeMb: number): string {
  const gb = (mb: number) => (mb >= 10_000 ? `${Math.round(mb / 1000)}G` : `${(Math.max(0, mb) / 1000).toFixed(1)}G`);
  const used = capacityMb - Math.max(0, freeMb);
  const rows = [
    ['Filesystem', 'Size', 'Used', 'Avail', 'Use%', 'Mounted on'],
    ['udev', '7.9G', '0', '7.9G', '0%', '/dev'],
    ['tmpfs', '1.6G', '8.9M', '1.6G', '1%', '/run'],
    ['/dev/nvme0n1p1', gb(capacityMb), gb(used), gb(freeMb), `${Math.min(100, Math.ceil((used / capacityMb) * 100))}%`, '/'],
  ];
  return renderDf(rows);
}

/** `df`'s table: the first column left-aligned, the numbers right-aligned, the mount point as it is. */
export function renderDf(rows: readonly (readonly string[])[]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : i === r.length - 1 ? c : c.padStart(w[i]!))).join(' ')).join('\n');
}

/**
 * The Nomad jobs of a restored /opt/nomad: yesterday's builds (numbers well above the day's, so they are told
 * apart from the session's own), `<24 hex>-0-build-acme-repo-R-N` as the day's are.
 */
export function staleJobIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = 11_873 + i * 3;
    return `${n.toString(16).padStart(24, '0')}-0-build-acme-repo-${(i % 3) + 1}-${n}`;
  });
}

function countFates(builds: readonly { fate?: string }[]): string {
  const c: Record<string, number> = {};
  for (const b of builds) c[b.fate ?? 'unfinished'] = (c[b.fate ?? 'unfinished'] ?? 0) + 1;
  return Object.entries(c).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${v} ${k}`).join(', ') || 'no builds';
}

/**
 * The lines of `now` that `before` did not hold: a multiset difference, since the log's window moves (its oldest
 * lines drop off) and every line carries its time, so the lines both hold are the same text.
 */
export function newLines(before: readonly string[], now: readonly string[]): string[] {
  const seen = new Map<string, number>();
  for (const l of before) seen.set(l, (seen.get(l) ?? 0) + 1);
  const out: string[] = [];
  for (const l of now) {
    const n = seen.get(l) ?? 0;
    if (n > 0) seen.set(l, n - 1);
    else out.push(l);
  }
  return out;
}
