import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { isStopped, signalPid } from './stop-process.ts';

describe('signalPid', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  /** A child with several threads, busy: node spinning on its main thread. */
  async function busyChild() {
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("up\\n"); for (;;) {}'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(child);
    await once(child.stdout!, 'data');
    return child;
  }

  it('returns from SIGSTOP only once every thread is stopped, and SIGCONT lets it run again', async () => {
    const child = await busyChild();
    expect(isStopped(child.pid!)).toBe(false);
    expect(signalPid(child.pid!, 'SIGSTOP')).toBe(true);
    expect(isStopped(child.pid!)).toBe(true);
    expect(signalPid(child.pid!, 'SIGCONT')).toBe(true);
    // Running again: its busy thread leaves the stopped state (polled: SIGCONT, too, is delivered asynchronously).
    let running = false;
    for (let i = 0; i < 200 && !running; i++) {
      running = !isStopped(child.pid!);
      if (!running) await new Promise((r) => setTimeout(r, 5));
    }
    expect(running).toBe(true);
  });

  it('treats a process that is gone as done', async () => {
    const child = await busyChild();
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(signalPid(child.pid!, 'SIGSTOP')).toBe(false);
    expect(isStopped(child.pid!)).toBe(true);
  });
});
