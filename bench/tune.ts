import { fileURLToPath } from 'node:url';
import { parseCliArgs } from '../harness/cli/args.ts';
import { planTune, runTune } from '../harness/cli/commands/tune.ts';
import { defaultJobs } from '../harness/tune/pool.ts';
import { toTuneJson } from '../reports/tune.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const SCENARIO = fileURLToPath(new URL('./tune-week-100-clients.yaml', import.meta.url));

/** 2 schedulers × 3 group minimums × 4 daytime sizes: 24 cells, each a simulated week of up to 100 clients. */
const SWEEP = ['--sweep', 'topology.scheduler=binpack,spread', '--sweep', 'autoscaling.min=10,20,40', '--sweep', 'autoscaling.policies.0.desired=50,65,80,100'];

/** One sweep on `jobs` threads: wall time, the process's CPU time (all threads), and tune.json's text. */
async function measure(jobs: number): Promise<{ wallS: number; cpuS: number; cells: number; json: string; builds: number }> {
  const plan = planTune(parseCliArgs(['tune', SCENARIO, ...SWEEP]));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { result } = await runTune(plan, jobs);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { wallS, cpuS: (cpu.user + cpu.system) / 1e6, cells: result.cells.length, json: toTuneJson(result), builds: result.cells.reduce((n, c) => n + c.builds.triggered, 0) };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export const tuneBench: BenchSuite = {
  name: 'tune',
  async run(): Promise<BenchFigure[]> {
    const jobs = defaultJobs();
    // Worker threads first (each boots its own copy of the model), then the same sweep in this thread alone.
    const pool = await measure(jobs);
    const one = await measure(1);
    const same = pool.json === one.json;
    const note = `${pool.cells} cells, ${pool.builds.toLocaleString('en-US')} builds in all; ${jobs} worker threads: ${pool.cpuS.toFixed(1)} s CPU (incl. each worker's start); --jobs 1: ${one.wallS.toFixed(1)} s wall, ${one.cpuS.toFixed(1)} s CPU; tune.json ${same ? 'byte-identical' : 'DIFFERENT'} between the two`;
    const poolRate = pool.cells / pool.wallS;
    const oneRate = one.cells / one.wallS;
    return [
      { name: 'tune.sweep_24_weeks_100_clients.wall_s', value: round2(pool.wallS), unit: 's', target: '< 60 s', met: pool.wallS < 60 && same, anchor: { name: 'target', value: 60, unit: 's', ratio: round2(pool.wallS / 60) }, note },
      { name: 'tune.sweep_24_weeks_100_clients.worker_threads.cells_per_s', value: round2(poolRate), unit: 'cells/s', target: '> --jobs 1', met: poolRate > oneRate, anchor: { name: '--jobs 1 (this thread)', value: round2(oneRate), unit: 'cells/s', ratio: round2(poolRate / oneRate) } },
    ];
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await tuneBench.run()) console.log(JSON.stringify(f));
}
