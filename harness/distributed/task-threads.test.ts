import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile } from '../scenario/load.ts';
import { runExploreTask, type ExploreTask } from './explore-tasks.ts';
import { TaskInterruptedError, TaskThreads, taskThreadEntry } from './task-threads.ts';

const scenario = { ...loadScenarioFile(join(import.meta.dirname, '..', '..', 'scenarios', 'quiet-night.yaml'), { command: 'run' }), faults: [], expect: [] };
const task: ExploreTask = { scenario, schedules: [[], [{ atMs: 60_000, action: 'kill', target: 'rabbitmq', writtenTarget: 'rabbitmq', count: 1 }]] };

describe('TaskThreads: executors in worker threads', () => {
  const threads = new TaskThreads(1);
  afterAll(() => threads.close());

  it('runs a task of a registered kind in a thread: the result is the executor\'s, as JSON', async () => {
    const r = await threads.run('explore-schedules', JSON.stringify(task)).reply;
    expect(r.ok).toBe(true);
    expect(r.ok && r.result).toBe(JSON.stringify(runExploreTask(task)));
  });

  it('names an unknown kind and the kinds it runs', async () => {
    const r = await threads.run('tune-cel', '{}').reply;
    expect(r).toMatchObject({ ok: false, unknownKind: true, message: 'unknown task kind `tune-cel`; this worker runs explore-schedules, tune-cell' });
  });

  it('interrupts a running task (its promise rejects), and the slot runs the next task in a fresh thread', async () => {
    const many: ExploreTask = { scenario, schedules: Array.from({ length: 200 }, (_, i) => [{ atMs: (i + 1) * 1000, action: 'kill', target: 'rabbitmq', writtenTarget: 'rabbitmq', count: 1 }]) };
    const { id, reply } = threads.run('explore-schedules', JSON.stringify(many));
    expect(() => threads.run('explore-schedules', '{}')).toThrow(/all 1 threads are busy/);
    const rejected = expect(reply).rejects.toBeInstanceOf(TaskInterruptedError);
    await new Promise((r) => setTimeout(r, 200));
    await threads.interrupt(id);
    await rejected;
    const next = await threads.run('explore-schedules', JSON.stringify(task)).reply;
    expect(next.ok).toBe(true);
  });
});

describe('taskThreadEntry: the prebuilt thread module while the live bundle is current', () => {
  it('picks dist/live/task-thread-main.mjs only when the bundle was built from the files on disk', () => {
    const root = mkdtempSync(join(tmpdir(), 'twin-task-entry-'));
    try {
      expect(fileURLToPath(taskThreadEntry(root))).toMatch(/task-thread-boot\.mjs$/); // no bundle
      const live = join(root, 'dist', 'live');
      mkdirSync(live, { recursive: true });
      writeFileSync(join(root, 'a.ts'), 'export {};\n');
      const st = statSync(join(root, 'a.ts'));
      writeFileSync(join(live, 'manifest.json'), JSON.stringify({ inputs: { 'a.ts': [st.mtimeMs, st.size] } }));
      expect(fileURLToPath(taskThreadEntry(root))).toMatch(/task-thread-boot\.mjs$/); // a bundle without the module
      writeFileSync(join(live, 'task-thread-main.mjs'), '');
      expect(fileURLToPath(taskThreadEntry(root))).toBe(join(live, 'task-thread-main.mjs'));
      writeFileSync(join(root, 'a.ts'), 'export const changed = 1;\n');
      expect(fileURLToPath(taskThreadEntry(root))).toMatch(/task-thread-boot\.mjs$/); // stale
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
