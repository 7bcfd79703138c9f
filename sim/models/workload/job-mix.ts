import type { Rng } from '../../engine/rng.ts';
import type { JobTemplate } from './types.ts';

/**
 * The job templates of a workload and the draw of which one an arrival runs.
 *
 * A weight of 0 is allowed (a template only a trace names by index), but the weights must have a positive
 * total, otherwise no arrival could be given a job.
 */
export class JobMix {
  readonly templates: readonly JobTemplate[];
  private readonly weights: readonly number[];
  private readonly totalWeight: number;
  /** The last template with a positive weight: where a draw lands if rounding runs past the end. */
  private readonly lastPositive: number;

  constructor(templates: readonly JobTemplate[]) {
    if (templates.length === 0) throw new RangeError('a job mix needs at least one job template');
    let total = 0;
    let lastPositive = -1;
    templates.forEach((template, i) => {
      const w = template.weight;
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`job template ${i} has weight ${w}: weights are finite and >= 0`);
      total += w;
      if (w > 0) lastPositive = i;
    });
    if (!(total > 0)) throw new RangeError('the job templates\' weights must have a positive total');
    this.templates = templates;
    this.weights = templates.map((t) => t.weight);
    this.totalWeight = total;
    this.lastPositive = lastPositive;
  }

  get size(): number {
    return this.templates.length;
  }

  /** The template's share of drawn arrivals (its weight over the total). */
  shareOf(index: number): number {
    return this.template(index).weight / this.totalWeight;
  }

  /** Draws a template index with probability proportional to its weight. */
  pickIndex(rng: Rng): number {
    const i = rng.pickWeighted(this.weights, this.totalWeight);
    return this.weights[i]! > 0 ? i : this.lastPositive;
  }

  /** The index an arrival runs: the one a trace named, else a draw by weight. */
  indexFor(job: number | undefined, rng: Rng): number {
    if (job === undefined) return this.pickIndex(rng);
    this.template(job);
    return job;
  }

  /** The template at `index`; an index outside the mix is a programmer error (traces are checked on load). */
  template(index: number): JobTemplate {
    const template = this.templates[index];
    if (template === undefined || !Number.isInteger(index)) {
      throw new RangeError(`job template index ${index} is outside the mix of ${this.templates.length}`);
    }
    return template;
  }
}
