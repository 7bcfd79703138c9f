import { faultEntry, liveActionsOn, liveKind } from '../faults/catalogue.ts';
import type { SettledDrill } from './drill.ts';
import type { ServiceState, StateCause } from '../models/services/registry.ts';
import type { CheckResult } from './session.ts';
import { parseShellLine } from './shell.ts';
import { unfinishedFate } from '../domain/fates.ts';

/**
 * Why a drill's breakage cannot be carried out on the live stack (`twin train --drill NAME --mode live`), one
 * reason a line, or none: each hidden fault against the fault catalogue's live column (the live stack runs the
 * pipeline stages, the stores, the Nomad server and clients, the health-only services it lists in
 * `LIVE_GROUPS`, tutum/logrotate among them), each hidden change (the live stack makes Auto Scaling Group changes on its EC2 endpoint and starts its Nomad
 * server on a restored /opt/nomad), and its fixes (one must be typed with the commands the live console carries out).
 */
export function liveBlockers(drill: SettledDrill): string[] {
  const out: string[] = [];
  for (const f of drill.faults) {
    if (liveActionsOn(f.target).includes(f.action)) continue;
    if (liveKind(f.target) === undefined) out.push(`its fault \`${f.action}\` of \`${f.writtenTarget}\`: the live stack runs no ${f.writtenTarget}`);
    else out.push(`its fault \`${f.action}\` of \`${f.writtenTarget}\`: ${faultEntry(f.action).live.whyNot ?? 'the live stack does not carry it out there'}`);
  }
  // Every hidden change is carried out live: an Auto Scaling Group change on the stack's EC2 endpoint (the group's
  // instances are its Nomad clients), a restored /opt/nomad by starting the Nomad server on it (restored-nomad.ts).
  const fixable = unfixableLive(drill.fixes);
  if (fixable !== undefined) out.push(fixable);
  return out;
}

/**
 * Why none of a drill's fixes can be typed at the live console (each needs a command it does not carry out,
 * `LIVE_SHELL_COMMANDS`), or undefined when one can.
 */
export function unfixableLive(fixes: readonly (readonly string[])[]): string | undefined {
  const missing = fixes.map((steps) => [...new Set(steps.filter((line) => !LIVE_SHELL_COMMANDS.includes(parseShellLine(line).kind)))]);
  if (fixes.length === 0 || missing.some((m) => m.length === 0)) return undefined;
  return `each of its fixes needs a command the live console does not carry out yet (${[...new Set(missing.flat())].map((l) => `\`${l}\``).join(', ')})`;
}

/** A queue counts as drained at this many builds waiting or fewer (the simulation's verification uses the same). */
export const QUEUE_DRAINED_MAX = 2;

/**
 * A live stack row's state (harness/live/stack.ts `LiveState`) as `docker ps` shows the container: a service that
 * is starting, healthy or unhealthy runs; a paused one is hung but "Up"; killed or exited ones are stopped.
 */
export function liveServiceState(rowState: string): ServiceState {
  if (rowState === 'paused') return 'paused';
  if (rowState === 'killed' || rowState === 'exited') return 'stopped';
  if (rowState === 'failed') return 'failed';
  return 'running';
}

/** The state cause a lifecycle command leaves a container in (`docker ps -a`'s exit code and the log's lines). */
export function causeOf(action: string): StateCause {
  const known: readonly StateCause[] = ['kill', 'stop', 'start', 'pause', 'unpause'];
  return action === 'restart' ? 'start' : (known as readonly string[]).includes(action) ? (action as StateCause) : 'start';
}

/** What the live stack showed of the queues when the fix was verified. */
export interface LiveQueues {
  /** Builds in PostgreSQL still queued (not yet running), the run queue's and picard-scheduler's waiting messages. */
  queuedBuilds: number;
  runQueue: number | undefined;
  schedulerQueue: number | undefined;
  /** Nomad jobs pending on the server; undefined when it does not answer. */
  nomadPending: number | undefined;
}

/** What the live stack showed of the builds queued since the verification began. */
export interface LiveBuildsSince {
  total: number;
  /** The first one that succeeded: its number and when it finished (HH:MM on the Services machine's clock). */
  succeeded: { id: number; at: string } | undefined;
  /** How many ended each way (or are unfinished). */
  fates: Readonly<Record<string, number>>;
}

/**
 * How many of the builds PostgreSQL still shows queued really wait, by the simulation's rule for an unfinished build
 * (`unfinishedFate`): once RabbitMQ went down (a kill, a stop, Replicated's `app stop`), a queued build whose
 * message is not waiting in its non-durable queue (run-queue before picard-dispatcher took it, picard-scheduler's
 * after) was lost with the queue, as the simulation's broker loses it, and no longer counts as queued. Oldest first:
 * the messages still waiting are the newest builds' (the replay's accounting counts them the same way). Before the
 * broker went down every queued row counts (a message in a consumer's hands is not in the queue's depth).
 */
export function waitingBuilds(queued: readonly { readonly dispatched: boolean }[], depths: { runQueue: number | undefined; schedulerQueue: number | undefined }, brokerWentDown: boolean): number {
  if (!brokerWentDown) return queued.length;
  const waiting = { 'run-queue': depths.runQueue ?? 0, scheduling: depths.schedulerQueue ?? 0 };
  let stuck = 0;
  for (let i = queued.length - 1; i >= 0; i--) {
    const stage = queued[i]!.dispatched ? 'scheduling' : 'run-queue';
    const messageWaiting = waiting[stage] > 0;
    if (messageWaiting) waiting[stage]--;
    if (unfinishedFate({ stage, messageWaiting, nomadWiped: false, brokerWentDown }).fate === 'stuck') stuck++;
  }
  return stuck;
}

/** `queue_drains` judged on the live stack: every place a build waits holds at most `QUEUE_DRAINED_MAX`. */
export function judgeQueueDrains(q: LiveQueues, after: string): CheckResult {
  const known = (n: number | undefined) => n !== undefined && n <= QUEUE_DRAINED_MAX;
  const passed = q.queuedBuilds <= QUEUE_DRAINED_MAX && known(q.runQueue) && known(q.schedulerQueue) && known(q.nomadPending);
  const show = (n: number | undefined, what: string) => (n === undefined ? `${what} unknown (no answer)` : `${what} ${n}`);
  return { check: 'queue_drains', passed, observed: `builds queued ${q.queuedBuilds}, ${show(q.runQueue, 'run-queue')}, ${show(q.schedulerQueue, 'picard-scheduler queue')}, ${show(q.nomadPending, 'Nomad pending jobs')}, ${after}` };
}

/** `next_build_succeeds` judged on the live stack: a build queued since the verification began succeeded. */
export function judgeNextBuild(b: LiveBuildsSince): CheckResult {
  const fates = Object.entries(b.fates).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => `${v} ${k}`).join(', ') || 'no builds';
  return { check: 'next_build_succeeds', passed: b.succeeded !== undefined, observed: b.succeeded ? `build ${b.succeeded.id} succeeded at ${b.succeeded.at}` : `${b.total} builds since the session, none succeeded (${fates})` };
}

/** `health_200 C` judged on what the container's real health endpoint answered (its status, or the error). */
export function judgeHealth(container: string, answer: { status?: number; error?: string }): CheckResult {
  return { check: `health_200 ${container}`, passed: answer.status === 200, observed: answer.status !== undefined ? `HTTP ${answer.status}` : `no answer: ${answer.error ?? 'unknown'}` };
}

/** `container_running C` judged on its live row. */
export function judgeRunning(container: string, rowState: string | undefined): CheckResult {
  const state = rowState === undefined ? 'absent' : liveServiceState(rowState);
  return { check: `container_running ${container}`, passed: state === 'running', observed: `${container} ${state}${rowState !== undefined && rowState !== state ? ` (${rowState})` : ''}` };
}

/** `no_stale_allocations` judged on the twin's Nomad server: the allocations of a restored /opt/nomad it still holds (undefined: it does not say). */
export function judgeStaleAllocations(held: number | undefined): CheckResult {
  return { check: 'no_stale_allocations', passed: held === 0, observed: held === undefined ? 'the Nomad server does not say (not the twin\'s)' : `${held} allocations of the restored /opt/nomad the Nomad server still holds` };
}

/** `clients_eligible N` judged on the Nomad clients the live Nomad API lists. */
export function judgeClients(count: number, nodes: readonly { status: string; drain: boolean; eligibility: string }[] | undefined): CheckResult {
  const ok = nodes === undefined ? 0 : nodes.filter((n) => n.status === 'ready' && !n.drain && n.eligibility === 'eligible').length;
  return { check: `clients_eligible ${count}`, passed: ok >= count, observed: nodes === undefined ? 'the Nomad server does not answer' : `${ok} clients ready, not draining, eligible` };
}

/**
 * The shell's commands the drill console on the live stack carries out (the Services machine's, from `df` on, where
 * the installation has a machine: harness/train/live-commands.ts); for the others it says so (exit 1) rather than
 * pretend.
 */
export const LIVE_SHELL_COMMANDS: readonly string[] = [
  'docker-ps', 'docker-logs', 'docker-lifecycle', 'nomad-status', 'nomad-node-status', 'nomad-node-drain', 'curl', 'dev-console', 'answer', 'hint', 'help', 'exit', 'noop',
  'df', 'replicated-apps', 'replicated-app', 'cat', 'ls', 'mkdir', 'rm', 'echo', 'docker-exec-env', 'docker-exec-repl', 'aws-asg-describe', 'aws-asg-update',
];

/** The console's answer to a command it does not carry out on the live stack. */
export function notOnLiveStack(line: string): string {
  return `${line.trim().split(/\s+/).filter((w) => w !== 'sudo').slice(0, 2).join(' ')}: the drill console on the live stack does not carry this out (it answers sudo docker ps|logs|start|stop|restart|exec, nomad status|node-status|node-drain (and nomad logs with a nomad binary on PATH), curl, circleci dev-console, replicated, the /etc/circleconfig files, df, aws autoscaling, answer, hint, help, exit); run the drill in the simulation for the rest`;
}
