import { Worker } from 'node:worker_threads';

/** Plain JavaScript that registers the TypeScript loader in the thread, then imports `task-thread-main.ts`. */
const BOOT = new URL('./task-thread-boot.mjs', import.meta.url);

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
    const worker = new Worker(BOOT);
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
