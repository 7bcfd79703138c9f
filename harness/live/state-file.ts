import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { LiveRow } from './stack.ts';

/** What `twin up -d` leaves for `twin status` and `twin down`: the supervisor's pid, the rows, the endpoints. */
export interface StackState {
  supervisorPid: number;
  startedAt: string;
  ready: boolean;
  failed: boolean;
  version: string;
  rows: LiveRow[];
  endpoints: Record<string, string>;
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

/** Whether a process is alive (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
