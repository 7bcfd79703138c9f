import { readFileSync } from 'node:fs';
import { loadProfile } from '../fixtures/load.ts';
import { explore } from '../sim/explore/explore.ts';
import { fixtureContext, loadScenarioFile } from '../harness/scenario/load.ts';
import { exploreOnQueue } from '../harness/distributed/explore-tasks.ts';
import { WorkerProcess } from '../harness/distributed/worker-process.ts';
import { RedisProvider } from '../harness/providers/redis/redis-provider.ts';
import { LOCAL_PROGRAMS } from '../harness/providers/missing-packages.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

/**
 * Fault schedules per second explored on the twin's queue (BullMQ on a private redis-server) by two `twin worker`
 * processes, against the same exploration run locally in this process, side by side in the same run. Wall time,
 * the whole call: planning, queueing, the workers' runs, collecting, and the local pass over the results.
 */
const SCENARIO = new URL('../scenarios/baseline.yaml', import.meta.url).pathname;
const SCHEDULES = 160;
const ROUNDS = 3;

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat (clock ticks of 1/100 s on Linux). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const distributedBench: BenchSuite = {
  name: 'distributed',
  async run(): Promise<BenchFigure[]> {
    const name = 'distributed.explore_schedules_per_s';
    const target = '>= 1.0 × the local rate (2 workers on this 2-core machine)';
    const redisProgram = LOCAL_PROGRAMS.redis();
    if (!redisProgram.availability.available) {
      return [{ name, value: Number.NaN, unit: 'schedules/s', target, met: false, missing: `${redisProgram.availability.detail}; install the Debian package redis-server` }];
    }
    const context = fixtureContext();
    const scenario = loadScenarioFile(SCENARIO, { command: 'run' });
    scenario.mode = 'sim';
    const profile = loadProfile(scenario.version);
    const targets = profile.containers.map((c) => c.name);
    await using redis = await new RedisProvider().withBackend('local').start();
    const workers = [new WorkerProcess(redis.url), new WorkerProcess(redis.url)];
    try {
      await Promise.all(workers.map((w) => w.line(/connected to/)));
      // Warm-up: each worker's thread loads the simulation once (through tsx) before anything is timed.
      await exploreOnQueue(scenario, profile, { url: redis.url, runs: 24, seed: 99, context, targets });
      const queued: number[] = [];
      const local: number[] = [];
      const queuedCpu: number[] = [];
      const localCpu: number[] = [];
      const cpuNow = () => workers.reduce((sum, w) => sum + cpuSecondsOf(w.child.pid!), 0) + process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
      for (let r = 0; r < ROUNDS; r++) {
        const opts = { runs: SCHEDULES, seed: r + 1, context, targets };
        const t0 = performance.now();
        const c0 = cpuNow();
        const q = await exploreOnQueue(scenario, profile, { ...opts, url: redis.url });
        queued.push((q.result.schedulesRun + 1) / ((performance.now() - t0) / 1000));
        queuedCpu.push((q.result.schedulesRun + 1) / (cpuNow() - c0));
        const t1 = performance.now();
        const c1 = process.cpuUsage();
        const l = explore(scenario, profile, opts);
        local.push((l.schedulesRun + 1) / ((performance.now() - t1) / 1000));
        const c2 = process.cpuUsage(c1);
        localCpu.push((l.schedulesRun + 1) / ((c2.user + c2.system) / 1e6));
        if (JSON.stringify(l) !== JSON.stringify(q.result)) throw new Error(`round ${r}: the queued exploration differs from the local one`);
      }
      const rate = median(queued);
      const anchor = median(local);
      const cpuRate = median(queuedCpu);
      const cpuAnchor = median(localCpu);
      return [
        {
          name,
          value: Math.round(rate * 100) / 100,
          unit: 'schedules/s',
          target,
          met: rate >= anchor,
          anchor: { name: 'the same exploration run locally in one thread, interleaved', value: Math.round(anchor * 100) / 100, unit: 'schedules/s', ratio: Math.round((rate / anchor) * 1000) / 1000 },
          note: `${ROUNDS} rounds of ${SCHEDULES} schedules of container faults on scenarios/baseline.yaml (medians; queued per round: ${queued.map((x) => x.toFixed(1)).join(', ')}; local: ${local.map((x) => x.toFixed(1)).join(', ')}); results identical in every round`,
        },
        {
          name: 'distributed.explore_schedules_per_cpu_s',
          value: Math.round(cpuRate * 100) / 100,
          unit: 'schedules/CPU s',
          target: '>= 0.8 × the local rate (the queue\'s overhead under 20% of the CPU)',
          met: cpuRate >= 0.8 * cpuAnchor,
          anchor: { name: 'the local exploration, CPU time of this process', value: Math.round(cpuAnchor * 100) / 100, unit: 'schedules/CPU s', ratio: Math.round((cpuRate / cpuAnchor) * 1000) / 1000 },
          note: `CPU of both workers (main thread and task threads, /proc) and of this process (planning, queueing, collecting, the local pass) per schedule; per round: ${queuedCpu.map((x) => x.toFixed(1)).join(', ')} against ${localCpu.map((x) => x.toFixed(1)).join(', ')}`,
        },
      ];
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await distributedBench.run()) console.log(JSON.stringify(f));
}
