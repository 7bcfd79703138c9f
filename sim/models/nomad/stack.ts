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
 * The node order: Nomad shuffles the base node list per evaluation (Fisher–Yates, from a generator it
 * seeds per plan in `shuffleNodes`) and walks it with a StaticIterator whose offset survives between
 * the evaluation's placements (only its `seen` count is reset): a placement continues where the
 * previous one stopped, sees each node at most once, and wraps around to the start of the order.
 * When the fleet has room that is a handful of nodes; when only a few nodes have room, Nomad walks
 * past every full node, and a placement that fails walks them all.
 *
 * We get the same choices without walking past full nodes. Only the feasible nodes of the walk matter
 * (an infeasible one is skipped and, since placements only consume capacity, stays infeasible for the
 * rest of the evaluation), and the feasible nodes of a uniformly shuffled order come in uniformly
 * random order. So a placement draws its candidates uniformly, without replacement within the
 * evaluation, from the live list of feasible nodes that `FitIndex` keeps per request shape; when every
 * feasible node has been drawn, it wraps around through them in the order they were drawn, stopping
 * where it began — Nomad's walk, minus the full nodes. A placement with no feasible node fails at once,
 * with the metrics the walk would have counted. Cost: O(candidates) per placement. Draws come from a
 * small generator (mulberry32) seeded per evaluation by one draw from the scheduler's `Rng`.
 *
 * When a request shape is not indexed (more than `MAX_INDEXED_SHAPES` distinct ones), the stack walks
 * a lazily shuffled order of all nodes instead, exactly as Nomad does.
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
  type ShapeCounts,
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
  /** Live feasibility counts for the job's request shape, when indexed (see `FitIndex`). */
  shape: ShapeCounts | null;
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
  /** State of this evaluation's order generator (mulberry32), seeded from the `Rng` in `setJob`. */
  private orderState = 0;
  /** Evaluation counter; `drawnAt[node] === epoch` marks a node drawn in this evaluation. */
  private epoch = 0;
  private drawnAt: Int32Array;
  /** Nodes drawn in this evaluation, in draw order (the walk's feasible nodes so far). */
  private drawn: Int32Array;
  private drawnLen = 0;
  /** Drawn nodes that are still feasible. */
  private drawnFeasible = 0;
  /** -1 while drawing fresh nodes; else the position in `drawn` where the wrapped-around walk continues. */
  private wrap = -1;
  /** The node the previous placement of this evaluation chose (its capacity shrank since). */
  private lastChosen = -1;
  private readonly skippedNode = new Int32Array(MAX_SKIP);
  private readonly skippedScore = new Float64Array(MAX_SKIP);
  /** The current placement's Limit/MaxScore state (fields, so the hot path allocates nothing). */
  private pickAccepted = 0;
  private pickSkipped = 0;
  private pickBest = -1;
  private pickBestScore = -Infinity;
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
    this.drawnAt = new Int32Array(16).fill(-1);
    this.drawn = new Int32Array(16);
  }

  /** Makes a newly registered node index visible to later evaluations. */
  addNode(nodeIdx: number): void {
    if (this.n === this.perm.length) {
      const p = new Int32Array(this.perm.length * 2);
      p.set(this.perm);
      this.perm = p;
    }
    this.perm[this.n++] = nodeIdx;
    if (nodeIdx >= this.drawnAt.length) {
      const size = Math.max(nodeIdx + 1, this.drawnAt.length * 2);
      const d = new Int32Array(size).fill(-1);
      d.set(this.drawnAt);
      this.drawnAt = d;
      const o = new Int32Array(size);
      o.set(this.drawn);
      this.drawn = o;
    }
  }

  /** Starts an evaluation of `job`: a new random node order (Nomad's SetNodes + SetJob). */
  setJob(job: StackJob): void {
    this.job = job;
    this.shuffled = 0;
    this.cursor = 0;
    this.orderState = this.rng.nextInt(0x1_0000_0000);
    this.epoch = (this.epoch + 1) | 0;
    this.drawnLen = 0;
    this.drawnFeasible = 0;
    this.wrap = -1;
    this.lastChosen = -1;
  }

  /** Uniform integer in [0, k) from the evaluation's generator (mulberry32; bias ≤ k / 2^32). */
  private orderInt(k: number): number {
    const a = (this.orderState = (this.orderState + 0x6d2b79f5) | 0);
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000) * k);
  }

  /** The next node of the evaluation's order, or -1 once this placement has seen every node. */
  private nextNode(seen: number): number {
    const n = this.n;
    if (seen >= n) return -1;
    if (this.cursor === n) this.cursor = 0;
    const p = this.cursor;
    if (p === this.shuffled) {
      const j = p + this.orderInt(n - p);
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

    const shape = job.shape;
    if (shape !== null) {
      if (shape.fit === 0) {
        // No node can take the task: the walk would visit every node in vain. Its metrics follow from the counts.
        m.nodesEvaluated = shape.base;
        m.nodesFiltered = shape.base - shape.baseClass;
        m.nodesExhausted = shape.baseClass;
        m.exhaustedCpu = shape.baseClass - shape.cpuFit;
        m.exhaustedMemory = shape.cpuFit - shape.fit;
        return -1;
      }
      return this.selectFeasible(job, shape);
    }
    const limit = this.limit;
    let seen = 0;
    this.beginPick();

    while (this.pickAccepted < limit) {
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
      this.offer(job, i);
    }
    return this.endPick();
  }

  /** Starts a LimitIterator + MaxScoreIterator pass for one placement. */
  private beginPick(): void {
    this.pickAccepted = 0;
    this.pickSkipped = 0;
    this.pickBest = -1;
    this.pickBestScore = -Infinity;
  }

  /** Scores a feasible node; the first few low-scoring ones are set aside in case better ones follow. */
  private offer(job: StackJob, i: number): void {
    const collisions = job.perNode === null ? 0 : (job.perNode.get(i) ?? 0);
    const score = finalScore(normalizedFit(this.nodes, i, job, this.algorithm), collisions, job.count);
    if (this.pickSkipped < MAX_SKIP && score <= SKIP_SCORE_THRESHOLD) {
      this.skippedNode[this.pickSkipped] = i;
      this.skippedScore[this.pickSkipped] = score;
      this.pickSkipped++;
      return;
    }
    this.pickAccepted++;
    if (score > this.pickBestScore) {
      this.pickBest = i;
      this.pickBestScore = score;
    }
  }

  /** The walk ran out before the limit: the set-aside options fill the remaining slots, in order. The best wins. */
  private endPick(): number {
    for (let k = 0; this.pickAccepted < this.limit && k < this.pickSkipped; k++) {
      this.pickAccepted++;
      if (this.skippedScore[k]! > this.pickBestScore) {
        this.pickBest = this.skippedNode[k]!;
        this.pickBestScore = this.skippedScore[k]!;
      }
    }
    return this.pickBest;
  }

  /**
   * `select` for an indexed shape: the walk's feasible nodes, drawn from the shape's feasible list
   * (fresh ones first, uniformly, then around again in draw order), through the same Limit/MaxScore logic.
   */
  private selectFeasible(job: StackJob, shape: ShapeCounts): number {
    const lc = this.lastChosen;
    if (lc >= 0) {
      if (this.drawnAt[lc] === this.epoch && !shape.has(lc)) this.drawnFeasible--;
      this.lastChosen = -1;
    }
    const limit = this.limit;
    const startLen = this.drawnLen;
    const startWrap = this.wrap;
    let w = startWrap;
    let cycled = false;
    this.beginPick();

    while (this.pickAccepted < limit) {
      let i: number;
      if (w < 0) {
        i = this.drawFresh(shape);
        if (i < 0) {
          w = 0; // every feasible node has been drawn: go around again
          continue;
        }
      } else {
        // Around again, in draw order, up to where this placement began.
        if (startWrap < 0 ? w >= startLen : cycled && w >= startWrap) break;
        i = this.drawn[w]!;
        w++;
        if (w === this.drawnLen && startWrap >= 0) {
          w = 0;
          cycled = true;
        }
        if (!shape.has(i)) continue;
      }
      this.offer(job, i);
    }
    const best = this.endPick();
    // Where the next placement of this evaluation starts: after a full circle, where this one began.
    if (w >= 0 && startWrap < 0 && w >= startLen) w = startLen;
    this.wrap = w >= 0 && w >= this.drawnLen ? 0 : w;
    this.lastChosen = best;
    return best;
  }

  /** A feasible node not yet drawn in this evaluation, uniformly, or -1 when all have been. */
  private drawFresh(shape: ShapeCounts): number {
    const size = shape.fit;
    const undrawn = size - this.drawnFeasible;
    if (undrawn <= 0) return -1;
    const members = shape.members;
    const epoch = this.epoch;
    let i = -1;
    // Rejection sampling while most feasible nodes are undrawn (≤ 8 tries expected), else a counted scan.
    if (undrawn * 8 >= size) {
      for (let tries = 0; tries < 64; tries++) {
        const c = members[this.orderInt(size)]!;
        if (this.drawnAt[c] !== epoch) {
          i = c;
          break;
        }
      }
    }
    if (i < 0) {
      let r = this.orderInt(undrawn);
      for (let k = 0; k < size; k++) {
        const c = members[k]!;
        if (this.drawnAt[c] !== epoch && r-- === 0) {
          i = c;
          break;
        }
      }
    }
    this.drawnAt[i] = epoch;
    this.drawn[this.drawnLen++] = i;
    this.drawnFeasible++;
    return i;
  }
}
