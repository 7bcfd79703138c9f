import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../../harness/scenario/load.ts';
import { planReplay } from '../workload/replay-plan.ts';
import { buildersReach, planLiveDr, pushPhase } from './live-plan.ts';

describe('planLiveDr', () => {
  const scenario = loadScenarioFile('scenarios/dr/ebs-snapshot-restore.yaml', { command: 'dr' });

  it('acts out the window around the last backup before the disaster, with the simulation\'s own pushes', () => {
    const plan = planLiveDr(scenario);
    expect(plan).toMatchObject({ snapshotAtMs: 3 * 3_600_000, disasterAtMs: 190 * 60_000, windowStartMs: 170 * 60_000, recoveryAtMs: 195 * 60_000, timeScale: 60 });
    const all = planReplay(scenario).filter((w) => w.source === 'push');
    expect(plan.pushes.map((w) => w.atMs)).toEqual(all.filter((w) => w.atMs >= plan.windowStartMs).map((w) => w.atMs));
    expect(plan.pushes.length).toBeGreaterThan(0);
  });

  it('takes no backup at the instant of the disaster: the one before it', () => {
    const at3h = { ...scenario, disaster: { ...scenario.disaster!, atMs: 3 * 3_600_000 } };
    expect(planLiveDr(at3h).snapshotAtMs).toBe(2 * 3_600_000);
    const early = { ...scenario, disaster: { ...scenario.disaster!, atMs: 30 * 60_000 } };
    expect(() => planLiveDr(early)).toThrow('no backup is due before the disaster');
  });

  it('acts out the last two backups before a region outage (the last one\'s copy may not be complete), the window as long before the first', () => {
    const plan = planLiveDr(loadScenarioFile('scenarios/dr/region-outage-copied-snapshots.yaml', { command: 'dr' }));
    expect(plan).toMatchObject({ backupsAtMs: [2 * 3_600_000, 3 * 3_600_000], snapshotAtMs: 3 * 3_600_000, disasterAtMs: 190 * 60_000, windowStartMs: 110 * 60_000 });
    expect(planLiveDr(scenario).backupsAtMs).toEqual([3 * 3_600_000]);
  });

  it('puts the replica\'s state at `lag` before the disaster, the window as long again before it', () => {
    const plan = planLiveDr(loadScenarioFile('scenarios/dr/cold-failover-az-outage.yaml', { command: 'dr' }));
    expect(plan).toMatchObject({ snapshotAtMs: 190 * 60_000 - 30_000, disasterAtMs: 190 * 60_000, windowStartMs: 189 * 60_000, recoveryAtMs: 195 * 60_000 });
  });

  it('puts a push before the snapshot, between it and the disaster, in the outage, or after the restore', () => {
    const plan = planLiveDr(scenario);
    expect(pushPhase(plan, plan.snapshotAtMs - 1, false)).toBe('before_snapshot');
    expect(pushPhase(plan, plan.snapshotAtMs, false)).toBe('after_snapshot');
    expect(pushPhase(plan, plan.disasterAtMs, false)).toBe('outage');
    expect(pushPhase(plan, plan.disasterAtMs + 1, true)).toBe('after_restore');
  });

  it('lets builders reach a Services machine that holds the address they dial and whose replicated defaults name its primary IP', () => {
    const same = { appRunning: true, primaryIp: '10.0.0.5', secondaryIp: undefined, replicatedIp: '10.0.0.5', dialIp: '10.0.0.5' };
    expect(buildersReach(same)).toBe(true);
    expect(buildersReach({ ...same, appRunning: false })).toBe(false);
    // A new IP with the old one re-associated: reached once /etc/default/replicated names the new primary.
    const moved = { ...same, primaryIp: '10.0.0.9', secondaryIp: '10.0.0.5' };
    expect(buildersReach(moved)).toBe(false);
    expect(buildersReach({ ...moved, replicatedIp: '10.0.0.9' })).toBe(true);
    // Without the re-association the builders dial an address nobody holds.
    expect(buildersReach({ ...moved, secondaryIp: undefined, replicatedIp: '10.0.0.9' })).toBe(false);
  });
});
