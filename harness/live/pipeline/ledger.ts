import type pg from 'pg';
import type { GithubDelivery } from '../../github/state.ts';

/** Something that answers SQL: a `pg.Pool`, a `pg.Client`. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface Ledger {
  /** Pushes that became a build row (GHE delivery answered 200). */
  triggered: number;
  succeeded: number;
  running: number;
  queued: number;
  scheduled: number;
  /** What did not make it, when GHE's delivery log is given. */
  lost?: {
    /** `push` deliveries GHE logged as failed (no 2xx): never triggered. */
    notTriggered: number;
    /** Builds still `queued` after `stuckAfterMs`: their run-queue message is gone (or not yet consumed). */
    stuckQueued: number[];
  };
}

/** The builds table by status, plus GHE's delivery log (failed push deliveries are not triggered). */
export async function ledger(db: Queryable, deliveries?: readonly GithubDelivery[], opts: { stuckAfterMs?: number } = {}): Promise<Ledger> {
  const r = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM builds GROUP BY status');
  const by = Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)])) as Record<string, number>;
  const out: Ledger = {
    triggered: Object.values(by).reduce((a, b) => a + b, 0),
    succeeded: by.succeeded ?? 0,
    running: by.running ?? 0,
    queued: by.queued ?? 0,
    scheduled: by.scheduled ?? 0,
  };
  if (deliveries) {
    const stuck = await db.query<{ id: string }>(
      "SELECT id FROM builds WHERE status = 'queued' AND queued_at < clock_timestamp() - ($1::double precision * interval '1 millisecond') ORDER BY id",
      [opts.stuckAfterMs ?? 5_000],
    );
    // A delivery counts once per GUID: failed when no attempt of that event got a 2xx.
    const byGuid = new Map<string, boolean>();
    for (const d of deliveries) if (d.event === 'push') byGuid.set(d.guid, (byGuid.get(d.guid) ?? false) || d.ok);
    out.lost = { notTriggered: [...byGuid.values()].filter((ok) => !ok).length, stuckQueued: stuck.rows.map((x) => Number(x.id)) };
  }
  return out;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Queue time (`started_at` less when the build entered the run queue: `forwarded_at`, else `queued_at`; ms) over started builds, nearest-rank percentiles. */
export async function queueTimePercentiles(db: Queryable): Promise<Percentiles> {
  const r = await db.query<{ ms: number }>('SELECT EXTRACT(EPOCH FROM (started_at - COALESCE(forwarded_at, queued_at))) * 1000 AS ms FROM builds WHERE started_at IS NOT NULL ORDER BY 1');
  const xs = r.rows.map((row) => Number(row.ms));
  const pick = (p: number) => (xs.length === 0 ? 0 : xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!);
  return { count: xs.length, p50: pick(50), p90: pick(90), p99: pick(99), max: xs.length ? xs[xs.length - 1]! : 0 };
}
