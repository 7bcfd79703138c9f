import { parentPort } from 'node:worker_threads';
import { TASK_KINDS, knownKinds, type TaskExecutor } from './task-kinds.ts';
import type { ThreadReply, ThreadRequest } from './task-threads.ts';

// The host of executors in a task thread: one task at a time, its result sent back as JSON text (what the queue
// stores). A simulation blocks this thread, not the worker's main thread, which keeps renewing the task's lock.
const port = parentPort;
if (port === null) throw new Error('task-thread-main.ts runs only as a worker thread');
const executors = new Map<string, TaskExecutor>();

port.on('message', (m: ThreadRequest) => {
  void run(m).then((reply) => port.postMessage(reply));
});

async function run(m: ThreadRequest): Promise<ThreadReply> {
  try {
    let exec = executors.get(m.kind);
    if (exec === undefined) {
      const load = TASK_KINDS[m.kind];
      if (load === undefined) return { id: m.id, ok: false, message: `unknown task kind \`${m.kind}\`; this worker runs ${knownKinds().join(', ')}`, unknownKind: true };
      exec = await load();
      executors.set(m.kind, exec);
    }
    const result = await exec(JSON.parse(m.task) as never);
    return { id: m.id, ok: true, result: JSON.stringify(result) ?? 'null' };
  } catch (e) {
    return { id: m.id, ok: false, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e), unknownKind: false };
  }
}
