import type pg from 'pg';
import type { NomadClient } from '../../nomad/client.ts';
import type { ConfirmPublisher } from './amqp.ts';
import { RUN_QUEUE, type RunMessage } from './schema.ts';
import { REASONS } from '../../../sim/domain/fates.ts';

/** The reason a build fails when the Nomad server declared its allocation lost (the simulation's wording). */
export const LOST_ALLOCATION_REASON = REASONS.allocationLost;

/** The build a Nomad job runs: schedulerer names jobs `build-<id>`, or `build-<id>-<i>` for each container of a parallel build. */
export function buildIdOfJob(jobId: string): number | undefined {
  const m = /^build-(\d+)(?:-\d+)?$/.exec(jobId);
  return m ? Number(m[1]) : undefined;
}

export interface LostAllocationWatcherOptions {
  nomad: NomadClient;
  pool: pg.Pool;
  /** Publishes the re-run to `run-queue`. */
  publisher: ConfirmPublisher;
  /** How long one blocking query on the node list waits; default 1 s. */
  waitMs?: number;
}

/**
 * Watches the Nomad node list (a blocking query) and, when a node's status changes, reads its allocations:
 * every allocation the server declared `lost` (its client missed the heartbeat timeout, or its instance was
 * terminated) fails its build as an infrastructure failure, stops the build's Nomad job (its other containers
 * with it) and re-runs the build as a new build of the same workflow job (`retry_of`), as CircleCI does.
 *
 * Each step is conditional in PostgreSQL (a build still in flight fails once; one retry per build), so a watcher
 * that restarts and rereads every node acts on each lost allocation once.
 */
export class LostAllocationWatcher {
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly seenModify = new Map<string, number>();
  private readonly handled = new Set<string>();
  /** Builds failed and re-run, and re-runs the broker did not take. */
  failed = 0;
  retried = 0;
  retriesLost = 0;

  constructor(private readonly opts: LostAllocationWatcherOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    // After a restart every node is read again: what was lost while the watcher was away is found.
    this.seenModify.clear();
    this.loop = this.watch();
  }

  /** Ends the watch; the blocking query in flight is left to time out on its own (its answer is ignored). */
  async stop(): Promise<void> {
    this.running = false;
    this.loop = null;
  }

  private async watch(): Promise<void> {
    let index = 0;
    const waitMs = this.opts.waitMs ?? 1_000;
    while (this.running) {
      try {
        const r = await this.opts.nomad.blockingNodes(index, waitMs);
        if (!this.running) return;
        for (const node of r.nodes) {
          if (this.seenModify.get(node.ID) === node.ModifyIndex) continue;
          await this.checkNode(node.ID);
          this.seenModify.set(node.ID, node.ModifyIndex);
        }
        // Moved on only once every changed node was read: a failure reads them again at once. An index that
        // went backwards (a server restarted) starts over from what is there now.
        index = r.index < index ? 0 : r.index;
      } catch {
        // Nomad unreachable (down, partitioned, restarting): ask again shortly.
        await new Promise((r) => setTimeout(r, Math.min(waitMs, 250)));
      }
    }
  }

  private async checkNode(nodeId: string): Promise<void> {
    for (const a of await this.opts.nomad.nodeAllocations(nodeId)) {
      if (a.ClientStatus !== 'lost' || this.handled.has(a.ID)) continue;
      const buildId = buildIdOfJob(a.JobID);
      if (buildId !== undefined) await this.failAndRetry(buildId, a.JobID);
      this.handled.add(a.ID);
    }
  }

  private async failAndRetry(buildId: number, jobId: string): Promise<void> {
    const { pool } = this.opts;
    const r = await pool.query<{ repo: string; sha: string; workflow_id: string | null; job_index: number }>(
      "UPDATE builds SET status = 'failed', reason = $2, finished_at = clock_timestamp() WHERE id = $1 AND status IN ('scheduled', 'running') RETURNING repo, sha, workflow_id, job_index",
      [buildId, LOST_ALLOCATION_REASON],
    );
    const b = r.rows[0];
    if (b === undefined) return;
    this.failed++;
    // Its other containers stop with the job (and with the build's other jobs when it ran in parallel);
    // what the server still holds of it is not placed again.
    const siblings = await this.opts.nomad.jobs(`build-${buildId}-`).catch(() => []);
    for (const id of new Set([jobId, ...siblings.map((j) => j.ID)])) await this.opts.nomad.stopJob(id).catch(() => undefined);
    const ins = await pool.query<{ id: string }>(
      "INSERT INTO builds (repo, sha, status, workflow_id, job_index, retry_of) VALUES ($1, $2, 'queued', $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
      [b.repo, b.sha, b.workflow_id, b.job_index, buildId],
    );
    const retryId = ins.rows[0]?.id;
    if (retryId === undefined) return;
    try {
      await this.opts.publisher.publish(RUN_QUEUE, { buildId: Number(retryId), repo: b.repo, sha: b.sha, jobIndex: b.job_index } satisfies RunMessage);
      this.retried++;
    } catch {
      // The broker did not take the re-run: there is none, and the workflow waits for ever (inconsistent).
      this.retriesLost++;
      await pool.query('DELETE FROM builds WHERE id = $1', [retryId]).catch(() => undefined);
    }
  }
}
