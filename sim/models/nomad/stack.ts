/**
 * Candidate selection: the chain of iterators Nomad calls a stack (`scheduler/stack.go`, `select.go`).
 *
 * Nomad's GenericStack, for batch and service jobs, is wired as
 *
 *     RandomIterator (Fisher–Yates shuffle of the base nodes, once per evaluation)
 *       → feasibility checkers (constraints)          feasible.ts
 *       → BinPackIterator (fits? then fit score)      feasible.ts `fits`, rank.ts
 *       → JobAntiAffinityIterator (penalty)           rank.ts
 *       → ScoreNormalizationIterator (mean)           rank.ts `finalScore`
 *       → LimitIterator (stop after `limit` options, skipping up to 3 options scoring ≤ 0)
 *       → MaxScoreIterator (best of those)
 *
 * What makes it fast is the LimitIterator: Nomad does not rank every node, it stops after `limit`
 * feasible options. The limit is set in `GenericStack.SetNodes`:
 * - batch jobs: 2 — "we only need to evaluate 2 options and depend on the power of two choices";
 * - service jobs: max(2, ⌈log2(number of nodes)⌉) — "for services jobs we need to visit enough".
 * (Affinities or spread stanzas raise it, which CircleCI's jobs never use.) CircleCI's jobs are batch.
 *
 * The node order: Nomad shuffles the whole base node list per evaluation (O(nodes)) and then walks it
 * with a StaticIterator whose offset survives between the evaluation's placements (only its `seen`
 * count is reset), so consecutive placements continue where the previous one stopped and one
 * placement looks at each node at most once. We keep exactly that distribution but shuffle lazily:
 * position p of the evaluation's order is drawn (one Fisher–Yates step) only when the walk first
 * reaches it. A placement therefore costs O(nodes visited) — a handful when the fleet has room — and
 * only a failing placement walks every node, as in Nomad. (A shuffle that starts from any previous
 * arrangement is still uniform, so the permutation array is never reset.)
 */
import type { Rng } from '../../engine/rng.ts';
import type { NodeTable } from './cluster-state.ts';
import {
  EXHAUSTED_CPU,
  EXHAUSTED_MEMORY,
  FEASIBLE,
  FILTERED,
  NOT_IN_BASE_SET,
  checkNode,
  type Ask,
} from './feasible.ts';
import { finalScore, normalizedFit, type Algorithm } from './rank.ts';

/** Nomad's LimitIterator limit for batch jobs (power of two choices). */
export const BATCH_CANDIDATE_LIMIT = 2;
/** Nomad's `skipScoreThreshold`: options scoring at or below it are set aside while others exist. */
export const SKIP_SCORE_THRESHOLD = 0;
/** Nomad's `maxSkip`: at most this many low-scoring options are set aside per placement. */
export const MAX_SKIP = 3;

/** The LimitIterator limit Nomad uses for a job type on a fleet of `nodeCount` nodes. */
export function candidateLimit(jobType: 'batch' | 'service', nodeCount: number): number {
  if (jobType === 'batch' || nodeCount <= 0) return BATCH_CANDIDATE_LIMIT;
  return Math.max(BATCH_CANDIDATE_LIMIT, Math.ceil(Math.log2(nodeCount)));
}

/** What the stack needs of the job being placed. */
export interface StackJob extends Ask {
  /** Task group count, the denominator of the anti-affinity penalty. */
  count: number;
  /** Non-terminal allocations of this job per node index (null when count is 1). */
  perNode: ReadonlyMap<number, number> | null;
}

/** Counters of one `select` call, Nomad's AllocMetric; meaningful for a failed select. */
export interface SelectMetrics {
  nodesEvaluated: number;
  nodesFiltered: number;
  nodesExhausted: number;
  exhaustedCpu: number;
  exhaustedMemory: number;
}

/**
 * Nomad's GenericStack for batch jobs over the node table.
 *
 * `setJob` starts an evaluation (a fresh random order); each `select` returns the node index for one
 * more task of that job, or -1 when no node can take it.
 */
export class GenericStack {
  private perm: Int32Array;
  private n = 0;
  /** Positions [0, shuffled) of the current evaluation's order have been drawn. */
  private shuffled = 0;
  /** The StaticIterator offset: where the next placement of this evaluation starts. */
  private cursor = 0;
  private job: StackJob | null = null;
  private readonly skippedNode = new Int32Array(MAX_SKIP);
  private readonly skippedScore = new Float64Array(MAX_SKIP);
  readonly metrics: SelectMetrics = {
    nodesEvaluated: 0,
    nodesFiltered: 0,
    nodesExhausted: 0,
    exhaustedCpu: 0,
    exhaustedMemory: 0,
  };

  constructor(
    private readonly nodes: NodeTable,
    private readonly rng: Rng,
    private readonly algorithm: Algorithm,
    private readonly limit: number = BATCH_CANDIDATE_LIMIT,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`candidate limit must be >= 1, got ${limit}`);
    this.perm = new Int32Array(16);
  }

  /** Makes a newly registered node index visible to later evaluations. */
  addNode(nodeIdx: number): void {
    if (this.n === this.perm.length) {
      const p = new Int32Array(this.perm.length * 2);
      p.set(this.perm);
      this.perm = p;
    }
    this.perm[this.n++] = nodeIdx;
  }

  /** Starts an evaluation of `job`: a new random node order (Nomad's SetNodes + SetJob). */
  setJob(job: StackJob): void {
    this.job = job;
    this.shuffled = 0;
    this.cursor = 0;
  }

  /** The next node of the evaluation's order, or -1 once this placement has seen every node. */
  private nextNode(seen: number): number {
    const n = this.n;
    if (seen >= n) return -1;
    if (this.cursor === n) this.cursor = 0;
    const p = this.cursor;
    if (p === this.shuffled) {
      const j = p + this.rng.nextInt(n - p);
      const perm = this.perm;
      const t = perm[p]!;
      perm[p] = perm[j]!;
      perm[j] = t;
      this.shuffled = p + 1;
    }
    this.cursor = p + 1;
    return this.perm[p]!;
  }

  /**
   * Picks the node for one task of the current job: the best of the first `limit` feasible options in
   * the evaluation's order (LimitIterator + MaxScoreIterator), or -1 after seeing every node.
   */
  select(): number {
    const job = this.job;
    if (job === null) throw new Error('GenericStack.select called before setJob');
    const nodes = this.nodes;
    const m = this.metrics;
    m.nodesEvaluated = 0;
    m.nodesFiltered = 0;
    m.nodesExhausted = 0;
    m.exhaustedCpu = 0;
    m.exhaustedMemory = 0;

    const limit = this.limit;
    const perNode = job.perNode;
    let seen = 0;
    let accepted = 0;
    let skipped = 0;
    let best = -1;
    let bestScore = -Infinity;

    while (accepted < limit) {
      const i = this.nextNode(seen);
      if (i < 0) break;
      seen++;
      const r = checkNode(nodes, i, job);
      if (r === NOT_IN_BASE_SET) continue;
      m.nodesEvaluated++;
      if (r !== FEASIBLE) {
        if (r === FILTERED) m.nodesFiltered++;
        else {
          m.nodesExhausted++;
          if (r === EXHAUSTED_CPU) m.exhaustedCpu++;
          else if (r === EXHAUSTED_MEMORY) m.exhaustedMemory++;
        }
        continue;
      }
      const collisions = perNode === null ? 0 : (perNode.get(i) ?? 0);
      const score = finalScore(normalizedFit(nodes, i, job, this.algorithm), collisions, job.count);
      // LimitIterator: set aside the first few low-scoring options in case better ones follow.
      if (skipped < MAX_SKIP && score <= SKIP_SCORE_THRESHOLD) {
        this.skippedNode[skipped] = i;
        this.skippedScore[skipped] = score;
        skipped++;
        continue;
      }
      accepted++;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    // The walk ran out before the limit: the set-aside options fill the remaining slots, in order.
    for (let k = 0; accepted < limit && k < skipped; k++) {
      accepted++;
      if (this.skippedScore[k]! > bestScore) {
        best = this.skippedNode[k]!;
        bestScore = this.skippedScore[k]!;
      }
    }
    return best;
  }
}
