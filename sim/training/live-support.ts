import { faultEntry, liveActionsOn, liveKind } from '../faults/catalogue.ts';
import type { SettledDrill } from './drill.ts';

/**
 * Why a drill's breakage cannot be carried out on the live stack (`twin train --drill NAME --mode live`), one
 * reason a line, or none: each hidden fault against the fault catalogue's live column (the live stack runs the
 * pipeline stages, the stores, the Nomad server and clients; not exim, slanger, tutum/logrotate, federation-service,
 * ...), and each hidden change (the live stack carries out the catalogue's actions only).
 */
export function liveBlockers(drill: SettledDrill): string[] {
  const out: string[] = [];
  for (const f of drill.faults) {
    if (liveActionsOn(f.target).includes(f.action)) continue;
    if (liveKind(f.target) === undefined) out.push(`its fault \`${f.action}\` of \`${f.writtenTarget}\`: the live stack runs no ${f.writtenTarget}`);
    else out.push(`its fault \`${f.action}\` of \`${f.writtenTarget}\`: ${faultEntry(f.action).live.whyNot ?? 'the live stack does not carry it out there'}`);
  }
  for (const c of drill.changes) {
    out.push(`its hidden change (${c.kind === 'asg' ? 'the Auto Scaling Group\'s capacity set' : 'a restored /opt/nomad with stale allocations'}): the live stack carries out the fault catalogue's actions only`);
  }
  return out;
}
