import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { fmix32 as mix32 } from '../util/hash.ts';

/** Hashes a label into a seed derived from a parent seed (FNV-1a over UTF-16 code units, then mixed). */
export function deriveSeed(parentSeed: number, label: string): number {
  let h = (0x811c9dc5 ^ mix32(parentSeed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/**
 * A seeded random stream (xoroshiro128+ from pure-rand, fast-check's own generator).
 *
 * Every model takes its own stream with `fork(label)`: forking depends only on the seed and the label,
 * never on how many numbers were drawn, so adding a model or a draw does not shift what others draw.
 */
export class Rng {
  readonly seed: number;
  private readonly gen: RandomGenerator;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    this.seed = seed >>> 0;
    this.gen = xoroshiro128plus(mix32(this.seed));
  }

  /** A new independent stream named by `label` (stable for the same seed and label). */
  fork(label: string): Rng {
    return new Rng(deriveSeed(this.seed, label));
  }

  /** Uniform in [0, 1) with 53 bits of randomness. */
  nextFloat(): number {
    return uniformFloat64(this.gen);
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** True with probability p. Read at call sites as a question: `rng.chance(0.1)` → should this happen? */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.nextFloat());
  }

  /** Standard normal (Box–Muller; one value per call, kept simple and stateless). */
  normal(): number {
    const u = 1 - this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Picks an index by weight; weights must be non-negative with a positive sum. */
  pickWeighted(weights: readonly number[], total?: number): number {
    let sum = total ?? 0;
    if (total === undefined) for (const w of weights) sum += w;
    let x = this.nextFloat() * sum;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}
