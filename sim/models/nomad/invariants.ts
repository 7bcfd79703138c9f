/**
 * The scheduler's invariants, checked from its public views only. The property tests call this after
 * every operation; a pipeline model may call it in a debug run. Returns the violations (empty = sound).
 */
import type { NomadScheduler } from './scheduler.ts';

/** Every way the scheduler's state can be inconsistent, as readable sentences. */
export function auditScheduler(s: NomadScheduler): string[] {
  const problems: string[] = [];
  const jobs = new Map(s.jobs().map((j) => [j.id, j]));

  for (const n of s.nodes()) {
    const usableCpu = Math.max(0, n.totalCpuMilli - n.reservedCpuMilli);
    const usableMem = Math.max(0, n.totalMemoryMb - n.reservedMemoryMb);
    if (n.usedCpuMilli > usableCpu || n.usedMemoryMb > usableMem) {
      problems.push(`node ${n.name} over-committed: ${n.usedCpuMilli}/${usableCpu} mCPU, ${n.usedMemoryMb}/${usableMem} MB`);
    }
    const allocs = s.nodeAllocs(n.id);
    if (allocs.length !== n.runningAllocs) problems.push(`node ${n.name} counts ${n.runningAllocs} allocs, lists ${allocs.length}`);
    let cpu = 0;
    let mem = 0;
    for (const a of allocs) {
      if (a.clientStatus !== 'pending' && a.clientStatus !== 'running') {
        problems.push(`terminal alloc ${a.allocId} (${a.clientStatus}) still on node ${n.name}`);
      }
      if (a.nodeId !== n.id) problems.push(`alloc ${a.allocId} listed on ${n.id} but placed on ${a.nodeId}`);
      const job = jobs.get(a.jobId);
      if (job === undefined) {
        problems.push(`alloc ${a.allocId} on node ${n.name} belongs to unknown job ${a.jobId}`);
        continue;
      }
      cpu += job.cpuMilli;
      mem += job.memoryMb;
    }
    if (cpu !== n.usedCpuMilli || mem !== n.usedMemoryMb) {
      problems.push(`node ${n.name} uses ${n.usedCpuMilli} mCPU/${n.usedMemoryMb} MB but its allocs add up to ${cpu}/${mem}`);
    }
  }

  const counted = { pending: 0, running: 0, complete: 0, dead: 0 };
  let blocked = 0;
  for (const j of jobs.values()) {
    counted[j.status]++;
    const sum = j.summary;
    const nonTerminal = sum.starting + sum.running;
    const fates = nonTerminal + sum.complete + sum.failed + sum.lost + sum.queued;
    if (!j.stopped && fates !== j.count) {
      problems.push(`job ${j.id}: ${fates} task fates for ${j.count} tasks (${JSON.stringify(sum)})`);
    }
    if (j.stopped && (sum.queued !== 0 || nonTerminal !== 0)) problems.push(`stopped job ${j.id} still has work: ${JSON.stringify(sum)}`);
    if (j.stopped && fates > j.count) problems.push(`stopped job ${j.id} has more fates than tasks`);
    if ((sum.queued > 0) !== (j.blockedEvalId !== null)) {
      problems.push(`job ${j.id}: ${sum.queued} queued tasks but blocked eval ${String(j.blockedEvalId)}`);
    }
    if (j.blockedEvalId !== null) {
      blocked++;
      const ev = s.evaluation(j.blockedEvalId);
      if (ev?.status !== 'blocked') problems.push(`job ${j.id}: blocked eval ${j.blockedEvalId} is ${String(ev?.status)}`);
    }
    const expected = nonTerminal > 0 ? 'running' : j.blockedEvalId !== null ? 'pending' : 'dead';
    if (j.status !== expected) problems.push(`job ${j.id} is ${j.status}, expected ${expected}`);
    if (j.status === 'dead' && !j.stopped && sum.complete === j.count) counted.complete++;
    const allocs = s.jobAllocs(j.id);
    if (allocs.length !== j.count - sum.queued && !j.stopped) {
      problems.push(`job ${j.id} has ${allocs.length} allocs for ${j.count - sum.queued} placed tasks`);
    }
    allocs.forEach((a, k) => {
      if (a.taskIndex !== k) problems.push(`job ${j.id}: alloc ${k} has task index ${a.taskIndex}`);
    });
  }
  const c = s.counts();
  if (c.pending !== counted.pending || c.running !== counted.running || c.dead !== counted.dead || c.complete !== counted.complete) {
    problems.push(`counts ${JSON.stringify(c)} but jobs say ${JSON.stringify(counted)}`);
  }
  if (blocked !== s.blockedEvalCount) problems.push(`${s.blockedEvalCount} blocked evals but ${blocked} jobs hold one`);
  return problems;
}
