import { join } from 'node:path';
import { Progress } from '../progress.ts';
import { writeFilesAtomically } from '../../io/write-files.ts';
import { fixtureContext } from '../../scenario/load.ts';
import { loadProfile, DEFAULT_VERSION } from '../../../fixtures/load.ts';
import { CONFORMANCE_PROTOCOL, conformanceScenarios, runConformance, type ConformanceRow } from '../../../sim/conformance/conformance.ts';
import { conformanceJson, conformanceJunit, conformanceMarkdown, type ConformanceMeta } from '../../../reports/conformance.ts';
import { formatDurationMs } from '../../../sim/util/duration.ts';

/** Where a command writes; the CLI's `CliIo` fits. */
export interface CommandIo {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

export interface ConformanceArgs {
  version?: string | undefined;
  out?: string | undefined;
  seed?: number | undefined;
  quiet: boolean;
  /** Print conformance.json (with `passed` and where the files went) on stdout instead of the matrix. */
  json?: boolean;
}

/**
 * `twin conformance [--version V] [--out DIR] [--seed N]`: the severity matrix of one version profile.
 * Writes conformance.json, conformance.md, junit.xml and the row scenarios (scenarios/*.yaml, for `twin run`)
 * all or nothing; prints the matrix (or with --json the conformance.json document); exits 0 when every row matches, 1 otherwise. Unknown versions throw FixtureError (exit 2 at
 * the CLI boundary).
 */
export async function conformanceCommand(args: ConformanceArgs, io: CommandIo): Promise<number> {
  const out = (s: string) => io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  const err = (s: string) => io.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
  const version = args.version ?? DEFAULT_VERSION;
  const seed = args.seed ?? 1;
  const profile = loadProfile(version);
  const dir = args.out ?? join('reports', 'out', `conformance-${version}`);
  const scenarioDir = join(dir, 'scenarios');
  const context = fixtureContext();
  const p = CONFORMANCE_PROTOCOL;
  const protocol = `kill at ${formatDurationMs(p.killAtMs)}, restart at ${formatDurationMs(p.killAtMs + p.outageMs)}, ${formatDurationMs(p.durationMs)} of the standard workload`;
  err(`twin conformance: version ${version}, seed ${seed}; ${protocol}`);

  const progress = new Progress(io.stderr as NodeJS.WriteStream, '  conformance', !args.quiet);
  const rows = runConformance(profile, { seed, context, scenarioDir, onProgress: (done, total, label) => progress.update(done, total, label) });
  progress.done();

  const meta: ConformanceMeta = { version, seed, protocol };
  const files: Record<string, string> = {
    'conformance.json': conformanceJson(rows, meta),
    'conformance.md': conformanceMarkdown(rows, meta),
    'junit.xml': conformanceJunit(rows, meta),
  };
  for (const s of conformanceScenarios(profile, { seed, context, scenarioDir })) files[`scenarios/${s.scenario.name}.yaml`] = s.yaml;
  writeFilesAtomically(dir, files);

  const matched = rows.filter((r) => r.match).length;
  if (args.json) {
    out(JSON.stringify({ passed: matched === rows.length, ...(JSON.parse(files['conformance.json']!) as object), report: join(dir, 'conformance.md') }, null, 2));
    return matched === rows.length ? 0 : 1;
  }
  for (const line of matrixLines(rows)) out(line);
  out(`${matched === rows.length ? 'PASS' : 'FAIL'} conformance ${version}: ${matched} of ${rows.length} rows match → ${join(dir, 'conformance.md')}`);
  return matched === rows.length ? 0 : 1;
}

/** One line per row: ✅/❌, container (condition), documented → observed, and for a mismatch why (the first observation, or the effect not seen). */
export function matrixLines(rows: readonly ConformanceRow[]): string[] {
  const width = Math.max(0, ...rows.map((r) => `${r.container} (${r.condition})`.length));
  return rows.map((r) => {
    const head = `${r.match ? '✅' : '❌'} ${`${r.container} (${r.condition})`.padEnd(width)}  documented ${r.documented.padEnd(8)} observed ${r.observed}`;
    if (r.match) return head;
    return `${head}: ${r.documented === r.observed ? `documented effect (${r.effect.views.join(', ')}) not seen` : (r.observations[0] ?? '')}`;
  });
}
