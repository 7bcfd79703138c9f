import { Simulation } from '../sim/engine/simulation.ts';
import { Rng } from '../sim/engine/rng.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/** The hold model: PROCESSES processes, each repeatedly holding for an exponential time (mean 1 s). */
const PROCESSES = 1_000;
const EVENTS = 3_000_000;
const MEAN_HOLD_MS = 1_000;
const ROUNDS = 5;

/** Runs the hold model on the engine; returns events per second and a checksum of the final clock. */
function engineHold(seed: number): { rate: number; check: number } {
  const sim = new Simulation();
  const rng = new Rng(seed).fork('hold');
  const hold = (p: number): void => {
    sim.schedule(Math.round(rng.exponential(MEAN_HOLD_MS)), hold, p);
  };
  for (let p = 0; p < PROCESSES; p++) sim.schedule(Math.round(rng.exponential(MEAN_HOLD_MS)), hold, p);
  const t0 = performance.now();
  sim.run({ maxEvents: EVENTS });
  const dt = (performance.now() - t0) / 1000;
  return { rate: EVENTS / dt, check: sim.nowMs };
}

/**
 * The same work without the engine: a binary heap in two typed arrays (time, process), popping the
 * earliest event and pushing the process's next one, with the same random draws. The anchor the engine
 * is judged against.
 */
function bareHold(seed: number): { rate: number; check: number } {
  const rng = new Rng(seed).fork('hold');
  const time = new Float64Array(PROCESSES + 1);
  const proc = new Int32Array(PROCESSES + 1);
  let size = 0;
  const push = (t: number, p: number): void => {
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (time[parent]! <= t) break;
      time[i] = time[parent]!;
      proc[i] = proc[parent]!;
      i = parent;
    }
    time[i] = t;
    proc[i] = p;
  };
  const pop = (): number => {
    const top = proc[0]!;
    const n = --size;
    const t = time[n]!;
    const p = proc[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && time[c + 1]! < time[c]!) c++;
      if (t <= time[c]!) break;
      time[i] = time[c]!;
      proc[i] = proc[c]!;
      i = c;
    }
    time[i] = t;
    proc[i] = p;
    return top;
  };
  for (let p = 0; p < PROCESSES; p++) push(Math.round(rng.exponential(MEAN_HOLD_MS)), p);
  let now = 0;
  const t0 = performance.now();
  for (let e = 0; e < EVENTS; e++) {
    now = time[0]!;
    const p = pop();
    push(now + Math.round(rng.exponential(MEAN_HOLD_MS)), p);
  }
  const dt = (performance.now() - t0) / 1000;
  return { rate: EVENTS / dt, check: now };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const engineBench: BenchSuite = {
  name: 'engine',
  run(): BenchFigure[] {
    const engine: number[] = [];
    const bare: number[] = [];
    // Interleaved rounds, so that machine load affects both sides alike; the median of each is reported.
    for (let r = 0; r < ROUNDS; r++) {
      engine.push(engineHold(r + 1).rate);
      bare.push(bareHold(r + 1).rate);
    }
    const e = median(engine);
    const b = median(bare);
    return [
      {
        name: 'engine.hold.events_per_s',
        value: Math.round(e),
        unit: 'events/s',
        target: '>= 3,000,000 and >= 60% of the bare loop',
        met: e >= 3_000_000 && e >= 0.6 * b,
        anchor: { name: 'bare typed-array heap loop, same model, same run', value: Math.round(b), unit: 'events/s', ratio: round3(e / b) },
        note: `hold model: ${PROCESSES} processes, exponential holds (mean ${MEAN_HOLD_MS} ms), ${EVENTS.toLocaleString('en-US')} events, median of ${ROUNDS} interleaved rounds; Debian's SimPy 2.3.1 does about 500,000/s on this model (ratio ${round3(e / 500_000)}x)`,
      },
    ];
  },
};

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await engineBench.run()) console.log(JSON.stringify(f));
}
