import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killLeftovers } from './real-nomad.ts';

/** Running: a process killed but not yet reaped by whoever inherited it is a zombie, not alive. */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};
const exited = (p: ReturnType<typeof spawn>) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

describe('killLeftovers', () => {
  const spawned: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const p of spawned) p.kill('SIGKILL');
  });

  it('kills what names the agent dir and its children (an executor and its task), nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twin-leftovers-'));
    // An "executor" whose arguments name its alloc dir, with a "task" of its own that does not.
    const executor = spawn('sh', ['-c', 'sleep 60 & echo $!; wait', 'executor', join(dir, 'alloc', 'a1', 'executor.out')], { stdio: ['ignore', 'pipe', 'ignore'] });
    const other = spawn('sleep', ['60']);
    spawned.push(executor, other);
    const task = Number(await new Promise<string>((r) => executor.stdout!.once('data', (d: Buffer) => r(d.toString().trim()))));
    expect(alive(task)).toBe(true);
    expect(killLeftovers(dir)).toBe(2);
    await exited(executor);
    await new Promise((r) => setTimeout(r, 50));
    expect(alive(task)).toBe(false);
    expect(alive(other.pid!)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});
