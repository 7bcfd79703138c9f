import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../harness/scenario/load.ts';
import { loadRunbook } from '../fixtures/runbooks/load.ts';
import { runLiveDr } from '../harness/dr/live-rehearsal.ts';
import type { BenchFigure, BenchSuite } from './types.ts';

const SCENARIO = fileURLToPath(new URL('../scenarios/dr/ebs-snapshot-restore.yaml', import.meta.url));
/** The budget for a live ebs-snapshot-restore rehearsal on the 2-core machine. */
const TARGET_S = 180;

/** CPU seconds of this process and of its children that ended (the stores' processes, reaped at teardown), from /proc. */
function cpuSeconds(): { self: number; children: number } {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After the command: state is field 3, so utime (14), stime (15), cutime (16), cstime (17) are at 11..14.
  const tick = 100;
  return { self: (Number(fields[11]) + Number(fields[12])) / tick, children: (Number(fields[13]) + Number(fields[14])) / tick };
}

/**
 * `twin dr scenarios/dr/ebs-snapshot-restore.yaml --mode live`, once: its wall time against the 3-minute budget,
 * the snapshot's hold time, the restore's boot time, each runbook step's duration (what dominates), and the CPU
 * seconds it took (this process and the stores' processes).
 */
export async function measureLiveDr(): Promise<{ wallS: number; holdMs: number | null; bootMs: number | null; steps: { step: string; ms: number }[]; cpu: { self: number; children: number }; bootStackMs: number | null; passed: boolean }> {
  const scenario = loadScenarioFile(SCENARIO, { mode: 'live', command: 'dr' });
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  let bootStackMs: number | null = null;
  const report = await runLiveDr(scenario, loadRunbook('restore-from-ebs'), {
    log: (line) => {
      const m = /^\+[\d.]+s stack up in (\d+) ms/.exec(line);
      if (m) bootStackMs = Number(m[1]);
    },
  });
  const wallS = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds();
  const live = report.live as { snapshot: { hold_ms: number } | null; restore_boot_ms: number | null };
  return {
    wallS,
    holdMs: live.snapshot?.hold_ms ?? null,
    bootMs: live.restore_boot_ms,
    steps: report.runbook.map((s) => ({ step: s.step, ms: s.duration_ms })),
    cpu: { self: cpu1.self - cpu0.self, children: cpu1.children - cpu0.children },
    bootStackMs,
    passed: report.passed,
  };
}

export const drLiveBench: BenchSuite = {
  name: 'dr-live',
  async run(): Promise<BenchFigure[]> {
    const m = await measureLiveDr();
    const steps = m.steps.map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)} s`).join(', ');
    const note = `stack boot ${m.bootStackMs === null ? '?' : (m.bootStackMs / 1000).toFixed(1)} s; steps: ${steps}; CPU ${m.cpu.self.toFixed(1)} s in this process + ${m.cpu.children.toFixed(1)} s in the stores' processes; its expectations ${m.passed ? 'passed' : 'FAILED'}`;
    return [
      { name: 'dr.live.ebs_snapshot_restore.wall_s', value: round1(m.wallS), unit: 's', target: `< ${TARGET_S} s`, met: m.wallS < TARGET_S && m.passed, anchor: { name: 'target', value: TARGET_S, unit: 's', ratio: Math.round((m.wallS / TARGET_S) * 100) / 100 }, note },
      { name: 'dr.live.snapshot_hold_ms', value: m.holdMs ?? Number.NaN, unit: 'ms', target: 'reported', met: m.holdMs !== null },
      { name: 'dr.live.restore_boot_ms', value: m.bootMs ?? Number.NaN, unit: 'ms', target: 'reported', met: m.bootMs !== null },
      { name: 'dr.live.cpu_s', value: round1(m.cpu.self + m.cpu.children), unit: 's', target: 'reported', met: true },
    ];
  },
};

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of await drLiveBench.run()) console.log(JSON.stringify(f));
}
