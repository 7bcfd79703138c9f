import { readFileSync } from 'node:fs';
import { tree } from '../../providers/process-tree.ts';

/** Resident memory of a process (kB), or 0 if it is gone. */
function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Proportional memory of a process (kB): each shared page counted as its share among the processes mapping it
 * (`Pss` of /proc/<pid>/smaps_rollup), so that a sum over processes counts PostgreSQL's shared buffers and the
 * shared libraries once, where a sum of RSS counts them once per process. 0 if gone or not readable.
 */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}


/**
 * Samples the resident memory of the whole live stack: this process (the twin's services, the Nomad API and
 * GHE run in it) and every process it started (PostgreSQL and its backends, Redis, RabbitMQ's Erlang VM), at
 * most once a second. Off Linux (no /proc) it reports this process alone.
 */
export function sampleStackRss(everyMs = 1_000) {
  let peakKb = 0;
  let peakPssKb = 0;
  let last = 0;
  const sample = (force = false): void => {
    const now = Date.now();
    if (!force && now - last < everyMs) return;
    last = now;
    let kb = 0;
    let pss = 0;
    try {
      for (const pid of tree(process.pid)) {
        kb += rssKb(pid);
        pss += pssKb(pid);
      }
    } catch {
      kb = Math.round(process.memoryUsage().rss / 1024);
    }
    if (kb === 0) kb = Math.round(process.memoryUsage().rss / 1024);
    if (kb > peakKb) peakKb = kb;
    if (pss > peakPssKb) peakPssKb = pss;
  };
  sample(true);
  return {
    sample: () => sample(),
    stop: () => sample(true),
    get peakKb() {
      return peakKb;
    },
    /** The peak of the summed proportional memory (0 where smaps_rollup cannot be read). */
    get peakPssKb() {
      return peakPssKb;
    },
  };
}

export function peakStackRssMb(s: { peakKb: number }): number {
  return Math.round(s.peakKb / 1024);
}
