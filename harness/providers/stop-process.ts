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

/** process.kill that treats "already gone" as done. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}
