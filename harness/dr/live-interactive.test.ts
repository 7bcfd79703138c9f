import { describe, expect, it } from 'vitest';
import { Aliases } from './live-interactive.ts';
import { checkLiveInteractiveDr } from '../cli/commands/dr.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { ScenarioError } from '../../sim/scenario/parse.ts';

/** The rehearsal's names and the live ones (harness/dr/live-interactive.ts): whole tokens, both ways, addresses in sed's form too. */
describe('Aliases', () => {
  const a = new Aliases();
  a.add('10.0.1.10', '10.0.179.216');
  a.add('snap-000000000000000b4', 'snap-ad1de9eafe9be31e2');
  a.add('10.0.1.77', '10.0.55.18');

  it('makes a typed line live and a live answer the rehearsal\'s, in one pass', () => {
    expect(a.toLive(`"{\\"SnapshotId\\": \\"snap-000000000000000b4\\"}" --private-ip-addresses 10.0.1.10`)).toBe(`"{\\"SnapshotId\\": \\"snap-ad1de9eafe9be31e2\\"}" --private-ip-addresses 10.0.179.216`);
    expect(a.toSim('PRIVATE_ADDRESS=10.0.179.216 snap-ad1de9eafe9be31e2')).toBe('PRIVATE_ADDRESS=10.0.1.10 snap-000000000000000b4');
  });

  it('rewrites sed\'s escaped addresses, and never a prefix of a longer address or id', () => {
    expect(a.toLive("sudo sed -i 's/10\\.0\\.1\\.10/10.0.1.77/g' /etc/default/replicated")).toBe("sudo sed -i 's/10\\.0\\.179\\.216/10.0.55.18/g' /etc/default/replicated");
    expect(a.toLive('10.0.1.100 10.0.1.10.5 snap-000000000000000b45 110.0.1.10')).toBe('10.0.1.100 10.0.1.10.5 snap-000000000000000b45 110.0.1.10');
  });

  it('keeps the first live name of a rehearsal name, and lists the pairs once', () => {
    a.add('10.0.1.10', '10.9.9.9');
    expect(a.toLive('10.0.1.10')).toBe('10.0.179.216');
    expect(a.pairs).toEqual([
      { sim: '10.0.1.10', live: '10.0.179.216' },
      { sim: 'snap-000000000000000b4', live: 'snap-ad1de9eafe9be31e2' },
      { sim: '10.0.1.77', live: '10.0.55.18' },
    ]);
  });
});

/** Which disasters and backups the live typed rehearsal takes (harness/cli/commands/dr.ts `checkLiveInteractiveDr`). */
describe('checkLiveInteractiveDr', () => {
  const live = (file: string) => loadScenarioFile(file, { mode: 'live', command: 'dr' });
  const refusal = (file: string) => {
    try {
      checkLiveInteractiveDr(live(file));
    } catch (e) {
      if (e instanceof ScenarioError) return e.issues.map((i) => `${i.field}: ${i.message} (${i.hint})`);
      throw e;
    }
    return [];
  };

  it('takes the EBS restore of a terminated machine and the cold fail-over to a replica', () => {
    expect(refusal('scenarios/dr/ebs-snapshot-restore.yaml')).toEqual([]);
    expect(refusal('scenarios/dr/cold-failover-az-outage.yaml')).toEqual([]);
  });

  it('refuses the others, naming the field, what it takes and the way out', () => {
    expect(refusal('scenarios/dr/tarball-backup-restore.yaml')).toEqual([
      'backups.strategy: live, `services_machine_terminated` is typed with ebs_snapshot backups, not `tarball` yet (the live typed rehearsal takes the EBS restore of a terminated Services machine (services_machine_terminated with ebs_snapshot backups) and the cold fail-over to a replica (az_outage with replica backups)) (type it in the simulation (drop --mode live), or let the runbook run it live (drop --interactive / --script))',
    ]);
    expect(refusal('scenarios/dr/settings-change-rollback.yaml')).toEqual([
      'disaster.kind: the live typed rehearsal takes the EBS restore of a terminated Services machine (services_machine_terminated with ebs_snapshot backups) and the cold fail-over to a replica (az_outage with replica backups), not `settings_change` with ebs_snapshot backups yet (type it in the simulation (drop --mode live), or let the runbook run it live (drop --interactive / --script))',
    ]);
  });
});
