import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { staleBundleReason } from '../../bin/bundle-check.mjs';

/** Plain JavaScript that registers the TypeScript loader in the thread, then imports `task-thread-main.ts`. */
const BOOT = new URL('./task-thread-boot.mjs', import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A task thread's module: the live bundle's prebuilt `dist/live/task-thread-main.mjs` when that bundle was built from
 * the files now on disk (`npm run build`), so no thread compiles the model's sources through tsx; else the sources.
 */
export function taskThreadEntry(root = ROOT): URL {
  const dir = join(root, 'dist', 'live');
  const prebuilt = join(dir, 'task-thread-main.mjs');
  return existsSync(prebuilt) && staleBundleReason(root, dir) === undefined ? pathToFileURL(prebuilt) : BOOT;
}

export interface ThreadRequest {
  id: number;
  kind: string;
  /** The task as JSON text. */
  task: string;
}

export type ThreadReply = { id: number; ok: true; result: string } | { id: number; ok: false; message: string; unknownKind: boolean };

/** A task ended because its thread was terminated (the worker releases it to the queue). */
export class TaskInterruptedError extends Error {
  override readonly name = 'TaskInterruptedError';
}

interface Slot {
  worker: Worker;
  busy: { id: number; settle: (r: ThreadReply | Error) => void } | undefined;
}

/**
 * At most `size` worker threads running executors, started when first needed and kept for the next task (a thread
 * loads its modules once). Each task runs in a free thread; `interrupt(id)` terminates the thread of a running
 * task, whose promise then rejects with TaskInterruptedError, and the slot starts a fresh thread next time.
 */
export class TaskThreads {
  readonly #slots: (Slot | undefined)[];
  #next = 1;

  /** Each thread's module (`taskThreadEntry()`), chosen once. */
  readonly #entry = taskThreadEntry();

  constructor(readonly size: number) {
    this.#slots = Array.from({ length: size }, () => undefined);
  }

  /** Runs one task; resolves with the executor's reply. More tasks at once than `size` is a programming error. */
  run(kind: string, taskJson: string): { id: number; reply: Promise<ThreadReply> } {
    const index = this.#slots.findIndex((s) => s === undefined || s.busy === undefined);
    if (index < 0) throw new Error(`TaskThreads: all ${this.size} threads are busy`);
    const slot = this.#slots[index] ?? this.#start(index);
    const id = this.#next++;
    const reply = new Promise<ThreadReply>((resolve, reject) => {
      slot.busy = { id, settle: (r) => (r instanceof Error ? reject(r) : resolve(r)) };
    });
    slot.worker.postMessage({ id, kind, task: taskJson } satisfies ThreadRequest);
    return { id, reply };
  }

  /** Terminates the thread running task `id` (if any): the task's promise rejects with TaskInterruptedError. */
  async interrupt(id: number): Promise<void> {
    const index = this.#slots.findIndex((s) => s?.busy?.id === id);
    const slot = this.#slots[index];
    if (slot === undefined) return;
    this.#slots[index] = undefined;
    slot.busy?.settle(new TaskInterruptedError(`task ${id} interrupted`));
    slot.busy = undefined;
    await slot.worker.terminate();
  }

  /** Ends every thread; running tasks reject with TaskInterruptedError. */
  async close(): Promise<void> {
    const slots = this.#slots.splice(0, this.#slots.length, ...this.#slots.map(() => undefined));
    await Promise.all(
      slots.map(async (slot) => {
        if (slot === undefined) return;
        slot.busy?.settle(new TaskInterruptedError('the worker is closing'));
        slot.busy = undefined;
        await slot.worker.terminate();
      }),
    );
  }

  #start(index: number): Slot {
    const worker = new Worker(this.#entry);
    const slot: Slot = { worker, busy: undefined };
    worker.on('message', (reply: ThreadReply) => {
      if (slot.busy?.id !== reply.id) return;
      const { settle } = slot.busy;
      slot.busy = undefined;
      settle(reply);
    });
    const lost = (why: string) => {
      if (this.#slots[index] === slot) this.#slots[index] = undefined;
      const busy = slot.busy;
      slot.busy = undefined;
      busy?.settle({ id: busy.id, ok: false, message: why, unknownKind: false });
    };
    worker.on('error', (e) => lost(`the task thread failed: ${e.message}`));
    worker.on('exit', (code) => lost(`the task thread exited (code ${code})`));
    this.#slots[index] = slot;
    return slot;
  }
}
