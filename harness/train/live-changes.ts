import type { SettledScenario } from '../../sim/scenario/settled.ts';
import type { HiddenChange } from '../../sim/training/drill.ts';
import type { StartedComponent } from '../providers/types.ts';
import { StartedNomadApiServer } from '../nomad/server.ts';
import { removeDir } from '../providers/temp-dir.ts';
import { restoreStaleNomadState } from './restored-nomad.ts';

/**
 * A drill's hidden changes outside the fault catalogue, carried out on the live stack: a restored /opt/nomad with
 * stale allocations (`restored-nomad.ts`), at boot. The Auto Scaling Group's capacity is the Services machine's
 * (`live-commands.ts` `TrainingMachine.change`); `down` removes what the changes made.
 */
export class LiveChanges {
  private readonly dirs: string[] = [];

  /** Carries out one change; resolves with a line for the boot log. */
  async apply(c: HiddenChange, nomad: StartedComponent, installation: SettledScenario): Promise<string> {
    if (c.kind === 'asg') throw new Error('an Auto Scaling Group change is the Services machine\'s (live-commands.ts TrainingMachine.change)');
    if (!(nomad instanceof StartedNomadApiServer)) throw new Error('a restored /opt/nomad is carried out on the twin\'s Nomad API (--nomad twin), not on a real Nomad agent');
    const rc = installation.topology.resourceClasses[installation.topology.defaultResourceClass];
    const { dir, start } = await restoreStaleNomadState(nomad, c, { cpuMilli: rc?.cpuMilli ?? 2000, memoryMb: rc?.memoryMb ?? 4096 });
    this.dirs.push(dir);
    const found = start?.kind === 'restored' ? `${start.jobs} jobs, ${start.staleAllocs} allocations no client runs` : `nothing restored (${start?.kind ?? 'no start'})`;
    return `the Nomad server started on a restored /opt/nomad (${dir}): ${found}`;
  }

  async down(): Promise<void> {
    for (const d of this.dirs.splice(0)) await removeDir(d);
  }
}
