import { renderJobList, renderJobStatus, renderNodeStatusAllocs, renderNodeStatusSelf } from '../models/nomad/index.ts';
import type { NomadScheduler } from '../models/nomad/scheduler.ts';

/**
 * What the drill shell's read-only `nomad` commands print of a Nomad scheduler: the simulation's cluster, or the
 * live stack's Nomad API (its scheduler is the same class). Pure: a scheduler read, text out.
 */

/** `nomad status [job]`: the job list, or one job (by id prefix) with its allocations. */
export function nomadStatusText(s: NomadScheduler, job: string | undefined): { output: string; exit: number } {
  if (job === undefined) return { output: renderJobList(s.jobs()), exit: 0 };
  const matches = s.jobs().filter((j) => j.id.startsWith(job));
  if (matches.length === 0) return { output: `No job(s) with prefix or id "${job}" found`, exit: 1 };
  if (matches.length > 1 && matches[0]!.id !== job) return { output: `Prefix matched multiple jobs\n\n${renderJobList(matches)}`, exit: 1 };
  const j = matches[0]!;
  return { output: renderJobStatus(j, s.jobAllocs(j.id)), exit: 0 };
}

/** `nomad node-status [-allocs] [-self] [node]`: the clients, or one (by id prefix) with its allocations. */
export function nomadNodeStatusText(s: NomadScheduler, allocs: boolean, self: boolean, node: string | undefined): { output: string; exit: number } {
  // The Services machine runs the Nomad server only: it has no local client.
  if (self) return { output: 'Error determining local node ID: Node ID not found (this agent runs the Nomad server only)', exit: 1 };
  if (node !== undefined) {
    const n = s.nodes().find((x) => x.id.startsWith(node));
    if (n === undefined) return { output: `No node(s) with prefix "${node}" found`, exit: 1 };
    return { output: renderNodeStatusSelf(n, s.nodeAllocs(n.id)), exit: 0 };
  }
  const nodes = s.nodes();
  if (nodes.length === 0) return { output: 'No nodes registered', exit: 0 };
  const text = renderNodeStatusAllocs(nodes);
  // Without -allocs Nomad leaves out the Running Allocs column.
  return { output: allocs ? text : text.split('\n').map((l) => l.replace(/\s+\S+$/, '').replace(/\s+Running$/, '').trimEnd()).join('\n'), exit: 0 };
}
