import { join } from 'node:path';
import { parseCliArgs, helpText, CliError, type ParsedArgs } from './args.ts';
import { Progress } from './progress.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { writeFilesAtomically } from '../io/write-files.ts';
import { ScenarioError, formatIssue } from '../../sim/scenario/parse.ts';
import { scenarioJsonSchema } from '../../sim/scenario/schema.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { runScenarioDetailed } from '../../sim/run.ts';
import type { Report } from '../../sim/report/types.ts';
import { loadProfile, FixtureError, DEFAULT_VERSION } from '../../fixtures/load.ts';
import { renderReportFiles, toJunitMany, formatMs } from '../../reports/index.ts';
import { renderTopology, topologyJson } from '../../reports/topology.ts';
import { formatDurationMs } from '../../sim/util/duration.ts';
import { conformanceCommand } from './commands/conformance.ts';
import { exploreCommand } from './commands/explore.ts';
import { upCommand, statusCommand, downCommand } from './commands/live-stack.ts';

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
        return runCommand(args, out, err, io);
      case 'validate':
        return validateCommand(args, out, err);
      case 'topology':
        return topologyCommand(args, out);
      case 'conformance':
        return await conformanceCommand(args, io);
      case 'explore':
        return await exploreCommand(args, io);
      case 'up':
        return await upCommand({ detach: args.detach, supervise: args.supervise, ...(args.scenario ? { scenario: args.scenario } : {}), ...(args.version ? { version: args.version } : {}) }, io);
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
    if (e instanceof CliError) {
      err(`twin: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`);
      return EXIT.badInput;
    }
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

function runCommand(args: ParsedArgs, out: (s: string) => void, err: (s: string) => void, io: CliIo): number {
  const scenarios = loadAll(args.files, args);
  const live = scenarios.filter((s) => s.mode === 'live');
  if (live.length > 0) {
    throw new CliError(`live mode is not available yet (${live.map((s) => s.name).join(', ')})`, 'run with --mode sim; the live harness is tracked in the issues');
  }
  const outDir = args.out ?? 'reports/out';
  const reports: Report[] = [];
  for (const scenario of scenarios) {
    const profile = loadProfile(scenario.version);
    err(`twin: ${scenario.name}: version ${scenario.version}, seed ${scenario.seed}, ${formatDurationMs(scenario.durationMs)} of virtual time, ${scenario.topology.nomadClients.count} Nomad clients, ${scenario.faults.length} faults`);
    const progress = new Progress(io.stderr as NodeJS.WriteStream, `  ${scenario.name}`, !args.quiet);
    const { report, files } = runScenarioDetailed(scenario, profile, { onProgress: (v, end) => progress.update(v, end, formatDurationMs(v)) });
    progress.done();
    const dir = scenarios.length === 1 ? outDir : join(outDir, scenario.name);
    writeFilesAtomically(dir, { ...renderReportFiles(report), ...files });
    reports.push(report);
    const b = report.builds;
    out(
      `${report.passed ? 'PASS' : 'FAIL'} ${report.scenario}: ${b.triggered} builds (${b.succeeded} succeeded, ${b.failed} failed, ${b.lost} lost, ${b.stuck} stuck), ` +
        `${b.not_triggered} not triggered; queue p95 ${formatMs(report.queue_time_ms.p95)}; severity ${report.observed_severity} → ${dir}/report.md`,
    );
    for (const e of report.expectations.filter((x) => !x.passed)) out(`  ✗ ${e.metric} ${e.op} ${String(e.expected)}: got ${String(e.actual)}${e.error ? ` (${e.error})` : ''}`);
    if (!report.ledger.conserved) out(`  ✗ ledger not conserved: ${report.ledger.equation}`);
    if (!report.passed) out(`  Rerun: ${report.replay}`);
  }
  if (scenarios.length > 1) writeFilesAtomically(outDir, { 'junit.xml': toJunitMany(reports) });
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
