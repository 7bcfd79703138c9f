/**
 * `twin dr scenarios/dr/cold-failover-az-outage.yaml --mode live`: a replica in another zone holding the primary's
 * stores 30 s (scenario time) behind, the primary's zone lost, the cold fail-over runbook carried out with real EC2
 * calls; RPO and the losses checked against the pushes written before and after the replica's instant, read back from
 * the replica's PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { runLiveDr, type LivePush } from './live-rehearsal.ts';
import { replicatedAddresses } from './services-volume.ts';
import { expectRestoredAtSnapshot } from './snapshot-ledger.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';

/** The DR live tests' own ports (+19000): clear of `twin dr`'s 16000 and the other live tests. */
const PORT_OFFSET = 19_000;

describe('twin dr --mode live: az_outage with a replica', () => {
  it('fails over cold-failover-az-outage to the replica: what came before the replica\'s instant is back, the lag\'s pushes are lost, builders reconnect on the re-associated IP', async () => {
    const scenario = loadScenarioFile('scenarios/dr/cold-failover-az-outage.yaml', { mode: 'live', command: 'dr' });
    let pushes: readonly LivePush[] = [];
    let present = new Set<string>();
    let machineAtEnd = { privateIp: '', secondaryIp: undefined as string | undefined, dialIp: '', replicated: [] as string[] };
    const report: DrReport = await runLiveDr(scenario, loadRunbook('cold-failover'), {
      portOffset: PORT_OFFSET,
      log: (line) => process.stderr.write(`${line}\n`),
      inspect: async ({ postgres, pushes: made, machine }) => {
        pushes = made;
        present = new Set((await postgres.query<{ sha: string }>(PIPELINE_DB, 'SELECT DISTINCT sha FROM builds')).rows.map((r) => r.sha));
        machineAtEnd = { privateIp: machine.privateIp, secondaryIp: machine.secondaryIp, dialIp: machine.buildersDialIp, replicated: replicatedAddresses(machine.etcDir) };
      },
    });
    const delivered = (phase: LivePush['phase']) => pushes.filter((p) => p.phase === phase && p.delivered);
    // Written before the replica's instant (lag before the disaster): all in the replica's database; written in the
    // lag: gone with the primary, and exactly those are the report's losses.
    expectRestoredAtSnapshot(pushes, present, report);
    expect(report.rpo_ms).toBe(30_000);
    // The replica's /opt/nomad is its own: no stale allocations; the records it held as Running were cleaned up.
    expect(report.dr.stale_allocations_restored).toBe(0);
    expect(report.builds.stuck).toBe(0);
    // The runbook: the old instance confirmed terminated, its IP moved to the replica, the app started there.
    expect(report.runbook.map((s) => [s.step, s.status])).toEqual(loadRunbook('cold-failover').steps.map((s) => [s.name, 'done']));
    expect(report.runbook[0]!.consequence).toMatch(/^i-\w+ in \S+ is terminated: (\d+\.){3}\d+ is free$/);
    expect(report.runbook[1]!.consequence).toMatch(/re-associated to the replica's eni-\w+ as a secondary IP/);
    // The clean-up marks the records the replica held as Running, not the builds of webhooks taken since the app started.
    const cleaned = Number(/^(\d+) build records left Running/.exec(report.runbook[3]!.consequence)?.[1]);
    expect(cleaned).toBeLessThanOrEqual(delivered('before_snapshot').length);
    expect(pushes.filter((p) => p.phase !== 'before_snapshot' && p.phase !== 'after_snapshot' && p.delivered).every((p) => present.has(p.sha))).toBe(true);
    expect(machineAtEnd.privateIp).not.toBe(machineAtEnd.dialIp);
    expect(machineAtEnd.secondaryIp).toBe(machineAtEnd.dialIp);
    expect(machineAtEnd.replicated).toEqual([machineAtEnd.privateIp, machineAtEnd.privateIp]);
    // Builders dial the same address: every Nomad client registered again and the builds after the fail-over ran.
    expect(report.dr.builders_reconnected).toBe(scenario.topology.nomadClients.count);
    expect(report.dr.builders_reach_services).toBe(true);
    expect(delivered('after_restore').length).toBeGreaterThan(0);
    expect(report.rto_ms).not.toBeNull();
    const b = report.builds;
    expect(b.succeeded + b.failed + b.lost + b.stuck).toBe(b.triggered);
    expect(report).toMatchObject({ mode: 'live', ledger: { conserved: true } });
    expect((report.live as { replica: { copy: { hold_ms: number } } }).replica.copy.hold_ms).toBeGreaterThan(0);
  }, 600_000);
});
