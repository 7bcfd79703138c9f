import type { Fate } from '../ledger.ts';
import type { BuildStage } from '../models/build.ts';

/**
 * The reasons a build or a webhook ends as it does, in the simulation's words: both runtimes record these, so
 * the simulated and the live ledger can be compared reason by reason. A function takes what varies (the
 * service that was down, the queue).
 */
export const REASONS = {
  /** picard-dispatcher could not ask GitHub for `config.yml` (GHE, or Redis that caches its answers, down). */
  configFetchFailed: (down: string) => `${down} down: the GitHub API call for config.yml failed`,
  /** contexts-service (or vault-cci, or what it needs) could not give the job its context. */
  contextUnreadable: (down: string) => `${down} down: the context could not be read`,
  /** vm-service (or what it needs) could not give a machine or remote Docker job its instance. */
  noVmInstance: (down: string, kind: 'machine' | 'remote_docker') => `${down} down: no ${kind === 'machine' ? 'machine' : 'remote Docker'} instance`,
  /** A queue RabbitMQ does not persist was emptied when it went down. */
  nonDurableQueueLost: (queue: string) => `message lost from a non-durable queue when rabbitmq went down (${queue})`,
  /** A build's message is gone although the broker never went down (consumed and never acted on). */
  messageGone: (queue: string) => `its ${queue} message is gone (never consumed)`,
  /** picard-dispatcher died holding the build and RabbitMQ could not take it back. */
  unackedLostWithRabbit: 'unacknowledged run-queue message lost with rabbitmq',
  /** schedulerer sends straight to the Nomad server and queues nothing. */
  nomadUnreachable: 'nomad_server unreachable: schedulerer dropped the job (it does not queue jobs)',
  /** The Nomad server declared the allocation lost (its client went away): failed and re-run. */
  allocationLost: 'Nomad client lost: its allocation was lost',
  /** `/opt/nomad` wiped under a running build: nothing will ever end it. */
  nomadWipedRunning: 'Nomad server state wiped: its allocation was destroyed and the build shows Running forever',
  /** `/opt/nomad` wiped under a pending job: Nomad forgot it. */
  nomadWipedPending: 'Nomad server state wiped: its pending job was forgotten',
  /** One of the build's containers failed. */
  taskFailed: 'a task failed',
  /** The build's own tests failed (independent of the platform). */
  testsFailed: 'tests failed (the build itself)',
  /** A re-run after an infrastructure failure whose reason was not recorded. */
  retried: 'rerun after an infrastructure failure',
} as const;

/** Where a build still without a fate was at the end of the run, as its stuck reason says it. */
export const STUCK_REASONS: Readonly<Record<BuildStage, string>> = {
  'usage-queue': 'still in the usage queue at the end of the run',
  'run-queue': 'still in the run queue at the end of the run',
  dispatching: 'still being dispatched at the end of the run',
  scheduling: 'still waiting for schedulerer at the end of the run',
  pending: 'still pending in Nomad (no capacity) at the end of the run',
  running: 'still running at the end of the run',
  finishing: 'still being finalised at the end of the run',
  done: 'ended without a fate',
};

/** The queue that carries a build in each stage that waits in one. */
const QUEUE_OF: Partial<Record<BuildStage, string>> = { 'usage-queue': 'usage-queue', 'run-queue': 'run-queue', scheduling: 'schedulerer' };

/** A fate and the reason that goes with it ('' for a success). */
export interface FateDecision {
  fate: Fate;
  reason: string;
}

/** What output-processor knows of a build whose last task ended. */
export interface FinishedBuild {
  /** The platform failed it (no VM, a lost allocation): the first reason. */
  infraFailure: string | undefined;
  tasksFailed: number;
  failsOnItsOwn: boolean;
}

/** A build whose tasks all ended: succeeded, or failed with the platform's reason, else a task's, else its tests'. */
export function finishedFate(b: FinishedBuild): FateDecision & { fate: 'succeeded' | 'failed' } {
  if (b.infraFailure !== undefined) return { fate: 'failed', reason: b.infraFailure };
  if (b.tasksFailed > 0) return { fate: 'failed', reason: REASONS.taskFailed };
  if (b.failsOnItsOwn) return { fate: 'failed', reason: REASONS.testsFailed };
  return { fate: 'succeeded', reason: '' };
}

/** What is known at the end of a run of a build that never ended. */
export interface UnfinishedBuild {
  /** Where it was last seen. */
  stage: BuildStage;
  /** For a build in a queue (usage-queue, run-queue, schedulerer): its message is still there. */
  messageWaiting: boolean;
  /** The Nomad server's state was wiped while it was pending or running there. */
  nomadWiped: boolean;
  /** RabbitMQ went down during the run (its non-durable queues were emptied). */
  brokerWentDown: boolean;
}

/**
 * The fate of a build still without one at the end of a run: lost when what carried it is gone (its queue
 * message, or its Nomad job with a wiped state), else stuck where it was.
 */
export function unfinishedFate(b: UnfinishedBuild): FateDecision {
  if (b.nomadWiped && (b.stage === 'pending' || b.stage === 'running')) {
    return { fate: 'lost', reason: b.stage === 'running' ? REASONS.nomadWipedRunning : REASONS.nomadWipedPending };
  }
  const queue = QUEUE_OF[b.stage];
  if (queue !== undefined && !b.messageWaiting) {
    return { fate: 'lost', reason: b.brokerWentDown ? REASONS.nonDurableQueueLost(queue) : REASONS.messageGone(queue) };
  }
  return { fate: 'stuck', reason: STUCK_REASONS[b.stage] };
}
