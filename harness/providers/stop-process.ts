import { readdirSync, readFileSync } from 'node:fs';
import type { ManagedProcess } from './process.ts';

/**
 * Sends `signal` to the server (its own graceful-stop signal: SIGINT for postgres' fast shutdown, SIGTERM for
 * redis and the Erlang VM), SIGKILL after `graceMs`, and resolves once our child has exited.
 *
 * `pid` is the process to signal when it is not our direct child (a VM found through a pid file).
 */
export async function stopProcess(proc: ManagedProcess, opts: { signal: NodeJS.Signals; graceMs: number; pid?: number }): Promise<void> {
  if (hasExited(proc)) return;
  const target = opts.pid ?? proc.pid;
  signalPid(target, opts.signal);
  const timer = setTimeout(() => {
    signalPid(target, 'SIGKILL');
    if (!hasExited(proc)) proc.child.kill('SIGKILL');
  }, opts.graceMs);
  try {
    await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}

export function hasExited(proc: ManagedProcess): boolean {
  return proc.child.exitCode !== null || proc.child.signalCode !== null;
}

/**
 * process.kill that treats "already gone" as done. SIGSTOP returns once the kernel shows every thread of the
 * process stopped (as `docker pause` returns once the cgroup is frozen): kill(2) only queues the signal, and a
 * thread busy on another core may still answer a request before it stops.
 */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
  if (signal === 'SIGSTOP') waitUntilStopped(pid, STOP_WAIT_MS);
  return true;
}

/** How long `signalPid(pid, 'SIGSTOP')` waits for the threads to stop (a thread in uninterruptible I/O stops after it). */
const STOP_WAIT_MS = 2_000;

/** Whether every thread of `pid` is stopped (`T`, or `t` under a tracer); true when it is gone or /proc is absent. */
export function isStopped(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  return tasks.every((tid) => {
    try {
      // The state follows the command name in parentheses, which may itself hold spaces or parentheses.
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      return state === 'T' || state === 't' || state === 'Z' || state === 'X';
    } catch {
      return true; // that thread ended
    }
  });
}

const napCell = new Int32Array(new SharedArrayBuffer(4));

/** Polls /proc every millisecond (blocking: a pause is a short synchronous act) until `pid` is stopped or `ms` pass. */
function waitUntilStopped(pid: number, ms: number): void {
  const deadline = Date.now() + ms;
  while (!isStopped(pid) && Date.now() < deadline) Atomics.wait(napCell, 0, 0, 1);
}
