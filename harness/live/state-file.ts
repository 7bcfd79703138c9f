import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { LiveRow } from './stack.ts';
import { isRunning } from '../providers/reaper/reclaim.mjs';
import type { StackOwner } from '../providers/reaper/watchdog.ts';

/**
 * What `twin up` leaves for `twin status` and `twin down`: the supervisor's pid, the rows, the endpoints, and
 * everything the stack owns (rewritten as it is created), so that its remains can be ended after the supervisor died.
 */
export interface StackState {
  supervisorPid: number;
  startedAt: string;
  ready: boolean;
  failed: boolean;
  version: string;
  rows: LiveRow[];
  endpoints: Record<string, string>;
  owner?: StackOwner;
  /** Set by the watchdog once it ended the remains of a supervisor that died. */
  reclaimed?: { by: 'watchdog'; at: string; processes: number; dirs: number; bytes: number };
}

/** `.twin/stack.json` under the current directory (ignored by git). */
export function stateFile(cwd = process.cwd()): string {
  return resolve(join(cwd, '.twin', 'stack.json'));
}

export function writeState(file: string, state: StackState): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

export function readState(file: string): StackState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

export function removeState(file: string): void {
  rmSync(file, { force: true });
}

/** Whether the state's supervisor still runs: the same pid and start time (a reused pid is another process). */
export function supervisorRunning(s: StackState): boolean {
  return s.owner ? isRunning(s.owner.supervisor) : alive(s.supervisorPid);
}

/** Whether a process is alive (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
