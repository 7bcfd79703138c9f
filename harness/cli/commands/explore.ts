import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { CliError } from '../args.ts';
import { Progress } from '../progress.ts';
import { beforeLiveImport } from '../runtime.ts';
import { writeFilesAtomically } from '../../io/write-files.ts';
import { fixtureContext, loadScenarioFile } from '../../scenario/load.ts';
import { loadProfile } from '../../../fixtures/load.ts';
import { explore, faultText, reproducerExpectations, reproducerYaml, type ExploreResult } from '../../../sim/explore/explore.ts';
import { INVARIANTS } from '../../../sim/explore/invariants.ts';
import type { CommandIo } from './conformance.ts';
import type { Profile } from '../../../fixtures/schema.ts';
import type { ScenarioContext } from '../../../sim/scenario/parse.ts';
import type { SettledScenario } from '../../../sim/scenario/settled.ts';

export interface ExploreArgs {
  files: string[];
  runs?: number | undefined;
  seed?: number | undefined;
  out?: string | undefined;
  quiet: boolean;
  /** Print explore.json on stdout instead of the summary lines. */
  json?: boolean;
  /** Run the schedules on the twin's queue in this Redis (`twin worker <url>` takes them). */
  workers?: string | undefined;
  /** With `workers`: how long to wait while no worker is connected. */
  workerTimeoutMs?: number | undefined;
}

/** Schedules explored when `--runs` is not given. */
export const DEFAULT_RUNS = 100;

/**
 * `twin explore <scenario.yaml> --runs N [--seed S] [--out DIR]`: random fault schedules against the scenario's
 * workload, checked against the invariants of sim/explore/invariants.ts. Exit 0 when every schedule kept every
 * invariant, 1 when one failed (the minimal schedule is printed with its replay commands and written as a
 * scenario file). A bad file throws ScenarioError (exit 2 at the CLI boundary).
 *
 * `--seed` is the exploration's seed (which schedules are drawn); the simulation seed stays the scenario's, so
 * that one baseline serves every schedule. Without `--seed` a fresh seed is drawn and printed.
 */
export async function exploreCommand(args: ExploreArgs, io: CommandIo): Promise<number> {
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  const err = (s: string) => io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  const [file, ...extra] = args.files;
  if (file === undefined || extra.length > 0) throw new CliError('`twin explore` takes exactly one scenario file', 'for example: twin explore scenarios/baseline.yaml --runs 1000');
  if (args.workerTimeoutMs !== undefined && args.workers === undefined) throw new CliError('--worker-timeout applies only with --workers REDIS_URL', 'add --workers redis://HOST:PORT, or drop --worker-timeout');
  // A bad queue URL is refused before anything runs (an unreachable one when the queue is first used).
  if (args.workers !== undefined) {
    await beforeLiveImport();
    (await import('../../distributed/connection.ts')).queueRedis(args.workers);
  }
  const scenario = loadScenarioFile(file, { command: 'run' });
  scenario.mode = 'sim';
  const profile = loadProfile(scenario.version);
  const runs = args.runs ?? DEFAULT_RUNS;
  const seed = args.seed ?? freshSeed();
  const dir = args.out ?? join('reports', 'out', `explore-${scenario.name}`);
  const replay = `twin explore ${file} --runs ${runs} --seed ${seed}`;
  err(`twin explore: ${scenario.name}: version ${scenario.version}, simulation seed ${scenario.seed}, exploration seed ${seed}, ${runs} schedules of 1–4 faults`);

  const progress = new Progress(io.stderr as NodeJS.WriteStream, `  ${scenario.name}`, !args.quiet);
  const t0 = performance.now();
  const onProgress = (done: number, total: number) => progress.update(Math.min(done, total), total, `${done} schedules`);
  const result = args.workers === undefined ? explore(scenario, profile, { runs, seed, context: fixtureContext(), onProgress }) : await exploreOnQueue(scenario, profile, { url: args.workers, workerTimeoutMs: args.workerTimeoutMs, runs, seed, context: fixtureContext(), progress, err });
  const seconds = (performance.now() - t0) / 1000;
  progress.done();
  const rate = seconds > 0 ? Math.round((result.schedulesRun / seconds) * 60) : 0;
  err(`  ${result.kinds.length} fault kinds (${[...new Set(result.kinds.map((k) => k.action))].join(', ')}) over ${new Set(result.kinds.map((k) => k.target)).size} targets; ${result.schedulesRun} schedules in ${seconds.toFixed(1)} s (${rate} per minute)`);

  const summary = summaryJson(result, replay);
  if (result.failure === undefined) {
    writeFilesAtomically(dir, { 'explore.json': summary(undefined) });
    if (args.json) {
      out(summary(undefined));
      return 0;
    }
    out(`PASS explore ${scenario.name}: ${result.schedulesRun} schedules, every invariant held (${result.invariants.join(', ')}); seed ${seed}`);
    return 0;
  }

  const f = result.failure;
  const name = `${scenario.name}-explore-${seed}`;
  const written = join(dir, `${name}.yaml`);
  const text = readFileSync(file, 'utf8');
  const expect = reproducerExpectations(f, result.baseline, INVARIANTS);
  const yaml = reproducerYaml(text, {
    name,
    seed: scenario.seed,
    schedule: f.schedule,
    expect,
    comment: [
      `Minimal fault schedule found by \`twin explore\` (exploration seed ${seed}, fast-check path ${f.path}) in ${file}.`,
      `Violated: ${f.violations.map((v) => v.invariant).join(', ')}.${expect.length > 0 ? " The expectations below restate it with the baseline's numbers, so `twin run` fails the same way." : ''}`,
      `Replay the search: ${replay}`,
      `Run this schedule: twin run ${written}`,
    ],
    ...traceOverride(text, file, dir),
  });
  writeFilesAtomically(dir, { [`${name}.yaml`]: yaml, 'explore.json': summary(written) });
  if (args.json) {
    out(summary(written));
    return 1;
  }

  out(`FAIL explore ${scenario.name}: an invariant failed after ${result.schedulesRun} schedules (shrunk ${f.shrinks} times from ${f.original.length} to ${f.schedule.length} faults)`);
  for (const v of f.violations) {
    out(`  ✗ ${v.invariant}`);
    for (const b of v.because) out(`      ${b}`);
  }
  out('  minimal schedule:');
  for (const fault of f.schedule) out(`    - ${faultText(fault)}`);
  out(`  seed ${seed}, path ${f.path}`);
  out(`  Replay: ${replay}`);
  out(`  Run the minimal schedule: twin run ${written}`);
  return 1;
}

/**
 * The exploration with its schedules run by `twin worker`s on the queue at `url` (harness/distributed); the result
 * is the one `explore` gives here. Progress shows the queued schedules; a line says what the queue did.
 */
async function exploreOnQueue(
  scenario: SettledScenario,
  profile: Profile,
  o: { url: string; workerTimeoutMs: number | undefined; runs: number; seed: number; context: ScenarioContext; progress: Progress; err: (s: string) => void },
): Promise<ExploreResult> {
  const { exploreOnQueue: onQueue } = await import('../../distributed/explore-tasks.ts');
  const { queueRedis } = await import('../../distributed/connection.ts');
  o.err(`  queueing ${o.runs} schedules and the baseline on ${queueRedis(o.url).redacted}; \`twin worker ${queueRedis(o.url).redacted}\` on any machine runs them`);
  const r = await onQueue(scenario, profile, {
    url: o.url,
    ...(o.workerTimeoutMs === undefined ? {} : { workerTimeoutMs: o.workerTimeoutMs }),
    runs: o.runs,
    seed: o.seed,
    context: o.context,
    onQueueProgress: (done, total, started) => o.progress.update(done, total, `${done} schedules run by workers (${started} tasks taken)`),
  });
  o.progress.clear();
  o.err(`  the queue ran ${r.queued} schedules${r.retried > 0 ? ` (${r.retried} task${r.retried === 1 ? '' : 's'} retried after a worker left ${r.retried === 1 ? 'it' : 'them'}, each counted once)` : ''}; ${r.local} run here while shrinking`);
  return r.result;
}

/** A seed for an exploration without `--seed`: it differs between calls, and is printed so any run can be replayed. */
function freshSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 2 ** 32)) >>> 0;
}

/** A trace arrivals file is named relative to the scenario: point the reproducer at the same file from its own directory. */
function traceOverride(text: string, file: string, dir: string): { traceFile?: string } {
  const doc = parseDocument(text);
  if (doc.getIn(['workload', 'arrivals', 'kind']) !== 'trace') return {};
  const trace = doc.getIn(['workload', 'arrivals', 'file']);
  if (typeof trace !== 'string') return {};
  return { traceFile: relative(resolve(dir), resolve(dirname(file), trace)) };
}

function summaryJson(result: ExploreResult, replay: string): (written: string | undefined) => string {
  return (written) => {
    const f = result.failure;
    const doc = {
      scenario: result.scenario,
      seed: result.seed,
      runs: result.runs,
      schedules_run: result.schedulesRun,
      passed: f === undefined,
      invariants: result.invariants,
      fault_kinds: result.kinds.map((k) => `${k.action} ${k.target}`),
      replay,
      ...(f === undefined
        ? {}
        : {
            failure: {
              violations: f.violations,
              schedule: f.schedule.map(faultText),
              original: f.original.map(faultText),
              shrinks: f.shrinks,
              path: f.path,
              ...(f.error === undefined ? {} : { error: f.error }),
              ...(written === undefined ? {} : { scenario_file: written, run: `twin run ${written}` }),
            },
          }),
    };
    return `${JSON.stringify(doc, null, 2)}\n`;
  };
}
