import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HOLD, type HoldRun } from './hold-model.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * The engine against its anchors on the hold model, measured side by side: each round runs the engine, the bare
 * heap loop and SimPy 2.3.1 each in a fresh process (so no side runs warm from another's JIT state), with the
 * same event count and shape; the median of ROUNDS interleaved rounds is reported. Rates are events per CPU
 * second of the measured loop: on a machine shared with other work, wall time also counts the waits for a core,
 * which move every figure by ±50% with the load; the wall-time rates are reported beside them.
 */
const ROUNDS = 5;
const here = fileURLToPath(new URL('.', import.meta.url));
/** Debian's python3-simpy installs SimPy 2.3.1 for the system Python; BENCH_PYTHON names another interpreter. */
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
const SIMPY_HINT = 'apt-get install python3-simpy (SimPy 2.3.1 for /usr/bin/python3; .ci/run installs it)';
/** The rate the engine must reach, in multiples of SimPy's on the same model. */
const SIMPY_TARGET_RATIO = 10;

function nodeSide(side: 'engine' | 'bare', seed: number): HoldRun {
  const out = execFileSync(process.execPath, ['--import', 'tsx', `${here}hold-model.ts`, side, String(seed)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim()) as HoldRun;
}

/**
 * SimPy's side, or why it cannot run here (no /usr/bin/python3, or no SimPy 2.3.1 under it). `python` is the
 * interpreter and its options; `events` defaults to the model's.
 */
export function simpySide(seed: number, python: readonly string[] = [PYTHON], events: number = HOLD.events): HoldRun | { missing: string } {
  const [exe, ...opts] = python;
  if (exe === undefined || !existsSync(exe)) return { missing: `${exe} not found; ${SIMPY_HINT}` };
  const r = spawnSync(exe, [...opts, `${here}simpy-hold.py`, String(events), String(HOLD.processes), String(HOLD.meanHoldMs), String(seed)], { encoding: 'utf8' });
  if (r.status !== 0) return { missing: `${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop()}; ${SIMPY_HINT}` };
  return JSON.parse(r.stdout.trim()) as HoldRun;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const cpuRate = (r: HoldRun): number => r.events / r.cpuS;
const wallRate = (r: HoldRun): number => r.events / r.wallS;

export const engineBench: BenchSuite = {
  name: 'engine',
  run(): BenchFigure[] {
    const runs: Record<'engine' | 'bare' | 'simpy', HoldRun[]> = { engine: [], bare: [], simpy: [] };
    let simpyMissing: string | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      runs.engine.push(nodeSide('engine', r + 1));
      runs.bare.push(nodeSide('bare', r + 1));
      if (simpyMissing === undefined) {
        const s = simpySide(r + 1);
        if ('missing' in s) simpyMissing = s.missing;
        else runs.simpy.push(s);
      }
      process.stderr.write(`  engine round ${r + 1}/${ROUNDS} done\n`);
    }
    for (const [e, b] of runs.engine.map((e, i) => [e, runs.bare[i]!] as const)) {
      if (e.check !== b.check) throw new Error(`the engine and the bare loop ended at different clocks (${e.check} and ${b.check} ms): not the same work`);
    }
    const e = median(runs.engine.map(cpuRate));
    const b = median(runs.bare.map(cpuRate));
    const ew = median(runs.engine.map(wallRate));
    const bw = median(runs.bare.map(wallRate));
    const shape = `hold model: ${HOLD.processes.toLocaleString('en-US')} processes, exponential holds (mean ${HOLD.meanHoldMs} ms), ${HOLD.events.toLocaleString('en-US')} events; each side in a fresh process, median of ${ROUNDS} interleaved rounds, events per CPU second`;
    const figures: BenchFigure[] = [
      {
        name: 'engine.hold.events_per_s',
        value: Math.round(e),
        unit: 'events/s',
        target: '>= 3,000,000 and >= 60% of the bare loop',
        met: e >= 3_000_000 && e >= 0.6 * b,
        anchor: { name: 'bare typed-array heap loop, same model and draws, fresh process, same run', value: Math.round(b), unit: 'events/s', ratio: round3(e / b) },
        note: `${shape}; wall time: engine ${Math.round(ew).toLocaleString('en-US')}/s, bare loop ${Math.round(bw).toLocaleString('en-US')}/s`,
      },
    ];
    if (simpyMissing !== undefined) {
      figures.push({ name: 'engine.hold.simpy_ratio', value: NaN, unit: '× SimPy', target: `>= ${SIMPY_TARGET_RATIO}`, met: false, missing: `SimPy anchor missing: ${simpyMissing}` });
    } else {
      const s = median(runs.simpy.map(cpuRate));
      const sw = median(runs.simpy.map(wallRate));
      figures.push({
        name: 'engine.hold.simpy_ratio',
        value: round3(e / s),
        unit: '× SimPy',
        target: `>= ${SIMPY_TARGET_RATIO}`,
        met: e / s >= SIMPY_TARGET_RATIO,
        anchor: { name: `${runs.simpy[0]!.version} (${PYTHON}), same model and event count, same run`, value: Math.round(s), unit: 'events/s', ratio: round3(e / s) },
        note: `${shape}; by wall time ${round3(ew / sw)}× (SimPy ${Math.round(sw).toLocaleString('en-US')}/s)`,
      });
    }
    return figures;
  },
};

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await engineBench.run()) console.log(JSON.stringify(f));
}
