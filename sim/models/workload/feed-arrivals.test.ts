import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/rng.ts';
import { Simulation } from '../../engine/simulation.ts';
import { createArrivalProcess, takeArrivalsUntil, type Arrival } from './arrivals.ts';
import { feedArrivals } from './feed-arrivals.ts';

describe('feedArrivals', () => {
  it('delivers each arrival at its own virtual time, in order, up to the limit', () => {
    const spec = { kind: 'poisson' as const, ratePerHour: 600 };
    const expected = takeArrivalsUntil(createArrivalProcess(spec, new Rng(5)), 3_600_000);
    const sim = new Simulation();
    const seen: { at: number; arrival: Arrival }[] = [];
    const feed = feedArrivals(sim, createArrivalProcess(spec, new Rng(5)), (arrival) => seen.push({ at: sim.nowMs, arrival }), {
      untilMs: 3_600_000,
    });
    const result = sim.run({ maxEvents: 100_000 });
    expect(result.reason).toBe('drained');
    expect(seen.map((s) => s.arrival)).toEqual(expected);
    expect(seen.every((s) => s.at === s.arrival.atMs)).toBe(true);
    expect(feed.delivered).toBe(expected.length);
    expect(sim.pending).toBe(0);
  });

  it('stops on request and after maxArrivals', () => {
    const sim = new Simulation();
    const process = createArrivalProcess({ kind: 'poisson', ratePerHour: 3_600 }, new Rng(1));
    let count = 0;
    const feed = feedArrivals(sim, process, () => count++);
    sim.run({ untilMs: 60_000 });
    const atStop = count;
    feed.stop();
    sim.run({ untilMs: 600_000 });
    expect(count).toBe(atStop);
    expect(atStop).toBeGreaterThan(20);

    const capped = new Simulation();
    const cappedFeed = feedArrivals(capped, createArrivalProcess({ kind: 'poisson', ratePerHour: 3_600 }, new Rng(1)), () => {}, {
      maxArrivals: 7,
    });
    capped.run();
    expect(cappedFeed.delivered).toBe(7);
  });

  it('replays a trace with its job indices and ends with it', () => {
    const sim = new Simulation();
    const process = createArrivalProcess({ kind: 'trace', arrivals: [{ atMs: 10, job: 1 }, { atMs: 10 }, { atMs: 25, job: 0 }] }, new Rng(1));
    const seen: Arrival[] = [];
    feedArrivals(sim, process, (a) => seen.push(a));
    expect(sim.run().reason).toBe('drained');
    expect(seen).toEqual([{ atMs: 10, job: 1 }, { atMs: 10 }, { atMs: 25, job: 0 }]);
    expect(sim.nowMs).toBe(25);
  });
});
