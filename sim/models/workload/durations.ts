import type { Rng } from '../../engine/rng.ts';
import type { DurationSpec } from './types.ts';

/** Φ⁻¹(0.95): how many standard deviations of ln(duration) lie between the median and the 95th percentile. */
export const Z_95 = 1.6448536269514722;

/** A prepared sampler: parameters derived and checked once, then one draw per call. */
export type DurationSampler = (rng: Rng) => number;

/**
 * A sampler for a duration spec, returning integer milliseconds ≥ 1.
 *
 * The lognormal is given by its median and 95th percentile because those are what a user reads off the
 * Insights page: μ = ln(median), σ = ln(p95 / median) / Φ⁻¹(0.95).
 */
export function createDurationSampler(spec: DurationSpec): DurationSampler {
  validateDurationSpec(spec);
  switch (spec.kind) {
    case 'fixed': {
      const ms = atLeastOneMs(spec.ms);
      return () => ms;
    }
    case 'lognormal': {
      const { mu, sigma } = lognormalParameters(spec.medianMs, spec.p95Ms);
      return (rng) => atLeastOneMs(Math.exp(mu + sigma * rng.normal()));
    }
    case 'exponential': {
      const meanMs = spec.meanMs;
      return (rng) => atLeastOneMs(rng.exponential(meanMs));
    }
    case 'uniform': {
      const { minMs, maxMs } = spec;
      return (rng) => atLeastOneMs(minMs + (maxMs - minMs) * rng.nextFloat());
    }
  }
}

/** One draw from a duration spec (integer ms ≥ 1); prefer `createDurationSampler` in loops. */
export function sampleDurationMs(spec: DurationSpec, rng: Rng): number {
  return createDurationSampler(spec)(rng);
}

/** μ and σ of ln(duration) for a lognormal given by its median and 95th percentile. */
export function lognormalParameters(medianMs: number, p95Ms: number): { mu: number; sigma: number } {
  return { mu: Math.log(medianMs), sigma: Math.log(p95Ms / medianMs) / Z_95 };
}

/** The mean of a duration spec in ms (before rounding), for theory checks and capacity estimates. */
export function meanDurationMs(spec: DurationSpec): number {
  switch (spec.kind) {
    case 'fixed':
      return spec.ms;
    case 'lognormal': {
      const { mu, sigma } = lognormalParameters(spec.medianMs, spec.p95Ms);
      return Math.exp(mu + (sigma * sigma) / 2);
    }
    case 'exponential':
      return spec.meanMs;
    case 'uniform':
      return (spec.minMs + spec.maxMs) / 2;
  }
}

/** Throws a `RangeError` for a spec the scenario boundary should never have settled. */
export function validateDurationSpec(spec: DurationSpec): void {
  const positive = (name: string, value: number): void => {
    if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a finite duration > 0 ms, got ${value}`);
  };
  switch (spec.kind) {
    case 'fixed':
      if (!(spec.ms >= 0) || !Number.isFinite(spec.ms)) throw new RangeError(`ms must be a finite duration >= 0, got ${spec.ms}`);
      return;
    case 'lognormal':
      positive('medianMs', spec.medianMs);
      positive('p95Ms', spec.p95Ms);
      if (spec.p95Ms < spec.medianMs) {
        throw new RangeError(`p95Ms (${spec.p95Ms}) must be at least medianMs (${spec.medianMs})`);
      }
      return;
    case 'exponential':
      positive('meanMs', spec.meanMs);
      return;
    case 'uniform':
      if (!(spec.minMs >= 0) || !Number.isFinite(spec.minMs)) throw new RangeError(`minMs must be finite and >= 0, got ${spec.minMs}`);
      if (!(spec.maxMs >= spec.minMs) || !Number.isFinite(spec.maxMs)) {
        throw new RangeError(`maxMs (${spec.maxMs}) must be finite and at least minMs (${spec.minMs})`);
      }
      return;
  }
}

/** A job that takes no time would finish in the same instant it starts; the model's shortest step is 1 ms. */
function atLeastOneMs(ms: number): number {
  return Math.max(1, Math.round(ms));
}
