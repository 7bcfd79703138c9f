import { fileURLToPath } from 'node:url';
import { parseCliArgs } from '../harness/cli/args.ts';
import { planTune, runTune } from '../harness/cli/commands/tune.ts';
import { defaultJobs } from '../harness/tune/pool.ts';
import { toTuneJson } from '../reports/tune.ts';
import { WorkerProcess } from '../harness/distributed/worker-process.ts';
import { LOCAL_PROGRAMS } from '../harness/providers/missing-packages.ts';
import { RedisProvider } from '../harness/providers/redis/redis-provider.ts';
import { cpuSecondsOf } from './distributed.ts';
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

/**
 * The same sweep on the BullMQ path (`--workers redis://…`): a private redis-server and two `twin worker`
 * processes of this checkout, one run at a time each. Wall time from enqueueing to the last result; CPU of both
 * workers (/proc, their task threads included) and of this process, the workers' start excluded.
 */
async function measureQueue(): Promise<{ wallS: number; cpuS: number; cells: number; json: string } | { missing: string }> {
  const redisProgram = LOCAL_PROGRAMS.redis();
  if (!redisProgram.availability.available) return { missing: `${redisProgram.availability.detail}; install the Debian package redis-server` };
  await using redis = await new RedisProvider().withBackend('local').start();
  const workers = [new WorkerProcess(redis.url), new WorkerProcess(redis.url)];
  try {
    await Promise.all(workers.map((w) => w.line(/connected to/)));
    const plan = planTune(parseCliArgs(['tune', SCENARIO, ...SWEEP]));
    const cpuNow = () => workers.reduce((sum, w) => sum + cpuSecondsOf(w.child.pid!), 0) + (process.cpuUsage().user + process.cpuUsage().system) / 1e6;
    const c0 = cpuNow();
    const t0 = performance.now();
    const { result } = await runTune(plan, 1, undefined, { url: redis.url, workerTimeoutMs: undefined });
    return { wallS: (performance.now() - t0) / 1000, cpuS: cpuNow() - c0, cells: result.cells.length, json: toTuneJson(result) };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export const tuneBench: BenchSuite = {
  name: 'tune',
  async run(): Promise<BenchFigure[]> {
    const jobs = defaultJobs();
    // Worker threads first (each boots its own copy of the model), then the same sweep in this thread alone.
    const pool = await measure(jobs);
    const one = await measure(1);
    const queue = await measureQueue();
    const same = pool.json === one.json;
    const note = `${pool.cells} cells, ${pool.builds.toLocaleString('en-US')} builds in all; ${jobs} worker threads: ${pool.cpuS.toFixed(1)} s CPU (incl. each worker's start); --jobs 1: ${one.wallS.toFixed(1)} s wall, ${one.cpuS.toFixed(1)} s CPU; tune.json ${same ? 'byte-identical' : 'DIFFERENT'} between the two`;
    const poolRate = pool.cells / pool.wallS;
    const oneRate = one.cells / one.wallS;
    return [
      { name: 'tune.sweep_24_weeks_100_clients.wall_s', value: round2(pool.wallS), unit: 's', target: '< 60 s', met: pool.wallS < 60 && same, anchor: { name: 'target', value: 60, unit: 's', ratio: round2(pool.wallS / 60) }, note },
      { name: 'tune.sweep_24_weeks_100_clients.worker_threads.cells_per_s', value: round2(poolRate), unit: 'cells/s', target: '> --jobs 1', met: poolRate > oneRate, anchor: { name: '--jobs 1 (this thread)', value: round2(oneRate), unit: 'cells/s', ratio: round2(poolRate / oneRate) } },
      {
        name: 'tune.sweep_24_weeks_100_clients.cpu_s_per_cell',
        value: round2(one.cpuS / one.cells),
        unit: 'CPU s/cell',
        target: 'reported (--jobs 1: the model alone, in this thread)',
        met: true,
        anchor: { name: 'worker threads (their start included)', value: round2(pool.cpuS / pool.cells), unit: 'CPU s/cell', ratio: round2(one.cpuS / one.cells / (pool.cpuS / pool.cells)) },
      },
      'missing' in queue
        ? { name: 'tune.sweep_24_weeks_100_clients.bullmq.cells_per_s', value: Number.NaN, unit: 'cells/s', target: 'reported; tune.json byte-identical to the worker threads\'', met: false, missing: queue.missing }
        : {
            name: 'tune.sweep_24_weeks_100_clients.bullmq.cells_per_s',
            value: round2(queue.cells / queue.wallS),
            unit: 'cells/s',
            target: 'reported; tune.json byte-identical to the worker threads\'',
            met: queue.json === pool.json,
            anchor: { name: `worker threads (${jobs}), measured just before`, value: round2(poolRate), unit: 'cells/s', ratio: round2(queue.cells / queue.wallS / poolRate) },
            note: `2 \`twin worker\` processes on a private redis-server: ${queue.wallS.toFixed(1)} s wall, ${queue.cpuS.toFixed(1)} s CPU (${(queue.cpuS / queue.cells).toFixed(2)} CPU s/cell, workers' start excluded); tune.json ${queue.json === pool.json ? 'byte-identical' : 'DIFFERENT'} to the worker threads'`,
          },
    ];
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await tuneBench.run()) console.log(JSON.stringify(f));
}
