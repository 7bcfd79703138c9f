/**
 * `twin dr scenarios/dr/region-outage-copied-snapshots.yaml --mode live` end to end, through the CLI: the snapshots
 * of 2h and 3h taken in us-east-1 and copied to us-west-2 (the copy completing after 20 minutes of scenario time), the
 * region lost at 3h10m with the 3h copy not complete, the 2h copy restored in us-west-2 at a new address of its VPC,
 * the fleet launched there by reassociate-builders. Ports: documented + 24000 (TWIN_DR_REGION_PORT_OFFSET moves them).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli/main.ts';
import { captureIo } from '../cli/capture-io.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { loadRunbook } from '../../fixtures/runbooks/load.ts';
import { chainRunbooks } from '../../sim/models/dr/runbook.ts';
import { runDrRehearsal } from '../../sim/models/dr/dr-report.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';
import { expectAgreesWithSim } from './snapshot-ledger.ts';

const PORT_OFFSET = process.env.TWIN_DR_REGION_PORT_OFFSET ?? '24000';
const SCENARIO = 'scenarios/dr/region-outage-copied-snapshots.yaml';

interface RegionMeasures {
  lost_region: string;
  recovery_region: string;
  recovery_vpc: string;
  builders_lost: number;
  restored_copy: string | null;
  copies: { at_ms: number; snapshot: string; copy: string | null }[];
  recovery_builders: { instance: string; lifecycle: string; dials: string | null; passphrase: boolean; node_status: string | null }[];
}

describe('twin dr --mode live: a region outage restored from the newest completed copy in another region', () => {
  it('region-outage-copied-snapshots: the 2h copy restored in us-west-2 (the 3h copy not complete), the fleet launched there, every expectation met', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'twin-dr-region-')), 'live');
    const c = captureIo();
    const t0 = Date.now();
    // The rehearsal's log as it goes (stderr), the verdict (stdout) after it.
    const exit = await main(['dr', SCENARIO, '--mode', 'live', '--port-offset', PORT_OFFSET, '--out', out], { ...c.io, stderr: { write: (s: string) => process.stderr.write(s) } });
    process.stderr.write(`${c.stdout}\nwall ${Date.now() - t0} ms\n`);
    const report = JSON.parse(readFileSync(join(out, 'dr-report.json'), 'utf8')) as DrReport & { live: { region_outage: RegionMeasures; services_instance: { old: { private_ip: string }; new: { private_ip: string } }; pushes: Record<string, { delivered: number; recorded_at_end: number }> } };
    const scenario = loadScenarioFile(SCENARIO, { command: 'dr' });
    const runbook = chainRunbooks(loadRunbook('restore-from-ebs'), [loadRunbook('reassociate-builders')]).runbook!;
    const sim = runDrRehearsal(scenario, runbook);
    // Every expectation of the scenario met live, and the verdict the simulation's.
    expect(report.expectations.filter((e) => !e.passed)).toEqual([]);
    expect(exit).toBe(0);
    expect(report.mode).toBe('live');
    // RPO: the 2h copy's age at the outage, as in the simulation; the newest (3h) backup not usable.
    expect(report.rpo_ms).toBe(sim.rpo_ms);
    expect(report.rpo_ms).toBe(70 * 60_000);
    expect(report.dr.restored_from_ms).toBe(2 * 3_600_000);
    const list = report.dr.backups.list;
    expect(list.map((b) => b.at_ms)).toEqual(sim.dr.backups.list.map((b) => b.at_ms));
    expect(list[1]).toMatchObject({ at_ms: 2 * 3_600_000, usable: true });
    expect(list[1]!.note).toContain('the newest restorable: the one a restore uses');
    expect(list[2]).toMatchObject({ at_ms: 3 * 3_600_000, usable: false });
    expect(list[2]!.copied_at_ms === undefined || list[2]!.copied_at_ms > scenario.disaster!.atMs).toBe(true);
    // The copy restored is the 2h snapshot's, in us-west-2; the 3h one's copy (if it was made) is not.
    const region = report.live.region_outage;
    expect(region).toMatchObject({ lost_region: 'us-east-1', recovery_region: 'us-west-2', recovery_vpc: '10.1.0.0/16', builders_lost: scenario.topology.nomadClients.count });
    const restored = region.copies.find((x) => x.at_ms === 2 * 3_600_000)!;
    expect(restored.copy).not.toBeNull();
    expect(region.restored_copy).toBe(restored.copy);
    // The new machine is in us-west-2's VPC; the old address could not follow it.
    const ips = report.live.services_instance;
    expect(ips.new.private_ip.startsWith('10.1.')).toBe(true);
    expect(ips.old.private_ip.startsWith('10.0.')).toBe(true);
    expect(report.runbook.find((s) => s.step === 'reassign_private_ip')!.consequence).toContain('cannot be re-associated: it belongs to a subnet of the failed region');
    // The builders: the fleet launched in us-west-2, every one dialling the new address with the token, a ready Nomad client.
    const n = scenario.topology.nomadClients.count;
    const fleet = region.recovery_builders.filter((b) => b.lifecycle === 'InService');
    expect(fleet.length).toBe(n);
    expect(fleet.every((b) => b.dials === ips.new.private_ip && b.passphrase && b.node_status === 'ready')).toBe(true);
    expect(report.dr.builders_rotated).toBe(n);
    expect(report.dr.builders_reach_services).toBe(true);
    // Lost: everything written after the 2h snapshot, which is more than the pushes after the 3h one.
    expect(report.live.pushes.after_snapshot!.delivered).toBeGreaterThan(0);
    expect(report.live.pushes.after_snapshot!.recorded_at_end).toBe(0);
    expect(report.dr.records_written_after_backup).toBeGreaterThan(report.live.pushes.after_snapshot!.delivered);
    expect(report.rto_ms).not.toBeNull();
    // Sim and live agree: the runbook's statuses, the ledger conserved, the expectations alike.
    expectAgreesWithSim(report, sim);
  }, 600_000);
});
