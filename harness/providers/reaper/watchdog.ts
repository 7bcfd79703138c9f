import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { owned } from './owned-records.ts';
import { procStat, startTimeOf, type OwnedProcess } from './reclaim.mjs';

const ENTRY = fileURLToPath(new URL('./watchdog.mjs', import.meta.url));

/** A process by pid and kernel start time. */
export interface ProcessRef {
  pid: number;
  start: string;
}

/** What a supervisor records in its state file so that a later `twin down` or `twin up` can end its remains. */
export interface StackOwner {
  supervisor: ProcessRef;
  watchdog?: ProcessRef;
  /** The supervisor's session, when it leads one (`twin up -d`): what is left in it after it died is the stack's. */
  session?: number;
  processes: OwnedProcess[];
  dirs: string[];
}

/** The running watchdog, fed with every change to what this process owns. */
export interface Watchdog {
  readonly ref: ProcessRef;
  /** Stops feeding it and lets it go (it then reclaims what is left, nothing after a graceful stop, and exits). */
  close(): void;
}

/** This process by pid and start time, and its session when it leads one; undefined without Linux's /proc. */
export function selfRef(): { ref: ProcessRef; session: number | undefined } | undefined {
  const s = procStat(process.pid);
  return s && { ref: { pid: s.pid, start: s.start }, session: s.session === process.pid ? process.pid : undefined };
}

/** What this process owns now, as the state file records it; undefined without /proc (nothing could be reclaimed). */
export function ownerNow(watchdog: Watchdog | undefined): StackOwner | undefined {
  const self = selfRef();
  if (!self) return undefined;
  return { supervisor: self.ref, ...(watchdog ? { watchdog: watchdog.ref } : {}), ...(self.session !== undefined ? { session: self.session } : {}), processes: owned.processes, dirs: owned.dirs };
}

/**
 * Starts the reaper of this process's stack: a detached Node process (its own session, so neither a terminal's
 * Ctrl-C nor a kill of our process group reaches it) reading every change to `owned` from a pipe. When the pipe
 * closes, because we exited or died by any signal, it ends what we recorded. `onChange` runs after each change
 * (the supervisor rewrites its state file). Neither the child nor the pipe keeps this process alive. Linux only:
 * without /proc there is no watchdog (undefined), and the stack ends only with its supervisor's teardown.
 */
export function startWatchdog(stateFile: string, log: number | 'ignore', onChange: () => void): Watchdog | undefined {
  const self = selfRef();
  if (!self) return undefined;
  const { ref, session } = self;
  const child = spawn(process.execPath, [ENTRY, stateFile, String(ref.pid), ref.start, ...(session !== undefined ? [String(session)] : [])], {
    detached: true,
    stdio: ['pipe', 'ignore', log],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const stdin = child.stdin!;
  // A watchdog that died cannot be written to: the state file still records everything for `twin down`.
  stdin.on('error', () => undefined);
  const send = (c: unknown) => stdin.writable && stdin.write(`${JSON.stringify(c)}\n`);
  for (const p of owned.processes) send({ op: 'process', process: p });
  for (const d of owned.dirs) send({ op: 'dir', path: d });
  const unsubscribe = owned.subscribe((c) => {
    send(c);
    onChange();
  });
  child.unref();
  (stdin as unknown as { unref?: () => void }).unref?.();
  const pid = child.pid;
  const start = pid === undefined ? undefined : startTimeOf(pid);
  if (pid === undefined || start === undefined) throw new Error(`could not start the stack's watchdog (${ENTRY})`);
  return {
    ref: { pid, start },
    close() {
      unsubscribe();
      stdin.end();
    },
  };
}
