/**
 * The Nomad clients an Auto Scaling Group counts as in service (ready, eligible, not draining), and the CPU they
 * have free: what the simulation's group (`asg.ts`) and the twin's endpoint (`harness/ec2/nomad-clients.ts`) both
 * read from a `NomadScheduler`'s node views.
 */
import type { NodeView } from '../nomad/index.ts';

export function inServiceNodes(nodes: readonly NodeView[]): NodeView[] {
  return nodes.filter((v) => v.status === 'ready' && !v.drain && v.eligibility === 'eligible');
}

/** CPU (milli-vCPU) free for tasks on these nodes: total less the client reservation and what tasks use. */
export function freeCpuMilli(nodes: readonly NodeView[]): number {
  let free = 0;
  for (const v of nodes) free += Math.max(0, v.totalCpuMilli - Math.min(v.reservedCpuMilli, v.totalCpuMilli) - v.usedCpuMilli);
  return free;
}
