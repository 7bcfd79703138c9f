import type { Profile } from '../../fixtures/schema.ts';
import type { SettledResourceClass } from '../../sim/scenario/settled.ts';

// A module of its own, without the scenario reader (YAML, zod, the parser): `twin up`'s supervisor and
// picard-dispatcher's thread use only this of it.

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
