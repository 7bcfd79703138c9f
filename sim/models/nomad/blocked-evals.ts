/**
 * Blocked evaluations (Nomad `nomad/blocked_evals.go`), reduced to what a single in-memory server needs.
 *
 * When an evaluation cannot place every task, Nomad keeps one blocked evaluation per job ("only one
 * blocked eval is needed per job") and re-enqueues it when capacity that could help appears; the eval
 * broker then dequeues by priority (higher first) and creation order. This queue holds the jobs with a
 * blocked evaluation in exactly that order: priority descending, then job creation sequence ascending.
 *
 * It also tracks the smallest request among the blocked jobs, per dimension, so the scheduler can stop
 * retrying as soon as the capacity a change freed cannot hold any blocked task.
 *
 * Entries are deleted lazily (a flag on the job) and compacted once dead entries dominate a bucket,
 * so removal in the middle is O(1) and iteration stays proportional to live entries.
 */
import type { Job } from './cluster-state.ts';

/** A position in the queue: the (priority, creation sequence) of a job. */
export interface QueueKey {
  priority: number;
  seq: number;
}

interface Shape {
  cpuMilli: number;
  memoryMb: number;
  jobs: number;
}

/** Jobs with a blocked evaluation, in the order the eval broker would retry them. */
export class BlockedEvals {
  private readonly buckets = new Map<number, Job[]>();
  private readonly deadIn = new Map<number, number>();
  /** Bucket priorities, highest first. */
  private priorities: number[] = [];
  private live = 0;
  private readonly shapes = new Map<string, Shape>();
  private minCpu = Infinity;
  private minMem = Infinity;

  /** Number of blocked evaluations (one per job). */
  get size(): number {
    return this.live;
  }

  /** Smallest per-task CPU among blocked jobs (Infinity when none). */
  get smallestCpuMilli(): number {
    return this.minCpu;
  }

  /** Smallest per-task memory among blocked jobs (Infinity when none). */
  get smallestMemoryMb(): number {
    return this.minMem;
  }

  /** Adds a job; it must not be queued already. */
  block(job: Job): void {
    if (job.inBlockedQueue) throw new Error(`job ${job.id} is already blocked`);
    let bucket = this.buckets.get(job.priority);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(job.priority, bucket);
      this.deadIn.set(job.priority, 0);
      this.priorities.push(job.priority);
      this.priorities.sort((a, b) => b - a);
    }
    const last = bucket[bucket.length - 1];
    if (last === undefined || last.seq < job.seq) bucket.push(job);
    else bucket.splice(this.lowerBound(bucket, job.seq), 0, job);
    job.inBlockedQueue = true;
    this.live++;
    this.addShape(job);
  }

  /** Removes a job (lazily); a no-op when it is not queued. */
  unblock(job: Job): void {
    if (!job.inBlockedQueue) return;
    job.inBlockedQueue = false;
    this.live--;
    const dead = (this.deadIn.get(job.priority) ?? 0) + 1;
    this.deadIn.set(job.priority, dead);
    this.removeShape(job);
    const bucket = this.buckets.get(job.priority)!;
    if (dead > 32 && dead * 2 > bucket.length) this.compact(job.priority, bucket);
  }

  /** Forgets every job (a wipe of the server's state). */
  clear(): void {
    for (const bucket of this.buckets.values()) for (const j of bucket) j.inBlockedQueue = false;
    this.buckets.clear();
    this.deadIn.clear();
    this.priorities = [];
    this.live = 0;
    this.shapes.clear();
    this.minCpu = Infinity;
    this.minMem = Infinity;
  }

  /** The first live job in queue order, or null. */
  first(): Job | null {
    return this.seek({ priority: Infinity, seq: -Infinity });
  }

  /** The first live job at or after `key` in queue order, or null. */
  seek(key: QueueKey): Job | null {
    for (const p of this.priorities) {
      if (p > key.priority) continue;
      const bucket = this.buckets.get(p)!;
      const start = p === key.priority ? this.lowerBound(bucket, key.seq) : 0;
      for (let k = start; k < bucket.length; k++) {
        const j = bucket[k]!;
        if (j.inBlockedQueue) return j;
      }
    }
    return null;
  }

  /** The first live job strictly after `job` in queue order (works for a job just removed, too). */
  after(job: Job): Job | null {
    return this.seek({ priority: job.priority, seq: job.seq + 0.5 });
  }

  /** Live jobs in queue order (for queries; O(size)). */
  jobs(): Job[] {
    const out: Job[] = [];
    for (const p of this.priorities) for (const j of this.buckets.get(p)!) if (j.inBlockedQueue) out.push(j);
    return out;
  }

  private lowerBound(bucket: readonly Job[], seq: number): number {
    let lo = 0;
    let hi = bucket.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bucket[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(priority: number, bucket: Job[]): void {
    let w = 0;
    for (let r = 0; r < bucket.length; r++) {
      const j = bucket[r]!;
      if (j.inBlockedQueue) bucket[w++] = j;
    }
    bucket.length = w;
    this.deadIn.set(priority, 0);
  }

  private addShape(job: Job): void {
    const key = `${job.cpuMilli}/${job.memoryMb}`;
    const s = this.shapes.get(key);
    if (s !== undefined) s.jobs++;
    else this.shapes.set(key, { cpuMilli: job.cpuMilli, memoryMb: job.memoryMb, jobs: 1 });
    if (job.cpuMilli < this.minCpu) this.minCpu = job.cpuMilli;
    if (job.memoryMb < this.minMem) this.minMem = job.memoryMb;
  }

  private removeShape(job: Job): void {
    const key = `${job.cpuMilli}/${job.memoryMb}`;
    const s = this.shapes.get(key)!;
    if (--s.jobs > 0) return;
    this.shapes.delete(key);
    // Resource classes are few, so recomputing over the distinct shapes is cheap.
    this.minCpu = Infinity;
    this.minMem = Infinity;
    for (const t of this.shapes.values()) {
      if (t.cpuMilli < this.minCpu) this.minCpu = t.cpuMilli;
      if (t.memoryMb < this.minMem) this.minMem = t.memoryMb;
    }
  }
}
