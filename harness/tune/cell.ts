import { dirname, join, resolve } from 'node:path';
import { loadProfile } from '../../fixtures/load.ts';
import { parseScenario, ScenarioError } from '../../sim/scenario/parse.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { runScenarioDetailed } from '../../sim/run.ts';
import { LIMITS } from '../../sim/scenario/limits.ts';
import { applyOverrides, sweepIssues } from '../../sim/tune/overrides.ts';
import { cellResultFromRun, type TuneCellResult } from '../../sim/tune/tune-result.ts';
import { fixtureContext, readBoundedFile, readTraceBeside } from '../scenario/load.ts';

export type { TuneCellResult } from '../../sim/tune/tune-result.ts';

/**
 * One run of one cell of a sweep, as plain JSON: it crosses a worker thread or a queue (BullMQ's `twin worker`)
 * unchanged. The scenario travels as its text (with the folder it came from, for trace files beside it) or as a
 * path to read; `seed` is the run's own root seed, already derived from the sweep's seed, cell and replication.
 */
export interface TuneCellTask {
  /** The scenario file's text; or give `path`. */
  scenarioText?: string;
  /** A scenario file to read (relative to `baseDir`, else to the current directory) when there is no text. */
  path?: string;
  /** The folder the scenario came from: its name in messages, and where trace files it names are read. */
  baseDir?: string;
  /** The file name to show in messages (default `path`, else `scenario.yaml` in `baseDir`). */
  file?: string;
  /** Dotted scenario keys and the values this cell sets. */
  overrides: Record<string, unknown>;
  seed: number;
  cellIndex: number;
  replication: number;
}

/** Where a task's scenario is: its text and the path trace files are read beside. */
function source(task: TuneCellTask): { text: string; file: string; at: string } {
  const base = task.baseDir ?? '.';
  if (task.scenarioText !== undefined) {
    const at = task.path !== undefined ? resolve(base, task.path) : join(resolve(base), 'scenario.yaml');
    return { text: task.scenarioText, file: task.file ?? task.path ?? at, at };
  }
  if (task.path === undefined) throw new Error('a tune cell task needs scenarioText or path');
  const at = resolve(base, task.path);
  let text: string;
  try {
    text = readBoundedFile(at, LIMITS.scenarioFileBytes);
  } catch (e) {
    throw new ScenarioError([{ file: task.file ?? task.path, line: 1, column: 1, field: '', message: (e as Error).message, hint: (e as { hint?: string }).hint ?? 'check the path' }]);
  }
  return { text, file: task.file ?? task.path, at };
}

/**
 * The cell's scenario: the text with the overrides applied, parsed and checked exactly as `twin run` would, with
 * the run's seed. Problems on a swept field are named by their `--sweep key=value`. Throws ScenarioError.
 */
export function settleCell(task: TuneCellTask): SettledScenario {
  const { text, file, at } = source(task);
  const cellText = applyOverrides(text, task.overrides);
  let settled: SettledScenario;
  try {
    settled = parseScenario(cellText, file, fixtureContext((p) => readTraceBeside(at, p), 'run'));
  } catch (e) {
    if (e instanceof ScenarioError) throw new ScenarioError(sweepIssues(e.issues, task.overrides));
    throw e;
  }
  settled.seed = task.seed;
  settled.mode = 'sim';
  return settled;
}

/** Runs one replication of one cell in the simulation and reduces it to a TuneCellResult. */
export async function runTuneCell(task: TuneCellTask): Promise<TuneCellResult> {
  const scenario = settleCell(task);
  const { report, timeline } = runScenarioDetailed(scenario, loadProfile(scenario.version));
  return cellResultFromRun(report, timeline, { cellIndex: task.cellIndex, replication: task.replication, seed: task.seed, params: task.overrides });
}

/** The folder of a scenario file, for `TuneCellTask.baseDir`. */
export function baseDirOf(path: string): string {
  return dirname(resolve(path));
}
