import { describe, expect, it } from 'vitest';
import { erlangC, mmcMeanQueueLength, mmcMeanWaitMs } from './erlang.ts';
import { simulateMmc } from './mmc-simulation.ts';

/*
 * The engine, the Poisson arrival process and the exponential sampler, run as an M/M/c queue, must agree with
 * Erlang C. The tolerance is fixed at 5% and each case gets enough customers for 5% to be at least three
 * standard errors of the mean wait. The waits are strongly correlated near saturation, so the standard
 * error is not σ/√n: measured with batch means on 10-40 million-customer runs, the relative standard error
 * is about 6.3/√n for c=1 ρ=0.5, 21/√n for c=10 ρ=0.8 and 46/√n for c=50 ρ=0.9 (Whitt, "Planning queueing
 * simulations", 1989, explains the growth as (1 − ρ)⁻²). Hence the very different run lengths below.
 * Each run also checks its own batch-means standard error, so a shortened run fails instead of passing by luck.
 */
const MEAN_SERVICE_MS = 600_000; // 10 minutes: rounding times to whole ms is then 1e-6 of a service time
const HOUR_MS = 3_600_000;
const TOLERANCE = 0.05;

const cases = [
  { servers: 1, rho: 0.5, customers: 400_000, seed: 11 }, // SE ≈ 1.0%: tolerance ≈ 5σ
  { servers: 10, rho: 0.8, customers: 2_000_000, seed: 12 }, // SE ≈ 1.5%: ≈ 3.4σ
  { servers: 50, rho: 0.9, customers: 8_000_000, seed: 13 }, // SE ≈ 1.6%: ≈ 3.1σ
];

describe('M/M/c on the engine against Erlang C', () => {
  it.each(cases)('c=$servers ρ=$rho: mean wait within 5%, and Little\'s law holds', ({ servers, rho, customers, seed }) => {
    const arrivalsPerHour = (rho * servers * HOUR_MS) / MEAN_SERVICE_MS;
    const params = { servers, arrivalsPerHour, meanServiceMs: MEAN_SERVICE_MS };
    const result = simulateMmc({ ...params, customers, warmupCustomers: 20_000, batches: 40, seed });
    const theoryWaitMs = mmcMeanWaitMs(params);
    const replay = `c=${servers} ρ=${rho} seed=${seed} customers=${customers}`;

    expect(result.meanWaitStdErrorMs / theoryWaitMs, `${replay}: run too short for the tolerance`).toBeLessThan(TOLERANCE / 2.5);
    expect(Math.abs(result.meanWaitMs / theoryWaitMs - 1), replay).toBeLessThan(TOLERANCE);
    // The share who wait estimates C(c, a) itself; its error is smaller than the mean wait's.
    expect(Math.abs(result.waitedShare - erlangC(servers, rho * servers)), replay).toBeLessThan(0.02);

    // Little's law on the sample path: the time-average number waiting equals λ·W. With the observed λ the
    // two differ only by the customers straddling the ends of the window; with the nominal λ also by the
    // arrival count's own noise (1/√n ≤ 0.16% here), so 2% is a loose bound in both cases.
    const observedLambdaWait = (result.observedArrivalsPerHour / HOUR_MS) * result.meanWaitMs;
    expect(Math.abs(result.meanQueueLength / observedLambdaWait - 1), replay).toBeLessThan(0.02);
    const nominalLambdaWait = (arrivalsPerHour / HOUR_MS) * result.meanWaitMs;
    expect(Math.abs(result.meanQueueLength / nominalLambdaWait - 1), replay).toBeLessThan(0.02);
    expect(Math.abs(result.meanQueueLength / mmcMeanQueueLength(params) - 1), replay).toBeLessThan(TOLERANCE);
  });

  it('grows without bound when ρ ≥ 1, as the formula (Infinity) says', () => {
    const params = { servers: 2, arrivalsPerHour: (1.25 * 2 * HOUR_MS) / MEAN_SERVICE_MS, meanServiceMs: MEAN_SERVICE_MS };
    expect(mmcMeanWaitMs(params)).toBe(Infinity);
    const result = simulateMmc({ ...params, customers: 50_000, warmupCustomers: 0, seed: 14 });
    // A fifth of the arrivals are surplus (1 − 1/ρ), so about 10 000 wait at the end; the noise is a few
    // hundred (the queue is a random walk with unit steps over ~90 000 events).
    expect(result.queueLengthAtEnd).toBeGreaterThan(8_000);
    expect(result.queueLengthAtEnd).toBeLessThan(12_000);
  });
});
