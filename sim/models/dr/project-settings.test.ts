import { describe, expect, it } from 'vitest';
import { changedProjectCount, DR_PROJECTS, projectChanged, projectOfWorkflow } from './project-settings.ts';

describe('project_settings: the projects a change touches', () => {
  it('touches share of the projects, rounded to whole projects, at least one', () => {
    expect(changedProjectCount(1)).toBe(DR_PROJECTS);
    expect(changedProjectCount(0.3)).toBe(3);
    expect(changedProjectCount(0.01)).toBe(1);
    expect([0, 1, 2, 3].map((p) => projectChanged(p, 0.3))).toEqual([true, true, true, false]);
  });

  it("each workflow's project is a stable draw: the same for the same seed and key, spread over every project", () => {
    expect(projectOfWorkflow(13, 7)).toBe(projectOfWorkflow(13, 7));
    const projects = Array.from({ length: 400 }, (_, i) => projectOfWorkflow(13, i + 1));
    expect(new Set(projects).size).toBe(DR_PROJECTS);
    const changed = projects.filter((p) => projectChanged(p, 0.3)).length / projects.length;
    expect(changed).toBeGreaterThan(0.2);
    expect(changed).toBeLessThan(0.4);
  });
});
