/**
 * The kinds of task the queue runs, by name: each a loader of its executor, imported only when a worker first runs
 * that kind (a worker never loads what it is not asked to run). An executor takes a task as JSON and returns its
 * result as JSON; it must be deterministic, because a task may run more than once (a worker killed mid-task) and
 * only the first result is kept.
 *
 * To add a kind: one line here, and the submitting command calls `runOnQueue({ kind, tasks, ... })`.
 */
export type TaskExecutor = (task: never) => unknown;

export const TASK_KINDS: Readonly<Record<string, () => Promise<TaskExecutor>>> = {
  'explore-schedules': async () => (await import('./explore-tasks.ts')).runExploreTask,
};

export type TaskKind = keyof typeof TASK_KINDS;

export function knownKinds(): string[] {
  return Object.keys(TASK_KINDS).sort();
}
