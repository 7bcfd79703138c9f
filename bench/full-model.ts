import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../harness/scenario/load.ts';
import { loadProfile } from '../fixtures/load.ts';
import { runScenario } from '../sim/run.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const SCENARIO = fileURLToPath(new URL('./week-200-clients.yaml', import.meta.url));

/** One run of the week, in this process: wall time, CPU time, peak RSS and what was simulated. */
export function measureWeek(): { wallS: number; cpuS: number; maxRssMb: number; jobs: number; events: number } {
  const scenario = loadScenarioFile(SCENARIO);
  const profile = loadProfile(scenario.version);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = runScenario(scenario, profile);
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    wallS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    jobs: report.builds.triggered,
    events: report.engine.events,
  };
}

export const fullModelBench: BenchSuite = {
  name: 'full-model',
  run(): BenchFigure[] {
    const m = measureWeek();
    const note = `${m.jobs.toLocaleString('en-US')} jobs, ${m.events.toLocaleString('en-US')} events, ${m.cpuS.toFixed(2)} s CPU (all threads, incl. GC)`;
    return [
      { name: 'full_model.week_200_clients.wall_s', value: round2(m.wallS), unit: 's', target: '< 10 s on one core', met: m.wallS < 10, anchor: { name: 'target', value: 10, unit: 's', ratio: round2(m.wallS / 10) }, note },
      { name: 'full_model.week_200_clients.peak_rss_mb', value: Math.round(m.maxRssMb), unit: 'MB', target: '< 1024 MB', met: m.maxRssMb < 1024, anchor: { name: 'target', value: 1024, unit: 'MB', ratio: round2(m.maxRssMb / 1024) } },
      { name: 'full_model.week_200_clients.jobs', value: m.jobs, unit: 'jobs', target: '~500,000', met: m.jobs > 450_000 },
    ];
  },
};

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of fullModelBench.run() as BenchFigure[]) console.log(JSON.stringify(f));
}
