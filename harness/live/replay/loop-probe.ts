import { readFileSync, readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tree } from '../../providers/process-tree.ts';
import { isMainThread, workerData } from 'node:worker_threads';

/**
 * With `TWIN_LOOP_PROBE` set, this thread writes its event-loop delay (p50, p99, max, ms) to stderr every 2 s:
 * a profiling aid for the live replay (each stage's worker and the main thread), off by default.
 */
export function startLoopProbe(): void {
  if (!process.env['TWIN_LOOP_PROBE']) return;
  const name = isMainThread ? 'main' : String((workerData as { stage?: string } | null)?.stage ?? 'worker');
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t = setInterval(() => {
    const ms = (ns: number) => (ns / 1e6).toFixed(0);
    process.stderr.write(`[loop ${name} ${new Date().toISOString().slice(11, 19)}] p50 ${ms(h.percentile(50))} p99 ${ms(h.percentile(99))} max ${ms(h.max)}\n`);
    h.reset();
  }, 2_000);
  t.unref();
}

/** CPU seconds (user + system) of a thread or process from its /proc stat line; 0 when gone. */
function cpuS(path: string): number {
  try {
    const f = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds so far: this process's main thread, its other threads (the stages' workers, libuv, V8), and its descendants. */
export function cpuSnapshot(): { main: number; otherThreads: number; children: number; byThread: Map<string, number> } {
  const pid = process.pid;
  let all = 0;
  const byThread = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const s = cpuS(`/proc/${pid}/task/${tid}/stat`);
    all += s;
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      // gone
    }
    byThread.set(`${tid} ${comm}`, s);
  }
  const main = cpuS(`/proc/${pid}/task/${pid}/stat`);
  const children = tree(pid).filter((p) => p !== pid).reduce((a, p) => a + cpuS(`/proc/${p}/stat`), 0);
  return { main, otherThreads: all - main, children, byThread };
}
