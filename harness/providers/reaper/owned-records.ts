import { startTimeOf, type OwnedProcess } from './reclaim.mjs';

/** A change to what this process owns, as the watchdog and the state file receive it. */
export type OwnedChange = { op: 'process'; process: OwnedProcess } | { op: 'forget'; pid: number } | { op: 'dir'; path: string } | { op: 'forgetDir'; path: string };

/**
 * Everything this process started or created for the stack, recorded as it happens: every child process
 * (`startProcess`) with its kernel start time, every private directory (`makeTempDir`). Forgotten when it ends or
 * is removed. A stack's supervisor subscribes and hands each change to its watchdog and its state file, so what
 * the stack owns can be reclaimed after the supervisor dies, however it dies.
 */
class OwnedRecords {
  readonly #processes = new Map<number, OwnedProcess>();
  readonly #dirs = new Set<string>();
  readonly #listeners = new Set<(c: OwnedChange) => void>();

  /** Records a child by pid; a child that is already gone (no start time) is not recorded. */
  process(pid: number, label: string): void {
    const start = startTimeOf(pid);
    if (start === undefined) return;
    const process = { pid, start, label };
    this.#processes.set(pid, process);
    this.#emit({ op: 'process', process });
  }

  forget(pid: number): void {
    if (this.#processes.delete(pid)) this.#emit({ op: 'forget', pid });
  }

  dir(path: string): void {
    this.#dirs.add(path);
    this.#emit({ op: 'dir', path });
  }

  forgetDir(path: string): void {
    if (this.#dirs.delete(path)) this.#emit({ op: 'forgetDir', path });
  }

  get processes(): OwnedProcess[] {
    return [...this.#processes.values()];
  }

  get dirs(): string[] {
    return [...this.#dirs];
  }

  /** Calls `listener` with every later change; returns the unsubscribe. */
  subscribe(listener: (c: OwnedChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(c: OwnedChange): void {
    for (const l of this.#listeners) l(c);
  }
}

/** This process's records (one per process: a supervisor runs one stack). */
export const owned = new OwnedRecords();
