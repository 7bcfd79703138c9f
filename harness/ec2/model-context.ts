import type { IdGenerator } from './ids.ts';

/** Something that happened in the model, for the harness to observe (a reboot for CreateImage, an IP moved). */
export interface CloudEvent {
  readonly atMs: number;
  readonly kind:
    | 'instance-state'
    | 'instance-rebooted'
    | 'snapshot-created'
    | 'snapshot-completed'
    | 'snapshot-copied'
    | 'image-available'
    | 'private-ip-moved'
    | 'asg-lifecycle'
    | 'asg-capacity';
  readonly resourceId: string;
  readonly detail: string;
}

/**
 * What the EC2 and Auto Scaling models share: the time (read from the injected clock, advanced lazily), a way
 * to be called back later, the id generator, and the account they act for.
 */
export interface ModelContext {
  readonly accountId: string;
  readonly region: string;
  readonly ids: IdGenerator;
  /** Epoch ms, as of the last sync. */
  now(): number;
  /** Fires every callback that is due by the clock's current time, in time order. */
  sync(): void;
  /** Calls `fn` `delayMs` (model time) from now; returns a cancel function. */
  after(delayMs: number, fn: () => void): () => void;
  emit(kind: CloudEvent['kind'], resourceId: string, detail: string): void;
}

/** `2020-01-21 13:48:33 GMT`, as EC2 writes it in state transition reasons. */
export function gmtStamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} GMT`;
}
