import type { TuneCellResult, TuneCellTask } from './cell.ts';

/** The parent asks a worker to run one task. */
export interface PoolRequest {
  id: number;
  task: TuneCellTask;
}

/** An error as it crosses a thread: its name, message, and a located scenario problem's issues and hint. */
export interface PoolError {
  name: string;
  message: string;
  hint?: string;
  issues?: unknown[];
  stack?: string;
}

/** A worker answers with the result, or with the error the task threw. */
export type PoolReply = { id: number; result: TuneCellResult } | { id: number; error: PoolError };

export function errorMessage(e: unknown): PoolError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const out: PoolError = { name: e.name, message: e.message };
  if ('hint' in e && typeof e.hint === 'string') out.hint = e.hint;
  if ('issues' in e && Array.isArray(e.issues)) out.issues = e.issues;
  if (e.stack !== undefined) out.stack = e.stack;
  return out;
}
