import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../harness/scenario/load.ts';
import { checkDrSections } from '../harness/cli/commands/dr.ts';
import { runDrRehearsal } from '../sim/models/dr/dr-report.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const SCENARIO = fileURLToPath(new URL('./dr-day.yaml', import.meta.url));
const ROUNDS = 5;

/**
 * `twin dr`'s computation for a simulated day (the rehearsal, its fault-free baseline and the backup-interval
 * sweep), in this process: the first (cold) round and the median of the rounds, wall and CPU time.
 */
export function measureDrDay(): { firstWallS: number; medianWallS: number; medianCpuS: number; builds: number; events: number; passed: boolean } {
  const scenario = loadScenarioFile(SCENARIO, { command: 'dr' });
  const runbook = checkDrSections(scenario);
  const walls: number[] = [];
  const cpus: number[] = [];
  let last: ReturnType<typeof runDrRehearsal> | undefined;
  for (let i = 0; i < ROUNDS; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    last = runDrRehearsal(scenario, runbook);
    walls.push((performance.now() - t0) / 1000);
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1e6);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { firstWallS: walls[0]!, medianWallS: median(walls), medianCpuS: median(cpus), builds: last!.builds.triggered, events: last!.engine.events, passed: last!.passed };
}

export const drBench: BenchSuite = {
  name: 'dr',
  run(): BenchFigure[] {
    const m = measureDrDay();
    const note = `${m.builds.toLocaleString('en-US')} builds, ${m.events.toLocaleString('en-US')} events in the rehearsal; rehearsal + baseline + sweep; median of ${ROUNDS} rounds, ${m.medianCpuS.toFixed(2)} s CPU; its expectations ${m.passed ? 'passed' : 'FAILED'}`;
    return [
      { name: 'dr.day.wall_s', value: round2(m.medianWallS), unit: 's', target: '< 2 s', met: m.medianWallS < 2 && m.passed, anchor: { name: 'target', value: 2, unit: 's', ratio: round2(m.medianWallS / 2) }, note },
      { name: 'dr.day.first_round_wall_s', value: round2(m.firstWallS), unit: 's', target: '< 2 s (cold: JIT warming up)', met: m.firstWallS < 2, anchor: { name: 'target', value: 2, unit: 's', ratio: round2(m.firstWallS / 2) } },
    ];
  },
};

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of drBench.run() as BenchFigure[]) console.log(JSON.stringify(f));
}
