import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadProfile } from '../../fixtures/load.ts';
import { containerNames, findContainer } from '../../fixtures/lookup.ts';
import type { Profile } from '../../fixtures/schema.ts';
import { parseScenario, ScenarioError, type ScenarioContext } from '../../sim/scenario/parse.ts';
import type { SettledResourceClass, SettledScenario } from '../../sim/scenario/settled.ts';
import { faultSupport } from '../../sim/faults/injector.ts';

/** The resource classes the twin knows for a profile: the default class, then the example's other classes. */
export function profileResourceClasses(profile: Profile): SettledResourceClass[] {
  const rc = profile.resource_classes;
  const out: SettledResourceClass[] = [{ name: rc.default.name, executor: 'docker', cpuMilli: Math.round(rc.default.cpu * 1000), memoryMb: rc.default.ram_mb }];
  for (const c of rc.example) {
    // The running install's medium is the default class (2 CPU / 4096 MB per picard-dispatcher's log); the
    // example's medium is a customisation users opt into through topology.resource_classes.
    if (c.executor === 'docker' && c.name === rc.default.name) continue;
    // What Nomad schedules is the outer task: for machine jobs a small agent, the VM carries the real size.
    out.push({ name: c.name, executor: c.executor, cpuMilli: Math.round(c.outer_cpu * 1000), memoryMb: c.outer_ram_mb });
  }
  return out;
}

/** A scenario context backed by the fixtures on disk. */
export function fixtureContext(readFile?: (path: string) => string, command?: 'run' | 'dr'): ScenarioContext {
  const profile = (v: string) => loadProfile(v);
  return {
    resolveContainer: (v, name) => findContainer(profile(v), name)?.name,
    containerNames: (v) => containerNames(profile(v)),
    resourceClasses: (v) => profileResourceClasses(profile(v)),
    defaultResourceClass: (v) => profile(v).resource_classes.default.name,
    faultSupport,
    ...(command ? { command } : {}),
    ...(readFile ? { readFile } : {}),
  };
}

/** Reads, validates and settles a scenario file; `seed` overrides the file's seed. Throws ScenarioError. */
export function loadScenarioFile(file: string, overrides: { seed?: number | undefined; mode?: 'sim' | 'live' | undefined; command?: 'run' | 'dr' } = {}): SettledScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`, hint: 'check the path (relative to the current directory)' }]);
  }
  const base = dirname(resolve(file));
  const settled = parseScenario(text, file, fixtureContext((p) => readFileSync(resolve(base, p), 'utf8'), overrides.command));
  if (overrides.seed !== undefined) settled.seed = overrides.seed;
  if (overrides.mode !== undefined) settled.mode = overrides.mode;
  return settled;
}
