/**
 * Speed of the Nomad scheduling model (sim/models/nomad). Run alone: `npx tsx bench/nomad.ts`.
 *
 * (a) churn: placements per second on a realistic fleet — 200 clients of 32 CPU / 128 GB (30 CPU /
 *     124 GB usable after CircleCI's 2 vCPU / 4 GB reservation, so 3,000 slots), `medium` tasks of
 *     2 CPU / 4 GB, jobs of parallelism 1, 2, 4 or 8, registered and finished at random. Two regimes:
 *     - busy: 2,700 tasks outstanding (90 % of the slots, no queue — the seed's advice is to size
 *       the fleet so that builds do not queue);
 *     - saturated: 3,100 tasks outstanding for 3,000 slots: the fleet is full, about 100 tasks wait
 *       in blocked evaluations, and every finished task frees a slot that the unblock path hands on.
 *     Every placement counts, including those made when blocked evaluations are retried. Each figure
 *     is the median of three runs of 300,000 placements after a warm-up.
 * (b) C1M: HashiCorp's "million container challenge" shape — 1,000 jobs × 1,000 tasks on 5,000
 *     clients. Clients of 16 CPU / 32 GB (14 CPU / 28 GB usable); tasks of 40 millicores (100 MHz at
 *     2,500 MHz per core, the small containers of the original test) and 64 MB, so the million fits
 *     (at most 350 tasks per client, 1,750,000 slots). Anchor: Nomad placed the million in under
 *     5 minutes (HashiCorp, "C1M", 2016), taken as 300 s.
 *
 * The machine's load average and the process's CPU time are printed with the figures: on a shared
 * machine wall-clock rates move with what else runs.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Rng } from '../sim/engine/rng.ts';
import { NomadScheduler, type Change } from '../sim/models/nomad/index.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const CHURN_TARGET_PER_S = 100_000;
const C1M_TARGET_S = 30;
const NOMAD_C1M_S = 300;

interface ChurnResult {
  placements: number;
  seconds: number;
  cpuSeconds: number;
  blockedPeak: number;
}

/**
 * Register/finish churn on 200 × (32 CPU, 128 GB) until `placementsWanted` placements were made,
 * holding `outstanding` tasks (running + queued) in the system.
 */
export function churn(placementsWanted: number, outstandingTarget: number, seed = 1): ChurnResult {
  const rng = new Rng(seed);
  const s = new NomadScheduler({ rng: rng.fork('nomad') });
  for (let i = 0; i < 200; i++) s.addNode({ name: `ip-10-0-0-${i}`, cpuMilli: 32_000, memoryMb: 131_072 });
  const pick = rng.fork('bench');
  const running: string[] = [];
  const parallelism = [1, 1, 1, 1, 1, 1, 2, 2, 4, 8];
  let outstanding = 0;
  let placements = 0;
  let blockedPeak = 0;
  let jobN = 0;
  const take = (c: Change): void => {
    for (const p of c.placed) running.push(p.allocId);
    placements += c.placed.length;
    if (c.blockedEvals > blockedPeak) blockedPeak = c.blockedEvals;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (placements < placementsWanted) {
    if (outstanding < outstandingTarget || running.length === 0) {
      const count = parallelism[pick.nextInt(parallelism.length)]!;
      outstanding += count;
      take(s.registerJob({ id: `job-${jobN++}`, count, cpuMilli: 2_000, memoryMb: 4_096 }));
      if ((jobN & 8191) === 0) s.gc();
    } else {
      const k = pick.nextInt(running.length);
      const allocId = running[k]!;
      running[k] = running[running.length - 1]!;
      running.pop();
      outstanding--;
      take(s.finishAlloc(allocId, 'complete'));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { placements, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, blockedPeak };
}

/** The median run (by wall time) of three. */
function medianOf3(run: () => ChurnResult): ChurnResult {
  const runs = [run(), run(), run()].sort((a, b) => a.seconds - b.seconds);
  return runs[1]!;
}

function churnFigure(name: string, r: ChurnResult, regime: string): BenchFigure {
  const perS = r.placements / r.seconds;
  return {
    name,
    value: Math.round(perS),
    unit: 'placements/s',
    target: `>= ${CHURN_TARGET_PER_S}`,
    met: perS >= CHURN_TARGET_PER_S,
    note:
      `${regime}; median of 3 runs: ${r.placements} placements in ${r.seconds.toFixed(2)} s wall, ` +
      `${r.cpuSeconds.toFixed(2)} s CPU (${Math.round(r.placements / r.cpuSeconds)} per CPU-second); ` +
      `peak ${r.blockedPeak} blocked evals; load average ${loadavg()[0]!.toFixed(2)}`,
  };
}

interface C1mResult {
  placements: number;
  seconds: number;
  cpuSeconds: number;
  nodesUsed: number;
}

/** 1,000 jobs × 1,000 tasks on 5,000 × (16 CPU, 32 GB), tasks of 40 millicores / 64 MB. */
export function c1m(jobs = 1_000, tasks = 1_000, clients = 5_000, seed = 1): C1mResult {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const s = new NomadScheduler({ rng: new Rng(seed).fork('nomad') });
  for (let i = 0; i < clients; i++) s.addNode({ name: `client-${i}`, cpuMilli: 16_000, memoryMb: 32_768 });
  let placements = 0;
  for (let j = 0; j < jobs; j++) {
    placements += s.registerJob({ id: `c1m-${j}`, count: tasks, cpuMilli: 40, memoryMb: 64 }).placed.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  let nodesUsed = 0;
  for (const n of s.nodes()) if (n.runningAllocs > 0) nodesUsed++;
  if (placements !== jobs * tasks) throw new Error(`C1M placed ${placements} of ${jobs * tasks}`);
  return { placements, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, nodesUsed };
}

export const nomadBench: BenchSuite = {
  name: 'nomad',
  run(): BenchFigure[] {
    churn(100_000, 2_700); // warm-up: let the JIT settle before measuring
    churn(100_000, 3_100);
    const busy = medianOf3(() => churn(300_000, 2_700));
    const saturated = medianOf3(() => churn(300_000, 3_100));
    const b = c1m();
    return [
      churnFigure('nomad.churn.placements_per_s', busy, '200 clients of 32 CPU/128 GB, 2 CPU/4 GB tasks, 2,700 tasks outstanding for 3,000 slots'),
      churnFigure(
        'nomad.churn_saturated.placements_per_s',
        saturated,
        'same fleet, 3,100 tasks outstanding for 3,000 slots (full fleet, ~100 tasks queued in blocked evals)',
      ),
      {
        name: 'nomad.c1m.wall_s',
        value: Number(b.seconds.toFixed(2)),
        unit: 's',
        target: `< ${C1M_TARGET_S} s`,
        met: b.seconds < C1M_TARGET_S,
        anchor: {
          name: 'Nomad C1M (HashiCorp 2016: 1M containers on 5,000 hosts in under 5 min)',
          value: NOMAD_C1M_S,
          unit: 's',
          ratio: Number((NOMAD_C1M_S / b.seconds).toFixed(1)),
        },
        note:
          `1,000 jobs × 1,000 tasks (40 millicores = 100 MHz, 64 MB) on 5,000 clients of 16 CPU/32 GB; ` +
          `${b.nodesUsed} clients used; ${b.cpuSeconds.toFixed(2)} s CPU; load average ${loadavg()[0]!.toFixed(2)}`,
      },
    ];
  },
};

/** One JSON line per figure: `npm run bench` (bench/run.ts) reads and formats them. */
function print(figures: readonly BenchFigure[]): void {
  for (const f of figures) console.log(JSON.stringify(f));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void Promise.resolve(nomadBench.run()).then(print);
}
