import { describe, expect, it } from 'vitest';
import { planStartup } from './startup.ts';
import { loadProfile } from '../../../fixtures/load.ts';

describe('planStartup', () => {
  const profile = loadProfile('2.19.6');

  it('starts every container once, after all its startup dependencies', () => {
    const plan = planStartup(profile, new Set());
    const order = plan.waves.flat();
    expect([...order].sort()).toEqual(profile.containers.map((c) => c.name).sort());
    const position = new Map(plan.waves.flatMap((wave, i) => wave.map((n) => [n, i] as const)));
    for (const c of profile.containers) for (const d of c.startup_dependencies) expect(position.get(d)!, `${c.name} after ${d}`).toBeLessThan(position.get(c.name)!);
    expect(plan).toMatchObject({ failed: [], systemStarted: true });
  });

  it('a migrator failing at startup takes down exactly the containers that depend on it, transitively', () => {
    const plan = planStartup(profile, new Set(['contexts-service-migrator']));
    expect(plan.failed.map((f) => f.name).sort()).toEqual(['api-service', 'contexts-service', 'contexts-service-migrator']);
    expect(plan.failed.find((f) => f.name === 'api-service')!.reason).toMatch(/startup dependency (contexts-service|contexts-service-migrator) did not start/);
  });

  it('postgres failing at startup takes down everything that needs it', () => {
    const failed = new Set(planStartup(profile, new Set(['postgres'])).failed.map((f) => f.name));
    for (const c of profile.containers) if (c.startup_dependencies.includes('postgres')) expect(failed.has(c.name), c.name).toBe(true);
    expect(failed.has('redis')).toBe(false);
  });

  it('without ready-agent the whole system fails to start', () => {
    const plan = planStartup(profile, new Set(['ready-agent']));
    expect(plan.systemStarted).toBe(false);
    expect(plan.failed).toHaveLength(profile.containers.length);
  });
});
