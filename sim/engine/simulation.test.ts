import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Simulation, type EventHandle } from './simulation.ts';
import { Rng } from './rng.ts';

describe('Simulation', () => {
  it('never moves the clock backwards and fires events in (time, priority, insertion) order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), prio: fc.integer({ min: -2, max: 2 }) }), { maxLength: 200 }),
        (events) => {
          const sim = new Simulation();
          const fired: number[] = [];
          events.forEach((e, i) => sim.scheduleAt(e.at, (k: number) => fired.push(k), i, e.prio));
          let last = -1;
          const times: number[] = [];
          while (sim.step()) {
            expect(sim.nowMs).toBeGreaterThanOrEqual(last);
            last = sim.nowMs;
            times.push(sim.nowMs);
          }
          const expected = events
            .map((e, i) => ({ ...e, i }))
            .sort((a, b) => a.at - b.at || a.prio - b.prio || a.i - b.i)
            .map((e) => e.i);
          expect(fired).toEqual(expected);
        },
      ),
    );
  });

  it('keeps insertion order for ties scheduled from inside events', () => {
    const sim = new Simulation();
    const log: string[] = [];
    sim.schedule(5, () => {
      sim.schedule(0, () => log.push('b'));
      sim.schedule(0, () => log.push('c'));
      log.push('a');
    });
    sim.schedule(5, () => log.push('a2'));
    sim.run();
    expect(log).toEqual(['a', 'a2', 'b', 'c']);
  });

  it('cancels pending events and ignores stale handles', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 100 }), fc.array(fc.nat(), { maxLength: 50 }), (ats, cancels) => {
        const sim = new Simulation();
        const fired = new Set<number>();
        const handles = ats.map((at, i) => sim.scheduleAt(at, (k: number) => fired.add(k), i));
        const cancelled = new Set<number>();
        for (const c of cancels) {
          const i = c % ats.length;
          const ok = sim.cancel(handles[i]!);
          expect(ok).toBe(!cancelled.has(i));
          cancelled.add(i);
        }
        expect(sim.pending).toBe(ats.length - cancelled.size);
        sim.run();
        for (let i = 0; i < ats.length; i++) expect(fired.has(i)).toBe(!cancelled.has(i));
        // a handle of a fired event is stale
        expect(sim.cancel(handles[0]!)).toBe(false);
      }),
    );
  });

  it('stops at the time limit with the clock at the limit, and resumes later', () => {
    const sim = new Simulation();
    const seen: number[] = [];
    for (const t of [10, 20, 30]) sim.scheduleAt(t, () => seen.push(t));
    const r1 = sim.run({ untilMs: 25 });
    expect(r1).toEqual({ reason: 'until', nowMs: 25, events: 2 });
    const r2 = sim.run();
    expect(r2.reason).toBe('drained');
    expect(seen).toEqual([10, 20, 30]);
  });

  it('returns typed results for the event limit and stop()', () => {
    const sim = new Simulation();
    const tick = () => sim.schedule(1, tick);
    tick();
    expect(sim.run({ maxEvents: 7 })).toMatchObject({ reason: 'max-events', events: 7 });
    sim.schedule(0, () => sim.stop(), undefined, -1);
    expect(sim.run({ maxEvents: 100 }).reason).toBe('stopped');
  });

  it('rejects negative, fractional and past times (programmer errors)', () => {
    const sim = new Simulation();
    expect(() => sim.schedule(-1, () => {})).toThrow(RangeError);
    expect(() => sim.schedule(1.5, () => {})).toThrow(RangeError);
    sim.scheduleAt(10, () => {});
    sim.run();
    expect(() => sim.scheduleAt(5, () => {})).toThrow(/now is 10/);
  });

  it('is deterministic: the same seed gives the same event log', () => {
    const runOnce = (seed: number) => {
      const sim = new Simulation();
      const rng = new Rng(seed).fork('hold');
      const log: string[] = [];
      const hold = (p: number) => {
        log.push(`${sim.nowMs}:${p}`);
        if (log.length < 5000) sim.schedule(Math.round(rng.exponential(100)), hold, p);
      };
      for (let p = 0; p < 50; p++) sim.schedule(Math.round(rng.exponential(100)), hold, p);
      sim.run({ maxEvents: 5000 });
      return log.join('\n');
    };
    expect(runOnce(7)).toBe(runOnce(7));
    expect(runOnce(7)).not.toBe(runOnce(8));
  });

  /**
   * A model-based check of the queue against a plain list: events fired from inside events schedule more
   * (the pop-then-push path that reuses the root), cancel others (pending, fired, or themselves), and the run
   * is cut into `step()`s and time-limited `run()`s. Each event, as it fires, must be the least live key.
   */
  it('matches a plain-list model whatever events schedule and cancel, however the run is cut', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), delay: fc.integer({ min: 0, max: 30 }), prio: fc.integer({ min: -1, max: 1 }) }),
      fc.record({ kind: fc.constant('cancel' as const), target: fc.nat() }),
    );
    const cut = fc.oneof(fc.constant({ kind: 'step' as const, forMs: 0 }), fc.record({ kind: fc.constant('run' as const), forMs: fc.integer({ min: 0, max: 40 }) }));
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 20 }), prio: fc.integer({ min: -1, max: 1 }) }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.array(action, { maxLength: 3 }), { minLength: 1, maxLength: 20 }),
        fc.array(cut, { maxLength: 20 }),
        (initial, programs, cuts) => {
          const LIMIT = 400; // events scheduled at most, so that every run ends
          const model: { time: number; prio: number; live: boolean }[] = [];
          const handles: EventHandle[] = [];
          const sim = new Simulation();
          const leastLive = (): number => {
            let best = -1;
            model.forEach((m, i) => {
              const b = model[best];
              if (m.live && (b === undefined || m.time < b.time || (m.time === b.time && m.prio < b.prio))) best = i; // equal keys: the earlier index
            });
            return best;
          };
          const fire = (id: number): void => {
            expect(id).toBe(leastLive());
            expect(sim.nowMs).toBe(model[id]!.time);
            model[id]!.live = false;
            for (const a of programs[id % programs.length]!) {
              if (a.kind === 'schedule' && model.length < LIMIT) {
                model.push({ time: sim.nowMs + a.delay, prio: a.prio, live: true });
                handles.push(sim.schedule(a.delay, fire, model.length - 1, a.prio));
              } else if (a.kind === 'cancel') {
                const t = a.target % model.length;
                expect(sim.cancel(handles[t]!)).toBe(model[t]!.live);
                model[t]!.live = false;
              }
            }
          };
          initial.forEach((e) => {
            model.push({ time: e.at, prio: e.prio, live: true });
            handles.push(sim.scheduleAt(e.at, fire, model.length - 1, e.prio));
          });
          for (const c of cuts) {
            if (c.kind === 'step') {
              const any = leastLive() >= 0;
              expect(sim.step()).toBe(any);
            } else {
              const untilMs = sim.nowMs + c.forMs;
              const r = sim.run({ untilMs });
              const next = leastLive();
              expect(r.reason).toBe(next < 0 ? 'drained' : 'until');
              if (next >= 0) expect(model[next]!.time).toBeGreaterThan(untilMs);
              expect(r.nowMs).toBe(untilMs);
            }
            expect(sim.pending).toBe(model.filter((m) => m.live).length);
          }
          expect(sim.run().reason).toBe('drained');
          expect(model.every((m) => !m.live)).toBe(true);
          expect(sim.step()).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Rng', () => {
  it('forks by label independently of draws made before', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 10; i++) b.nextFloat();
    expect(a.fork('nomad').nextFloat()).toBe(b.fork('nomad').nextFloat());
    expect(a.fork('nomad').nextFloat()).not.toBe(a.fork('workload').nextFloat());
  });

  it('draws floats in [0,1) and ints in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const r = new Rng(seed);
        for (let i = 0; i < 50; i++) {
          const f = r.nextFloat();
          expect(f).toBeGreaterThanOrEqual(0);
          expect(f).toBeLessThan(1);
          const k = r.nextInt(n);
          expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        }
      }),
    );
  });
});
