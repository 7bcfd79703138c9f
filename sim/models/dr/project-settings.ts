import { Rng } from '../../engine/rng.ts';

/**
 * The projects of a DR rehearsal's workload, and which of them a `settings_change` of `breaks: project_settings`
 * changes: one source for the simulation (`dr-rehearsal.ts`) and the live rehearsal
 * (`harness/dr/live-kinds/project-settings.ts`), so that both break the builds of the same workflows.
 *
 * The workload's pushes go to `DR_PROJECTS` projects; each push workflow's project is a draw of its own stream
 * (by the workflow's number, never by event order: the arrivals and durations stay those of the baseline). The
 * change touches the first `changedProjectCount(share)` of them: `share` of the projects, rounded to whole projects
 * (at least one).
 */
export const DR_PROJECTS = 10;

/** How many of the `DR_PROJECTS` projects a change of `share` (0 < share ≤ 1) touches: rounded, at least one. */
export function changedProjectCount(share: number): number {
  return Math.min(DR_PROJECTS, Math.max(1, Math.round(share * DR_PROJECTS)));
}

/** The project (0-based, below `DR_PROJECTS`) of push workflow `key` (1-based, `planReplay`'s `key`) of `seed`'s run. */
export function projectOfWorkflow(seed: number, key: number): number {
  return new Rng(seed).fork('projects').fork(`workflow-${key}`).nextInt(DR_PROJECTS);
}

/** Whether a change of `share` of the projects touches `project`. */
export function projectChanged(project: number, share: number): boolean {
  return project < changedProjectCount(share);
}

/** What the change did, in the report's words. */
export function describeProjectChange(share: number): string {
  const n = changedProjectCount(share);
  return `the settings of ${n} of the ${DR_PROJECTS} projects (${Math.round((100 * n) / DR_PROJECTS)}%; share ${share}) were changed`;
}
