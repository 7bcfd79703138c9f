import { join } from 'node:path';
import { parseCliArgs, helpText, CliError, type ParsedArgs } from './args.ts';
import { Progress } from './progress.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { writeFilesAtomically } from '../io/write-files.ts';
import { ScenarioError, formatIssue } from '../../sim/scenario/parse.ts';
import { scenarioJsonSchema } from '../../sim/scenario/schema.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { runScenarioDetailed } from '../../sim/run.ts';
import type { Timeline } from '../../sim/metrics/timeline.ts';
import { loadHtmlAssets } from '../html-assets.ts';
import type { Report } from '../../sim/report/types.ts';
import { loadProfile, FixtureError, DEFAULT_VERSION } from '../../fixtures/load.ts';
import { renderReportFiles, toJunitMany, formatMs } from '../../reports/index.ts';
import { renderTopology, topologyJson } from '../../reports/topology.ts';
import { formatDurationMs } from '../../sim/util/duration.ts';
import { conformanceCommand } from './commands/conformance.ts';
import { exploreCommand } from './commands/explore.ts';
import { upCommand, statusCommand, downCommand } from './commands/live-stack.ts';
import { runLive, checkLiveSupport, LiveUnsupportedError } from '../live/replay/run-live.ts';
import { backendOptionsFromEnv } from '../live/backends.ts';
import { BackendChoiceError, backendChoices, type BackendChoices } from '../live/backend-choice.ts';
import { ProviderError } from '../providers/index.ts';
import { toJson } from '../../reports/json.ts';

/** Where the CLI writes; injectable so tests capture output. */
export interface CliIo {
  stdout: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  stderr: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
}

export const EXIT = { pass: 0, expectationFailed: 1, badInput: 2 } as const;

/** Runs the CLI and returns its exit code; never calls process.exit. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const err = (s: string) => io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  let args: ParsedArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    if (e instanceof CliError) {
      err(`twin: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      return EXIT.badInput;
    }
    throw e;
  }
  if (args.help || args.command === 'help') {
    out(helpText(args.command));
    return EXIT.pass;
  }
  try {
    switch (args.command) {
      case 'run':
        return await runCommand(args, out, err, io);
      case 'agree':
        return await runCommand({ ...args, mode: 'live' }, out, err, io, true);
      case 'validate':
        return validateCommand(args, out, err);
      case 'topology':
        return topologyCommand(args, out);
      case 'conformance':
        return await conformanceCommand(args, io);
      case 'explore':
        return await exploreCommand(args, io);
      case 'up':
        return await upCommand({ detach: args.detach, supervise: args.supervise, backends: withEnvBackends(args), ...(args.scenario ? { scenario: args.scenario } : {}), ...(args.version ? { version: args.version } : {}) }, io);
      case 'status':
        return await statusCommand({ json: args.json }, io);
      case 'down':
        return await downCommand(io);
      case 'schema':
        out(JSON.stringify(scenarioJsonSchema(), null, 2));
        return EXIT.pass;
      default:
        err(`twin ${args.command}: not available yet in this version of the twin.\n  hint: see README.md, "Status", for what each command does today`);
        return EXIT.badInput;
    }
  } catch (e) {
    if (e instanceof ScenarioError) {
      err(e.issues.map(formatIssue).join('\n'));
      err(`${e.issues.length} problem${e.issues.length === 1 ? '' : 's'}; nothing was run or written.`);
      return EXIT.badInput;
    }
    if (e instanceof FixtureError) {
      err(`twin: ${e.message}`);
      return EXIT.badInput;
    }
    if (e instanceof CliError || e instanceof LiveUnsupportedError) {
      err(`twin: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      return EXIT.badInput;
    }
    if (e instanceof ProviderError) {
      err(`twin: the live stack did not start: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      return EXIT.badInput;
    }
    throw e;
  }
}

/** `TWIN_BACKEND`'s choices with the command line's on top (a bad TWIN_BACKEND is bad input, exit 2). */
function withEnvBackends(args: ParsedArgs): BackendChoices {
  try {
    return { ...backendChoices([]), ...args.backends };
  } catch (e) {
    if (e instanceof BackendChoiceError) throw new CliError(e.message, e.hint);
    throw e;
  }
}

/** Loads every file first, so one bad file stops the whole call before anything runs or is written. */
function loadAll(files: readonly string[], args: ParsedArgs): SettledScenario[] {
  const issues: ScenarioError['issues'] = [];
  const settled: SettledScenario[] = [];
  for (const file of files) {
    try {
      settled.push(loadScenarioFile(file, { seed: args.seed, mode: args.mode }));
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

/**
 * `twin run` (and `twin agree`, which runs every scenario live and judges the agreement with the simulation):
 * all files are loaded and checked first; live scenarios are checked for live support before anything starts.
 */
async function runCommand(args: ParsedArgs, out: (s: string) => void, err: (s: string) => void, io: CliIo, judgeAgreement = false): Promise<number> {
  const scenarios = loadAll(args.files, args).map((s) => (args.timeScale !== undefined ? { ...s, timeScale: args.timeScale } : s));
  for (const s of scenarios) if (s.mode === 'live') checkLiveSupport(s);
  const outDir = args.out ?? 'reports/out';
  const reports: Report[] = [];
  let disagreements = 0;
  for (const scenario of scenarios) {
    const profile = loadProfile(scenario.version);
    const live = scenario.mode === 'live';
    err(
      `twin: ${scenario.name}: version ${scenario.version}, seed ${scenario.seed}, ${formatDurationMs(scenario.durationMs)} of ${live ? `scenario time, live at ${scenario.timeScale}× (about ${formatDurationMs(Math.round(scenario.durationMs / scenario.timeScale))} of wall time)` : 'virtual time'}, ` +
        `${scenario.topology.nomadClients.count} Nomad clients, ${scenario.faults.length} faults`,
    );
    const progress = new Progress(io.stderr as NodeJS.WriteStream, `  ${scenario.name}`, !args.quiet);
    const onProgress = (v: number, end: number) => progress.update(v, end, formatDurationMs(v));
    let report: Report;
    let files: Record<string, string>;
    let timeline: Timeline | undefined;
    if (live) {
      const { urls } = backendOptionsFromEnv();
      const r = await runLive(scenario, profile, { ...(urls ? { urls } : {}), choice: withEnvBackends(args), onProgress, log: (line) => (args.quiet ? undefined : (progress.clear(), err(`  ${line}`))) });
      report = r.report;
      files = { ...r.files, 'sim-report.json': toJson(r.sim) };
    } else {
      ({ report, files, timeline } = runScenarioDetailed(scenario, profile, { onProgress }));
    }
    progress.done();
    const dir = scenarios.length === 1 ? outDir : join(outDir, scenario.name);
    writeFilesAtomically(dir, { ...renderReportFiles(report, { assets: loadHtmlAssets(), timeline }), ...files });
    reports.push(report);
    const b = report.builds;
    out(
      `${report.passed ? 'PASS' : 'FAIL'} ${report.scenario}${live ? ' (live)' : ''}: ${b.triggered} builds (${b.succeeded} succeeded, ${b.failed} failed, ${b.lost} lost, ${b.stuck} stuck), ` +
        `${b.not_triggered} not triggered; queue p95 ${formatMs(report.queue_time_ms.p95)}; severity ${report.observed_severity} → ${dir}/report.md`,
    );
    for (const e of report.expectations.filter((x) => !x.passed)) out(`  ✗ ${e.metric} ${e.op} ${String(e.expected)}: got ${String(e.actual)}${e.error ? ` (${e.error})` : ''}`);
    if (!report.ledger.conserved) out(`  ✗ ledger not conserved: ${report.ledger.equation}`);
    if (report.agreement) {
      const a = report.agreement;
      if (!a.agrees) disagreements++;
      out(`  ${a.agrees ? '✓ agrees with the simulation' : '✗ does not agree with the simulation'}: ${a.checks.filter((c) => !c.agrees).map((c) => `${c.what} sim ${c.sim} vs live ${c.live}`).join('; ') || `${a.checks.length} checks`}`);
    }
    if (!report.passed) out(`  Rerun: ${report.replay}`);
  }
  if (scenarios.length > 1) writeFilesAtomically(outDir, { 'junit.xml': toJunitMany(reports) });
  if (judgeAgreement && disagreements > 0) return EXIT.expectationFailed;
  return reports.every((r) => r.passed) ? EXIT.pass : EXIT.expectationFailed;
}

function validateCommand(args: ParsedArgs, out: (s: string) => void, err: (s: string) => void): number {
  let bad = 0;
  for (const file of args.files) {
    try {
      const s = loadScenarioFile(file);
      out(args.json ? JSON.stringify({ file, valid: true, name: s.name }) : `ok ${file} (${s.name})`);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      bad++;
      if (args.json) out(JSON.stringify({ file, valid: false, issues: e.issues }));
      else err(e.issues.map(formatIssue).join('\n'));
    }
  }
  if (bad > 0 && !args.json) err(`${bad} of ${args.files.length} file${args.files.length === 1 ? '' : 's'} invalid.`);
  return bad > 0 ? EXIT.badInput : EXIT.pass;
}

function topologyCommand(args: ParsedArgs, out: (s: string) => void): number {
  const profile = loadProfile(args.version ?? DEFAULT_VERSION);
  out(args.json ? JSON.stringify(topologyJson(profile), null, 2) : renderTopology(profile));
  return EXIT.pass;
}
