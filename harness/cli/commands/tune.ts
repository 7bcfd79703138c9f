import { parse as parseYaml } from 'yaml';
import { CliError, type ParsedArgs } from '../args.ts';
import { beforeLiveImport } from '../runtime.ts';
import { Progress } from '../progress.ts';
import { writeFilesAtomically } from '../../io/write-files.ts';
import { loadScenarioFile, readBoundedFile } from '../../scenario/load.ts';
import { loadHtmlAssets } from '../../html-assets.ts';
import { baseDirOf, settleCell, type TuneCellTask } from '../../tune/cell.ts';
import { defaultJobs, runTasks } from '../../tune/pool.ts';
import { ScenarioError, type ScenarioIssue } from '../../../sim/scenario/parse.ts';
import { LIMITS } from '../../../sim/scenario/limits.ts';
import type { RawTune } from '../../../sim/scenario/schema.ts';
import { comparisonText, valueText, type Expectation } from '../../../sim/report/expectations.ts';
import { settleTuneExpectations, specAxes } from '../../../sim/tune/spec.ts';
import { checkAxes, checkRuns, gridCells, gridSize, parseSweep, randomCells, type CellParams, type SweepAxis } from '../../../sim/tune/sweep.ts';
import { checkSweepKey, cellText } from '../../../sim/tune/overrides.ts';
import { replicationSeed } from '../../../sim/tune/seeds.ts';
import { parseTargets, targetText, type Target } from '../../../sim/tune/targets.ts';
import { summariseTune, type QueueTimeSeries, type TuneCellResult, type TuneResult } from '../../../sim/tune/tune-result.ts';
import { renderTuneFiles } from '../../../reports/tune.ts';
import { formatMs } from '../../../reports/index.ts';
import type { CommandIo } from './conformance.ts';

/** A sweep as the command settled it from the flags: what `runTune` runs. */
export interface TunePlan {
  file: string;
  scenarioName: string;
  seed: number;
  sample: 'grid' | 'random';
  axes: SweepAxis[];
  cells: CellParams[];
  replications: number;
  targets: Target[];
  /** The file's `tune.expect` lines, checked against the result. */
  expect: Expectation[];
  tasks: TuneCellTask[];
  replay: string;
}

/** A shell word, quoted only when it needs to be (for the replay line). */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** Everything a sweep needs, checked before anything runs: the flags, the scenario, and every cell's scenario. */
export function planTune(args: ParsedArgs): TunePlan {
  if (args.files.length !== 1) throw new CliError(`twin tune takes one scenario file, got ${args.files.length}`, 'e.g. twin tune scenarios/tuning/fixed-fleet.yaml --sweep topology.nomad_clients.count=4,8,12');
  if (args.mode === 'live') throw new CliError('twin tune runs the simulation only', 'drop --mode live');
  // A TuneInputError thrown here is an input error at the CLI (exit 2, with its hint): main's describeError.
  const flagAxes: SweepAxis[] = args.sweep.map(parseSweep);
  if (flagAxes.length > 0) checkAxes(flagAxes);
  for (const a of flagAxes) checkSweepKey(a.key);
  const flagTargets: Target[] = parseTargets(args.targets);
  const file = args.files[0]!;
  const base = loadScenarioFile(file, { command: 'tune' });
  if (base.mode === 'live') throw new CliError(`${file}: mode: live: twin tune runs the simulation only`, 'remove `mode: live` (or set mode: sim)');
  const text = readBoundedFile(file, LIMITS.scenarioFileBytes);
  // The file's `tune` section (checked by the parse above) is the sweep when no flag says otherwise.
  const spec = (parseYaml(text) as { tune?: RawTune }).tune;
  const axes = flagAxes.length > 0 ? flagAxes : spec !== undefined ? specAxes(spec) : [];
  if (axes.length === 0) throw new CliError('nothing to sweep', `give --sweep key=v1,v2,..., e.g. --sweep topology.nomad_clients.count=8,12,16, or a \`tune: { sweep: ... }\` section in ${file}`);
  // The file's axes were checked with the file (its `tune.sweep`), the flags' above: both before the file's cells run.
  const targets: Target[] = args.targets.length > 0 ? flagTargets : parseTargets(spec?.targets ?? []);
  const sample = args.sample ?? spec?.sample ?? 'grid';
  const samples = args.samples ?? (args.sample === undefined ? spec?.samples : undefined);
  if (sample === 'random' && samples === undefined) throw new CliError('--sample random needs --samples N', `the grid has ${gridSize(axes)} cells; e.g. --samples ${Math.max(1, Math.min(20, Math.floor(gridSize(axes) / 2)))}`);
  if (sample === 'grid' && samples !== undefined) throw new CliError('--samples applies to --sample random', 'add --sample random, or drop --samples to run the whole grid');
  const seed = args.seed ?? base.seed;
  const replications = args.replications ?? spec?.replications ?? 1;
  const cells: CellParams[] = sample === 'random' ? randomCells(axes, samples!, seed) : gridCells(axes);
  checkRuns(cells.length, replications);
  const baseDir = baseDirOf(file);
  const tasks: TuneCellTask[] = [];
  cells.forEach((params, cellIndex) => {
    for (let replication = 0; replication < replications; replication++) {
      tasks.push({ scenarioText: text, baseDir, file, overrides: params, seed: replicationSeed(seed, params, replication), cellIndex, replication });
    }
  });
  // Every cell's scenario is checked here, before the first run: a bad value fails the call, not its 17th cell.
  const issues: ScenarioIssue[] = [];
  const seen = new Set<string>();
  for (const t of tasks) {
    if (t.replication !== 0) continue;
    try {
      settleCell(t);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      for (const i of e.issues) {
        const key = `${i.file}\n${i.field}\n${i.message.replace(/ \(in the cell .*\)$/, '')}`;
        if (!seen.has(key)) issues.push(i);
        seen.add(key);
      }
    }
  }
  if (issues.length > 0) throw new ScenarioError(issues);
  // The replay line repeats the flags given; what the file's `tune` section set, the file sets again.
  const replay = [
    'twin tune',
    shellWord(file),
    ...flagAxes.map((a) => `--sweep ${shellWord(`${a.key}=${a.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',')}`)}`),
    `--seed ${seed}`,
    ...(args.sample !== undefined || args.samples !== undefined ? [`--sample ${sample}${sample === 'random' ? ` --samples ${samples}` : ''}`] : []),
    ...(args.replications !== undefined ? [`--replications ${replications}`] : []),
    ...(args.targets.length > 0 ? [`--targets ${shellWord(args.targets.join(','))}`] : []),
  ].join(' ');
  return { file, scenarioName: base.name, seed, sample, axes, cells, replications, targets, expect: settleTuneExpectations(spec), tasks, replay };
}

/** Runs a plan's tasks on `jobs` worker threads (or on the queue of `--workers`) and summarises them; `onRun` sees the count as runs finish. */
export async function runTune(
  plan: TunePlan,
  jobs: number,
  onRun?: (done: number, total: number) => void,
  queue?: { url: string; workerTimeoutMs: number | undefined },
): Promise<{ result: TuneResult; series: Map<number, QueueTimeSeries> }> {
  const series = new Map<number, QueueTimeSeries>();
  const runs = queue === undefined ? await runTasks(plan.tasks, { jobs, onResult: (_r, done, total) => onRun?.(done, total) }) : await runOnTheQueue(plan, queue, onRun);
  // Replication 0 of each cell keeps its series (for the recommended cell's chart); the others' are dropped.
  const slim = runs.map((r) => {
    if (r.replication === 0) series.set(r.cellIndex, r.queue_time_series);
    return { ...r, queue_time_series: { bucket_ms: r.queue_time_series.bucket_ms, t_ms: [], mean_ms: [], max_ms: [] } };
  });
  const result = summariseTune(
    { scenario: plan.scenarioName, file: plan.file, seed: plan.seed, sample: plan.sample, gridCells: gridSize(plan.axes), replications: plan.replications, sweep: plan.axes, targets: plan.targets, expect: plan.expect, replay: plan.replay },
    plan.cells,
    slim,
  );
  return { result, series };
}

/**
 * The runs on the twin's queue (harness/distributed, `--workers REDIS_URL`), taken by `twin worker`s on any machine;
 * the results come back in task order, so the files are byte-identical to a local run's.
 */
async function runOnTheQueue(plan: TunePlan, q: { url: string; workerTimeoutMs: number | undefined }, onRun?: (done: number, total: number) => void): Promise<TuneCellResult[]> {
  await beforeLiveImport();
  const { runOnQueue } = await import('../../distributed/submit.ts');
  const { results } = await runOnQueue<TuneCellResult>({
    url: q.url,
    kind: 'tune-cell',
    tasks: plan.tasks,
    ...(q.workerTimeoutMs === undefined ? {} : { workerTimeoutMs: q.workerTimeoutMs }),
    onProgress: (finished, _started, total) => onRun?.(finished, total),
  });
  return results;
}

/**
 * `twin tune <scenario.yaml> --sweep key=v1,v2,...`: every cell is checked first, then the runs go to worker
 * threads; tune.json, tune.md and tune.html are written in one step once the last run is in.
 */
export async function tuneCommand(args: ParsedArgs, io: CommandIo): Promise<number> {
  const err = (s: string) => io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  const plan = planTune(args);
  if (args.workerTimeoutMs !== undefined && args.workers === undefined) throw new CliError('--worker-timeout applies only with --workers REDIS_URL', 'add --workers redis://HOST:PORT, or drop --worker-timeout');
  if (args.workers !== undefined && args.jobs !== undefined) throw new CliError('--jobs and --workers cannot be combined', '--jobs sets local worker threads; with --workers the runs go to `twin worker`s (each with --concurrency N)');
  const jobs = Math.min(args.jobs ?? defaultJobs(), plan.tasks.length);
  const queue = args.workers === undefined ? undefined : { url: args.workers, workerTimeoutMs: args.workerTimeoutMs };
  err(
    `twin: tune ${plan.scenarioName}: ${plan.cells.length} cell${plan.cells.length === 1 ? '' : 's'}${plan.sample === 'random' ? ` (drawn from ${gridSize(plan.axes)})` : ''} × ${plan.replications} replication${plan.replications === 1 ? '' : 's'} = ${plan.tasks.length} runs on ${queue !== undefined ? 'the queue of `--workers`' : `${jobs} ${jobs === 1 ? 'thread' : 'worker threads'}`}, seed ${plan.seed}` +
      (plan.targets.length > 0 ? `, targets ${plan.targets.map(targetText).join(',')}` : ''),
  );
  const progress = new Progress(io.stderr, `  ${plan.scenarioName}`, !args.quiet);
  const started = performance.now();
  const { result, series } = await runTune(plan, jobs, (done, total) => {
    const elapsed = performance.now() - started;
    const eta = done < total ? `, about ${formatMs(Math.round((elapsed / done) * (total - done)))} left` : '';
    progress.update(done, total, `${done}/${total} runs${eta}`);
  }, queue);
  progress.done(`${plan.tasks.length} runs in ${formatMs(Math.round(performance.now() - started))}`);
  const outDir = args.out ?? `reports/out/tune-${plan.scenarioName}`;
  const recommendedSeries = result.recommended === null ? undefined : series.get(result.recommended.cell);
  writeFilesAtomically(outDir, renderTuneFiles(result, { assets: loadHtmlAssets(), recommendedSeries }));
  if (args.json) io.stdout.write(`${JSON.stringify({ ...result, out: outDir }, null, 2)}\n`);
  else io.stdout.write(`${summaryLines(result, outDir).join('\n')}\n`);
  return (plan.targets.length > 0 && result.recommended === null) || !result.passed ? 1 : 0;
}

function summaryLines(r: TuneResult, outDir: string): string[] {
  const lines: string[] = [];
  const rec = r.recommended;
  if (rec === null) lines.push(`NONE ${r.scenario}: ${r.recommended_because} → ${outDir}/tune.json`);
  else {
    const cell = r.cells[rec.cell]!;
    lines.push(
      `BEST ${r.scenario}: cell ${rec.cell} (${cellText(rec.params)}): ${rec.cost_per_day.toFixed(2)} USD/day (machines ${cell.cost.machines_per_day.toFixed(2)}, waiting ${cell.cost.waiting_per_day.toFixed(2)}), p95 queue ${formatMs(rec.queue_time_ms_p95)} → ${outDir}/tune.json`,
    );
  }
  lines.push(`  Pareto front (cost per day against p95 queue time): ${r.pareto.map((p) => `cell ${p.cell} ${p.cost_per_day.toFixed(2)} USD ${formatMs(p.queue_time_ms_p95)}`).join('; ')}`);
  lines.push(`  ${r.recommended_because}`);
  for (const e of r.expectations) lines.push(`  ${e.passed ? 'pass' : 'FAIL'} tune.expect ${e.metric} ${comparisonText(e.op, e.expected)}: actual ${valueText(e.actual)}${e.error ? ` (${e.error})` : ''}`);
  lines.push(`  Rerun: ${r.replay}`);
  return lines;
}
