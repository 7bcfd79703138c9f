import type { DevConsoleQueue } from '../../sim/training/dev-console.ts';

/**
 * The builds not yet dispatched (oldest first), split between the dev-console's two queues: the newest
 * `usageDepth` wait in the usage queue (dispatcher forwards in order, so they came last), the rest in the run
 * queue (or picard-dispatcher's prefetch). PostgreSQL knows which builds wait, RabbitMQ how many wait where.
 */
export function splitUndispatched(builds: readonly string[], usageDepth: number): Record<DevConsoleQueue, string[]> {
  const cut = Math.max(0, builds.length - Math.max(0, usageDepth));
  return { run: builds.slice(0, cut), usage: builds.slice(cut) };
}
