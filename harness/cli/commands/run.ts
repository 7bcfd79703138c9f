import { join } from 'node:path';
import { CliError, type ParsedArgs } from '../args.ts';
import { Progress } from '../progress.ts';
import { writeFilesAtomically } from '../../io/write-files.ts';
import { loadScenarioFile } from '../../scenario/load.ts';
import { ScenarioError } from '../../../sim/scenario/parse.ts';
import type { SettledScenario } from '../../../sim/scenario/settled.ts';
import { runScenarioDetailed } from '../../../sim/run.ts';
import type { Report } from '../../../sim/report/types.ts';
import { loadProfile } from '../../../fixtures/load.ts';
import { renderReportFiles, toJunitMany, formatMs, toJson } from '../../../reports/index.ts';
import { formatDurationMs } from '../../../sim/util/duration.ts';
import type { BackendChoices } from '../../live/backend-choice.ts';
import type { CommandIo } from './conformance.ts';
import { beforeLiveImport } from '../runtime.ts';
import type { Timeline } from '../../../sim/metrics/timeline.ts';
import { loadHtmlAssets } from '../../html-assets.ts';
import { REAL_AGENT_AGREEMENT } from '../../../sim/agreement.ts';

/** Why `twin agree --nomad real` is refused (`REAL_AGENT_AGREEMENT`), and what to run instead. */
const AGREE_REAL_NOMAD = {
  message: `--nomad real: ${REAL_AGENT_AGREEMENT}`,
  hint: '`twin run FILE --mode live --nomad real` gives the live report on the real agent with its agreement section (the counts agree; the queue times show the process start); `twin agree FILE` judges the agreement on the twin\'s Nomad API',
} as const;

/**
 * `twin run` (and `twin agree`, which runs every scenario live and judges the agreement with the simulation).
 * Every file is loaded and checked first; live scenarios are checked for live support before anything starts;
 * the live stack's modules are loaded only when a scenario runs live. The report files of every scenario are
 * written in one all-or-nothing step after the last one ran, so a failure anywhere leaves `--out` untouched.
 */
export async function runCommand(args: ParsedArgs, io: CommandIo, backends: () => BackendChoices, judgeAgreement = false): Promise<number> {
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  const err = (s: string) => io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  if (judgeAgreement && args.nomad === 'real') throw new CliError(AGREE_REAL_NOMAD.message, AGREE_REAL_NOMAD.hint);
  const scenarios = loadAll(args.files, args).map((s) => (args.timeScale !== undefined ? { ...s, timeScale: args.timeScale } : s));
  const live = scenarios.some((s) => s.mode === 'live') ? await loadLive() : undefined;
  if (args.nomad !== undefined) {
    const simulated = scenarios.filter((s) => s.mode !== 'live').map((s) => s.name);
    if (simulated.length > 0) throw new CliError(`--nomad acts on a live run; ${simulated.join(', ')} would run in the simulation`, 'add --mode live (the simulation has no Nomad server to choose)');
  }
  if (live) for (const s of scenarios) if (s.mode === 'live') live.check(s, args.nomad);
  const outDir = args.out ?? 'reports/out';
  const files: Record<string, string> = {};
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const profile = loadProfile(scenario.version);
    const isLive = scenario.mode === 'live';
    err(
      `twin: ${scenario.name}: version ${scenario.version}, seed ${scenario.seed}, ${formatDurationMs(scenario.durationMs)} of ${isLive ? `scenario time, live at ${scenario.timeScale}× (about ${formatDurationMs(Math.round(scenario.durationMs / scenario.timeScale))} of wall time)` : 'virtual time'}, ` +
        `${scenario.topology.nomadClients.count} Nomad clients, ${scenario.faults.length} faults`,
    );
    const progress = new Progress(io.stderr, `  ${scenario.name}`, !args.quiet);
    const onProgress = runProgress(progress, scenario.durationMs);
    const onBaselineProgress = runProgress(progress, scenario.durationMs, 'baseline');
    let report: Report;
    let extra: Record<string, string>;
    let timeline: Timeline | undefined;
    if (isLive && live) {
      const r = await live.run(scenario, profile, { choice: backends(), ...(args.nomad ? { nomad: args.nomad } : {}), onProgress, log: (line) => (args.quiet ? undefined : (progress.clear(), err(`  ${line}`))) });
      report = r.report;
      extra = { ...r.files, 'sim-report.json': toJson(r.sim) };
    } else {
      ({ report, files: extra, timeline } = runScenarioDetailed(scenario, profile, { onProgress, onBaselineProgress }));
    }
    progress.done();
    const prefix = scenarios.length === 1 ? '' : `${scenario.name}/`;
    for (const [name, text] of Object.entries({ ...renderReportFiles(report, { assets: loadHtmlAssets(), timeline }), ...extra })) files[`${prefix}${name}`] = text;
    results.push({ report, dir: scenarios.length === 1 ? outDir : join(outDir, scenario.name) });
  }
  if (scenarios.length > 1) files['junit.xml'] = toJunitMany(results.map((r) => r.report));
  writeFilesAtomically(outDir, files);

  if (args.json) out(JSON.stringify(runJson(results), null, 2));
  else for (const r of results) for (const line of summaryLines(r)) out(line);
  const disagreements = results.filter((r) => r.report.agreement && !r.report.agreement.agrees).length;
  if (judgeAgreement && disagreements > 0) return 1;
  return results.every((r) => r.report.passed) ? 0 : 1;
}

interface ScenarioResult {
  report: Report;
  dir: string;
}

/**
 * The simulation reports progress up to `duration` plus its drain limit and stops early once the pipeline is
 * empty: the line counts the workload to 100% and then says it drains, rather than stopping at some fraction.
 * With faults, the fault-free baseline runs next (phase `baseline`: the same run without faults, for the severity).
 */
export function runProgress(progress: Progress, durationMs: number, run: 'run' | 'baseline' = 'run'): (virtualMs: number, endMs: number) => void {
  const prefix = run === 'baseline' ? 'baseline (no faults) ' : '';
  return (v, end) => {
    if (v < durationMs) progress.update(v, durationMs, `${formatDurationMs(v)} of ${formatDurationMs(durationMs)}`, `${prefix}workload`);
    else progress.update(1, 1, `builds still in the pipeline after the workload's ${formatDurationMs(durationMs)} (+${formatDurationMs(v - durationMs)}, at most ${formatDurationMs(end - durationMs)})`, `${prefix}drain`);
  };
}

function summaryLines({ report, dir }: ScenarioResult): string[] {
  const b = report.builds;
  const lines = [
    `${report.passed ? 'PASS' : 'FAIL'} ${report.scenario}${report.mode === 'live' ? ' (live)' : ''}: ${b.triggered} builds (${b.succeeded} succeeded, ${b.failed} failed, ${b.lost} lost, ${b.stuck} stuck), ` +
      `${b.not_triggered} not triggered; queue p95 ${formatMs(report.queue_time_ms.p95)}; severity ${report.observed_severity} → ${dir}/report.md`,
  ];
  for (const e of report.expectations.filter((x) => !x.passed)) lines.push(`  ✗ ${e.metric} ${e.op} ${String(e.expected)}: got ${String(e.actual)}${e.error ? ` (${e.error})` : ''}`);
  if (!report.ledger.conserved) lines.push(`  ✗ ledger not conserved: ${report.ledger.equation}`);
  const a = report.agreement;
  if (a) lines.push(`  ${a.agrees ? '✓ agrees with the simulation' : '✗ does not agree with the simulation'}: ${a.checks.filter((c) => !c.agrees).map((c) => `${c.what} sim ${c.sim} vs live ${c.live}`).join('; ') || `${a.checks.length} checks`}`);
  if (a?.caveat) lines.push(`  ! ${a.caveat}`);
  if (!report.passed) lines.push(`  Rerun: ${report.replay}`);
  return lines;
}

/** `--json`: the summary lines as one document (the full reports are in the files named by `report`). */
function runJson(results: readonly ScenarioResult[]): unknown {
  return {
    passed: results.every((r) => r.report.passed),
    scenarios: results.map(({ report, dir }) => ({
      scenario: report.scenario,
      mode: report.mode,
      seed: report.seed,
      passed: report.passed,
      builds: report.builds,
      queue_time_ms_p95: report.queue_time_ms.p95,
      observed_severity: report.observed_severity,
      failed_expectations: report.expectations.filter((x) => !x.passed),
      ledger_conserved: report.ledger.conserved,
      ...(report.agreement ? { agrees: report.agreement.agrees } : {}),
      report: join(dir, 'report.json'),
      replay: report.replay,
    })),
  };
}

/** Loads every file first, so one bad file stops the whole call before anything runs or is written. */
function loadAll(files: readonly string[], args: ParsedArgs): SettledScenario[] {
  const issues: ScenarioError['issues'] = [];
  const settled: SettledScenario[] = [];
  for (const file of files) {
    try {
      settled.push(loadScenarioFile(file, { seed: args.seed, mode: args.mode, command: 'run' }));
    } catch (e) {
      if (e instanceof ScenarioError) issues.push(...e.issues);
      else throw e;
    }
  }
  const seen = new Map<string, string>();
  for (const s of settled) {
    const other = seen.get(s.name);
    if (other !== undefined) issues.push({ file: s.file, line: 1, column: 1, field: 'name', message: `scenario name \`${s.name}\` is also used by ${other}`, hint: 'names must be unique: reports are written per name' });
    seen.set(s.name, s.file);
  }
  if (issues.length > 0) throw new ScenarioError(issues);
  return settled;
}

/** The live replay, loaded on demand (it pulls in the live stack); its typed refusal becomes the CLI's. */
async function loadLive() {
  await beforeLiveImport();
  const [{ runLive, checkLiveSupport, LiveUnsupportedError }, { backendOptionsFromEnv }] = await Promise.all([import('../../live/replay/run-live.ts'), import('../../live/backends.ts')]);
  return {
    check(s: SettledScenario, nomad?: 'real' | 'twin'): void {
      try {
        checkLiveSupport(s, nomad);
      } catch (e) {
        if (e instanceof LiveUnsupportedError) throw new CliError(e.message, e.hint);
        throw e;
      }
    },
    run(s: SettledScenario, profile: ReturnType<typeof loadProfile>, opts: Omit<NonNullable<Parameters<typeof runLive>[2]>, 'urls'>) {
      const { urls } = backendOptionsFromEnv();
      return runLive(s, profile, { ...(urls ? { urls } : {}), ...opts });
    },
  };
}
