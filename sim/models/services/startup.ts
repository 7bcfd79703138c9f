import type { Profile } from '../../../fixtures/schema.ts';

/** The outcome of starting the Services machine's containers. */
export interface StartupPlan {
  /** Containers in start order: waves whose startup dependencies are all in earlier waves. */
  waves: string[][];
  /** Containers that did not come up, each with why. */
  failed: { name: string; reason: string }[];
  /** False when the whole system failed to start (ready-agent missing). */
  systemStarted: boolean;
}

/**
 * Starts the containers in the order of the table's startup dependencies. A container that fails at startup
 * takes down every container that (transitively) depends on it: "if migrator services are down at startup
 * connected services will fail". ready-agent gates the whole system: Replicated waits for its 200, so without
 * it "the whole system will fail".
 */
export function planStartup(profile: Profile, failing: ReadonlySet<string>): StartupPlan {
  const deps = new Map(profile.containers.map((c) => [c.name, c.startup_dependencies] as const));
  const waves: string[][] = [];
  const placed = new Set<string>();
  let remaining = profile.containers.map((c) => c.name);
  while (remaining.length > 0) {
    const wave = remaining.filter((n) => deps.get(n)!.every((d) => placed.has(d)));
    if (wave.length === 0) throw new Error(`startup dependencies have a cycle among ${remaining.join(', ')}`);
    wave.sort();
    waves.push(wave);
    for (const n of wave) placed.add(n);
    remaining = remaining.filter((n) => !placed.has(n));
  }

  const failed: { name: string; reason: string }[] = [];
  if (failing.has('ready-agent')) {
    for (const wave of waves) for (const name of wave) failed.push({ name, reason: name === 'ready-agent' ? 'failed at startup' : 'ready-agent unavailable at startup: the whole system fails to start' });
    return { waves, failed, systemStarted: false };
  }
  const down = new Map<string, string>();
  for (const wave of waves) {
    for (const name of wave) {
      if (failing.has(name)) down.set(name, 'failed at startup');
      else {
        const dep = deps.get(name)!.find((d) => down.has(d));
        if (dep !== undefined) down.set(name, `its startup dependency ${dep} did not start`);
      }
    }
  }
  for (const wave of waves) for (const name of wave) if (down.has(name)) failed.push({ name, reason: down.get(name)! });
  return { waves, failed, systemStarted: true };
}
