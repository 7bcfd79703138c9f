import { Simulation } from '../sim/engine/simulation.ts';
import { Rng } from '../sim/engine/rng.ts';

/**
 * The hold model, one side per fresh Node process (`npx tsx bench/hold-model.ts engine|bare SEED`), so that
 * neither side runs warm from the other's JIT state. Prints one JSON line: `HoldRun`.
 */

/** PROCESSES processes, each repeatedly holding for an exponential time (mean 1 s), EVENTS events in all. */
export const HOLD = { processes: 1_000, events: 3_000_000, meanHoldMs: 1_000 } as const;

export interface HoldRun {
  side: 'engine' | 'bare' | 'simpy';
  events: number;
  /** CPU seconds of the measured loop (the process's user + system time): what the loop cost, whatever the load. */
  cpuS: number;
  /** Wall seconds of the same loop: includes the time spent waiting for a core on a shared machine. */
  wallS: number;
  /** The final clock, so a run that did less work shows. */
  check: number;
  version?: string;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function measure(side: HoldRun['side'], loop: () => number): HoldRun {
  const cpu0 = cpuSeconds();
  const wall0 = performance.now();
  const check = loop();
  return { side, events: HOLD.events, cpuS: cpuSeconds() - cpu0, wallS: (performance.now() - wall0) / 1000, check };
}

/** The engine: each event schedules the process's next hold. */
function engineHold(seed: number): HoldRun {
  const sim = new Simulation();
  const rng = new Rng(seed).fork('hold');
  const hold = (p: number): void => {
    sim.schedule(Math.round(rng.exponential(HOLD.meanHoldMs)), hold, p);
  };
  for (let p = 0; p < HOLD.processes; p++) sim.schedule(Math.round(rng.exponential(HOLD.meanHoldMs)), hold, p);
  return measure('engine', () => {
    const r = sim.run({ maxEvents: HOLD.events });
    if (r.events !== HOLD.events) throw new Error(`the engine fired ${r.events} events, not ${HOLD.events}`);
    return sim.nowMs;
  });
}

/**
 * The same work without the engine: a binary heap in two typed arrays (time, process), popping the earliest
 * event and pushing the process's next one, with the same random draws. No tie-break, no cancellation, no
 * callbacks: the floor an event loop in JavaScript could reach on this model.
 */
function bareHold(seed: number): HoldRun {
  const rng = new Rng(seed).fork('hold');
  const n0 = HOLD.processes;
  const time = new Float64Array(n0 + 1);
  const proc = new Int32Array(n0 + 1);
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
  for (let p = 0; p < n0; p++) push(Math.round(rng.exponential(HOLD.meanHoldMs)), p);
  return measure('bare', () => {
    let now = 0;
    for (let e = 0; e < HOLD.events; e++) {
      now = time[0]!;
      const p = pop();
      push(now + Math.round(rng.exponential(HOLD.meanHoldMs)), p);
    }
    return now;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [side, seedText] = process.argv.slice(2);
  const seed = Number(seedText ?? '1');
  if ((side !== 'engine' && side !== 'bare') || !Number.isSafeInteger(seed)) {
    console.error('usage: npx tsx bench/hold-model.ts engine|bare SEED');
    process.exitCode = 2;
  } else {
    console.log(JSON.stringify({ ...(side === 'engine' ? engineHold(seed) : bareHold(seed)), version: `Node ${process.version}` }));
  }
}
