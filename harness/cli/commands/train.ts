import { existsSync, statSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { CliError, type ParsedArgs } from '../args.ts';
import type { CliIo } from '../main.ts';
import { drillFile, drillFiles, loadDrill } from '../../train/drills.ts';
import { runInteractive, runScript } from '../../train/console.ts';
import type { RealNomadCli } from '../../train/real-nomad-cli.ts';
import { beforeLiveImport } from '../runtime.ts';
import { writeFilesAtomically } from '../../io/write-files.ts';
import { readBoundedFile, InputFileError } from '../../scenario/load.ts';
import { TrainingSession, DEFAULT_COMMAND_MS, type TrainingResult } from '../../../sim/training/session.ts';
import { liveBlockers } from '../../../sim/training/live-support.ts';
import { parseDurationMs, formatDurationMs } from '../../../sim/util/duration.ts';
import { LIMITS } from '../../../sim/scenario/limits.ts';
import { instructorSummaryJson, instructorSummaryMarkdown, sessionScript, trainReportJson, transcriptJson, transcriptMarkdown, type SummaryRow, type TrainReport } from '../../../reports/train.ts';

/** The longest a command may take of the installation's time (a session of 500 commands stays within a week). */
export const MAX_COMMAND_MS = 20 * 60_000;

/** `twin train`: --list, --report DIR..., or a drill (interactive, or a --script replayed). */
export async function trainCommand(args: ParsedArgs, io: CliIo & { stdin?: NodeJS.ReadableStream }): Promise<number> {
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  const modes = [args.list === true, args.report === true, args.drill !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new CliError(modes === 0 ? '`twin train` needs --list, --drill NAME or --report DIR...' : '--list, --drill and --report are separate uses of `twin train`: give one', 'for example: twin train --list');
  if (args.mode === 'live' && args.drill === undefined) throw new CliError('--mode live applies to a drill (--drill NAME)', 'twin train --list shows the drills');
  if (args.list) return listDrills(args.json, out);
  if (args.report) return summarise(args, out);
  for (const [flag, given] of [['--json', args.json]] as const) if (given) throw new CliError(`${flag} applies to --list and --report, not to a drill`, 'the drill writes train-report.json into --out');
  if (args.timeFactor !== undefined && args.script !== undefined) throw new CliError('--time-factor paces an interactive drill by the wall clock; a --script replays at --command-time per line', 'leave out --time-factor with --script');
  if (args.timeFactor !== undefined && args.commandTime !== undefined) throw new CliError('--time-factor and --command-time are two ways to pace a drill: give one', 'for example --time-factor 20 (20 s of the installation per second)');
  const commandMs = commandTime(args.commandTime);
  const file = drillFile(args.drill!);
  const { drill, installation, profile } = loadDrill(file, args.seed);
  if (args.mode === 'live') {
    // Each drill says why it cannot run live (a fault the live stack does not carry out, a hidden change).
    const blockers = liveBlockers(drill);
    if (blockers.length > 0) throw new CliError(`drill ${drill.name} cannot run on the live stack: ${blockers.join('; ')}`, 'run it in the simulation: leave out --mode live');
    if (args.timeFactor !== undefined) throw new CliError('--time-factor paces the simulation by the wall clock; on the live stack the installation runs at its own time scale (the installation\'s time_scale)', 'leave out --time-factor with --mode live');
  }
  let script: string | undefined;
  if (args.script !== undefined) {
    try {
      script = readBoundedFile(args.script, LIMITS.scenarioFileBytes);
    } catch (e) {
      if (e instanceof InputFileError) throw new CliError(`cannot read the script ${args.script}: ${e.message}`, e.hint);
      throw e;
    }
  }
  if (args.mode === 'live') {
    await beforeLiveImport();
    const { runLiveDrill } = await import('../../train/live-drill.ts');
    const result = await runLiveDrill({
      drill,
      installation,
      profile,
      ...(script === undefined ? {} : { script }),
      stdin: io.stdin ?? process.stdin,
      stdout: io.stdout as NodeJS.WritableStream,
      commandMs,
      ...(args.nomad === undefined ? {} : { nomad: args.nomad }),
      log: (line) => io.stderr.write(`${line}\n`),
    });
    return writeResult(result, 'live', args.out, out);
  }
  const session = new TrainingSession(drill, installation, profile, { commandMs });
  // A `nomad` binary on PATH answers the trainee's read-only nomad commands, against the drill's own cluster.
  const nomad = args.nomad === 'twin' ? undefined : await startRealNomadCli(session);
  if (args.nomad === 'real' && nomad === undefined) throw new CliError('--nomad real: no `nomad` binary on PATH', 'install Nomad 0.9.3 and put it on PATH, or leave out --nomad (the built-in emulation answers)');
  try {
    if (script !== undefined) await runScript(session, script, io.stdout, nomad);
    else await runInteractive(session, io.stdin ?? process.stdin, io.stdout as NodeJS.WritableStream, { timeFactor: args.timeFactor, nomad });
  } finally {
    await nomad?.stop();
  }
  return writeResult(session.finish(), 'sim', args.out, out);
}

/** Writes a finished drill's report, transcripts and replayable script; prints the grade; the exit code. */
function writeResult(result: TrainingResult, mode: 'sim' | 'live', outDir: string | undefined, out: (s: string) => void): number {
  const dir = outDir ?? join('reports', 'out', `train-${result.drill.name}`);
  const written = writeFilesAtomically(dir, {
    'train-report.json': trainReportJson(result, mode),
    'transcript.json': transcriptJson(result),
    'transcript.md': transcriptMarkdown(result),
    'session.txt': sessionScript(result),
  });
  const g = result.grade;
  out('');
  out(`Score ${g.score}/100: root cause ${g.rootCauseCorrect ? 'right' : 'not credited'}, fix ${result.fixed ? 'verified' : 'not verified'}${mode === 'live' ? ' on the live stack' : ''}, ${result.hintsUsed} hint${result.hintsUsed === 1 ? '' : 's'}, ${result.entries.length} commands in ${formatDurationMs(result.durationMs)} of the installation's time.`);
  for (const c of result.checks) out(`  ${c.passed ? 'ok  ' : 'FAIL'} ${c.check}: ${c.observed}`);
  for (const n of g.notes) out(`  ${n}`);
  out(`→ ${written.find((w) => w.endsWith('transcript.md')) ?? dir}`);
  return g.rootCauseCorrect && result.fixed ? 0 : 1;
}

/** A `nomad` on PATH (the lookup stays out of the live code: the mirror is loaded only when there is one). */
function nomadOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const file = join(dir === '' ? '.' : dir, 'nomad');
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  return undefined;
}

/** The real nomad CLI against the drill's cluster, loaded on demand (it pulls in the Nomad API server). */
async function startRealNomadCli(session: TrainingSession): Promise<RealNomadCli | undefined> {
  const binary = nomadOnPath();
  if (binary === undefined) return undefined;
  await beforeLiveImport();
  const { RealNomadCli } = await import('../../train/real-nomad-cli.ts');
  return RealNomadCli.start(session, binary);
}

function commandTime(text: string | undefined): number {
  if (text === undefined) return DEFAULT_COMMAND_MS;
  let ms: number;
  try {
    ms = parseDurationMs(text);
  } catch (e) {
    throw new CliError(`--command-time: ${(e as Error).message}`, 'for example --command-time 30s');
  }
  if (ms < 1000 || ms > MAX_COMMAND_MS) throw new CliError(`--command-time must be from 1s to ${formatDurationMs(MAX_COMMAND_MS)}, got ${text}`, 'for example --command-time 30s');
  return ms;
}

function listDrills(json: boolean, out: (s: string) => void): number {
  // Each drill with why `--mode live` refuses it (the first reason), if it does.
  const drills = drillFiles().map((f) => {
    const { drill } = loadDrill(f);
    return { drill, refused: liveBlockers(drill)[0] };
  });
  if (json) {
    out(JSON.stringify(drills.map(({ drill: d, refused }) => ({ name: d.name, title: d.title, difficulty: d.difficulty, ticket: d.ticket, live: refused === undefined, ...(refused ? { live_refused: refused } : {}) })), null, 2));
    return 0;
  }
  const width = Math.max(...drills.map(({ drill }) => drill.name.length));
  out(`${'DRILL'.padEnd(width)}  DIFFICULTY  LIVE  TITLE`);
  for (const { drill: d, refused } of drills) out(`${d.name.padEnd(width)}  ${d.difficulty.padEnd(10)}  ${(refused === undefined ? 'yes' : 'no').padEnd(4)}  ${d.title}`);
  out('\nRun one: twin train --drill NAME [--mode live]   (LIVE no: `twin train --drill NAME --mode live` says why)');
  return 0;
}

function summarise(args: ParsedArgs, out: (s: string) => void): number {
  const rows: SummaryRow[] = args.files.map((dir) => {
    const file = existsSync(dir) && statSync(dir).isDirectory() ? join(dir, 'train-report.json') : dir;
    let text: string;
    try {
      text = readBoundedFile(file, LIMITS.scenarioFileBytes);
    } catch (e) {
      if (e instanceof InputFileError) throw new CliError(`cannot read ${file}: ${e.message}`, 'name the --out directories of `twin train --drill` runs (each holds train-report.json)');
      throw e;
    }
    let report: TrainReport;
    try {
      report = JSON.parse(text) as TrainReport;
    } catch (e) {
      throw new CliError(`${file} is not JSON: ${(e as Error).message}`, 'name the --out directories of `twin train --drill` runs');
    }
    const missing = (['drill', 'score', 'root_cause_correct', 'fixed', 'hints_used', 'duration_ms', 'commands'] as const).filter((k) => !(k in report));
    if (missing.length > 0) throw new CliError(`${file} is not a train-report.json: it has no ${missing.join(', ')}`, 'name the --out directories of `twin train --drill` runs');
    return { source: basename(dir.replace(/\/+$/, '')) || dir, report };
  });
  const md = instructorSummaryMarkdown(rows);
  const json = instructorSummaryJson(rows);
  if (args.out !== undefined) writeFilesAtomically(args.out, { 'train-summary.md': md, 'train-summary.json': json });
  out(args.json ? json : md);
  return 0;
}
