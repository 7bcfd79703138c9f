/**
 * Ranking: how good is a feasible node? (Nomad `scheduler/rank.go` and `structs/funcs.go`.)
 *
 * The fit score is Google's "BestFit v3", as Nomad's `ScoreFitBinPack`: with f the fraction of the
 * node's usable CPU and memory left free *after* placing the task,
 *
 *     binpack = 20 − (10^f_cpu + 10^f_mem)      clamped to [0, 18]
 *     spread  = (10^f_cpu + 10^f_mem) − 2       clamped to [0, 18]   (ScoreFitSpread, "worst fit")
 *
 * divided by 18 (`binPackingMaxFitScore`) so it lies in [0, 1]. A full node scores 18/18 under
 * bin-packing and 0 under spread. The job anti-affinity iterator adds a second score,
 * −(collisions + 1) / count, when the node already runs allocations of the same task group, and the
 * `ScoreNormalizationIterator` averages the scores a node received.
 */
import type { NodeTable } from './cluster-state.ts';
import type { Ask } from './feasible.ts';

/** Nomad's `binPackingMaxFitScore`: the largest raw fit score. */
export const BINPACK_MAX_FIT_SCORE = 18;

/** `binpack` packs tasks onto the fullest nodes (Nomad's default); `spread` onto the emptiest. */
export type Algorithm = 'binpack' | 'spread';

const LN10 = Math.LN10;

/** Raw bin-packing fit in [0, 18] from the free fractions after placement. */
export function scoreFitBinPack(freeCpuFraction: number, freeMemFraction: number): number {
  const total = Math.exp(freeCpuFraction * LN10) + Math.exp(freeMemFraction * LN10);
  const score = 20 - total;
  return score > 18 ? 18 : score < 0 ? 0 : score;
}

/** Raw spread fit in [0, 18] from the free fractions after placement. */
export function scoreFitSpread(freeCpuFraction: number, freeMemFraction: number): number {
  const total = Math.exp(freeCpuFraction * LN10) + Math.exp(freeMemFraction * LN10);
  const score = total - 2;
  return score > 18 ? 18 : score < 0 ? 0 : score;
}

/** The fit of placing `ask` on node `i`, normalised to [0, 1]; the node must be feasible. */
export function normalizedFit(nodes: NodeTable, i: number, ask: Ask, algorithm: Algorithm): number {
  const freeCpu = (nodes.freeCpu[i]! - ask.cpuMilli) / nodes.usableCpu[i]!;
  const freeMem = (nodes.freeMem[i]! - ask.memoryMb) / nodes.usableMem[i]!;
  const raw = algorithm === 'binpack' ? scoreFitBinPack(freeCpu, freeMem) : scoreFitSpread(freeCpu, freeMem);
  return raw / BINPACK_MAX_FIT_SCORE;
}

/**
 * Nomad's job anti-affinity penalty for a node already running `collisions` allocations of the same
 * task group out of `desiredCount`: −(collisions + 1) / desiredCount, or nothing (null) without collisions.
 */
export function jobAntiAffinityPenalty(collisions: number, desiredCount: number): number | null {
  return collisions > 0 ? -(collisions + 1) / desiredCount : null;
}

/**
 * The final score of a node: the mean of the scores it received (ScoreNormalizationIterator).
 * With no collisions that is the fit alone.
 */
export function finalScore(fit: number, collisions: number, desiredCount: number): number {
  const penalty = jobAntiAffinityPenalty(collisions, desiredCount);
  return penalty === null ? fit : (fit + penalty) / 2;
}
