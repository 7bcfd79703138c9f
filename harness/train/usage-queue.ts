import type { DevConsoleQueue } from '../../sim/training/dev-console.ts';

/** A queued build not yet taken by picard-dispatcher, as PostgreSQL has it. */
export interface UndispatchedBuild {
  id: string;
  repo: string;
  /** dispatcher forwarded it to the run queue (`forwarded_at`). */
  forwarded: boolean;
  /** A re-run of a build whose allocation was lost: published to the run queue directly. */
  retry: boolean;
}

/**
 * The dev-console's `all-builds` of a queue on the live stack (oldest first): with a dispatcher, the usage queue
 * holds the builds it has not forwarded (re-runs skip it) and the run queue the others; without one, frontend
 * publishes to the run queue and the usage queue is empty.
 */
export function devConsoleQueue(builds: readonly UndispatchedBuild[], queue: DevConsoleQueue, hasDispatcher: boolean): string[] {
  const inUsage = (b: UndispatchedBuild) => hasDispatcher && !b.forwarded && !b.retry;
  return builds.filter((b) => inUsage(b) === (queue === 'usage')).map((b) => `gh/${b.repo}/${b.id}`);
}
