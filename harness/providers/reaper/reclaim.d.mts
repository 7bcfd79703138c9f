/** A process the stack started: its pid and kernel start time (so a reused pid is never taken for it). */
export interface OwnedProcess {
  pid: number;
  start: string;
  label?: string;
}

/** What a stack owns: the processes and directories it recorded, and its supervisor's session when it leads one. */
export interface OwnedSet {
  processes?: readonly OwnedProcess[];
  dirs?: readonly string[];
  /** The detached supervisor's session id (its pid): every process left in it after it died is the stack's. */
  session?: number;
}

export interface Reclaimed {
  processes: number;
  dirs: number;
  bytes: number;
  /** Pids still running after the wait (not ours to signal, or stuck in the kernel). */
  survivors: number[];
}

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  session: number;
  start: string;
}

export const RECLAIM_WAIT_MS: number;
export function procStat(pid: number): ProcStat | undefined;
export function startTimeOf(pid: number): string | undefined;
export function isRunning(rec: { pid: number; start: string }): boolean;
export function isOwnedDir(dir: string): boolean;
export function findOwned(owner: OwnedSet, exclude?: readonly number[]): ProcStat[];
export function diskUsage(dir: string): number;
export function reclaim(owner: OwnedSet, opts?: { exclude?: readonly number[]; waitMs?: number }): Reclaimed;
export function describeReclaimed(r: Pick<Reclaimed, 'processes' | 'dirs' | 'bytes'>): string;
