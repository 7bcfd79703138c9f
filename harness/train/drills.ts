import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_VERSION, loadProfile } from '../../fixtures/load.ts';
import type { Profile } from '../../fixtures/schema.ts';
import { parseDrill, type SettledDrill } from '../../sim/training/drill.ts';
import { ScenarioError } from '../../sim/scenario/parse.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { LIMITS, truncateEcho } from '../../sim/scenario/limits.ts';
import { suggest } from '../../sim/util/suggest.ts';
import { fixtureContext, InputFileError, loadScenarioFile, readBoundedFile } from '../scenario/load.ts';
import { CliError } from '../cli/args.ts';

/** Where the drills are: one YAML file per drill (fixtures/drills/README.md describes the format). */
export const DRILLS_DIR = fileURLToPath(new URL('../../fixtures/drills/', import.meta.url));

/** A drill ready to run: the drill, its installation (a settled scenario, seed applied) and the version profile. */
export interface LoadedDrill {
  drill: SettledDrill;
  installation: SettledScenario;
  profile: Profile;
}

/** The drill files shipped, sorted by name. */
export function drillFiles(dir = DRILLS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
}

/** The file of a drill named on the command line: a name from fixtures/drills, or a path to a drill file. */
export function drillFile(nameOrPath: string, dir = DRILLS_DIR): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.yaml')) return nameOrPath;
  const file = join(dir, `${nameOrPath}.yaml`);
  if (existsSync(file)) return file;
  const names = drillFiles(dir).map((f) => basename(f, '.yaml'));
  const s = suggest(nameOrPath, names);
  throw new CliError(`no drill \`${truncateEcho(nameOrPath)}\`${s ? `; did you mean \`${s}\`?` : ''}`, `the drills: ${names.join(', ')} (twin train --list)`);
}

function lineOf(text: string, key: string): { line: number; column: number } {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`${key}:`));
  return i < 0 ? { line: 1, column: 1 } : { line: i + 1, column: key.length + 3 };
}

/**
 * Reads and checks a drill file and its installation; throws ScenarioError with every problem located (in the
 * drill file, or in the installation's scenario file for its own problems). `seed` overrides the installation's.
 */
export function loadDrill(file: string, seed?: number): LoadedDrill {
  let text: string;
  try {
    text = readBoundedFile(file, LIMITS.scenarioFileBytes);
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    throw new ScenarioError([{ file: truncateEcho(file), line: 1, column: 1, field: '', message: e.message, hint: e.message === 'no such file' ? 'check the path, or name a drill of `twin train --list`' : e.hint }]);
  }
  const ctx = fixtureContext();
  const parseFor = (version: string) => parseDrill(text, file, { scenario: ctx, version, hasHealth: (c) => loadProfile(version).containers.some((x) => x.name === c && x.health !== undefined) });
  let drill = parseFor(DEFAULT_VERSION);
  const installationFile = resolve(dirname(file), drill.installation);
  const at = lineOf(text, 'installation');
  if (!existsSync(installationFile)) throw new ScenarioError([{ file, ...at, field: 'installation', message: `no scenario file \`${truncateEcho(drill.installation)}\` (relative to the drill file)`, hint: 'name the healthy installation\'s scenario, e.g. ../../scenarios/training/small-team.yaml' }]);
  const installation = loadScenarioFile(installationFile, { seed, command: 'run' });
  const problems: string[] = [];
  if (installation.faults.length > 0) problems.push('the installation has faults of its own: a drill\'s hidden fault goes in the drill\'s `faults`');
  if (installation.mode !== 'sim') problems.push('the installation runs live (`mode: live`): drills run in the simulation');
  if (drill.changes.some((c) => c.kind === 'asg') && installation.autoscaling === undefined) problems.push('the drill changes the Auto Scaling Group (`changes: - asg:`) and the installation has none: give it `autoscaling:`');
  const endMs = drill.startsAtMs + 500 * 30_000;
  if (installation.durationMs < drill.startsAtMs + drill.verify.withinMs) problems.push(`the installation's duration (${installation.durationMs} ms) ends before the trainee logs in and the fix is verified`);
  if (problems.length > 0) throw new ScenarioError(problems.map((message) => ({ file, ...at, field: 'installation', message, hint: `the installation should run healthy for the session (until about ${Math.round(endMs / 3_600_000)}h)` })));
  if (installation.version !== DEFAULT_VERSION) drill = parseFor(installation.version);
  return { drill, installation, profile: loadProfile(installation.version) };
}
