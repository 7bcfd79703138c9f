/**
 * How long each close of a stopping stage may take: a broker that stopped answering (SIGSTOP, or Erlang's break
 * handler after a terminal's Ctrl-C) never confirms a cancel or a close. What is left open then ends with the broker.
 */
export const CLOSE_GRACE_MS = 3_000;

/**
 * What one stage opened (pools, clients, the stage, its health server), closed last first when it stops; each
 * close has `CLOSE_GRACE_MS`, so one that hangs holds up neither the others nor the stack's `down`.
 */
export class Owned {
  private readonly closers: (() => Promise<unknown>)[] = [];

  add<T>(thing: T, close: (t: T) => Promise<unknown>): T {
    this.closers.push(() => close(thing));
    return thing;
  }

  async close(): Promise<void> {
    for (const c of this.closers.splice(0).reverse()) await settledOrAfter(c(), CLOSE_GRACE_MS);
  }
}

/** Resolves once `p` settled (resolved or rejected), or after `ms` if it has not; `p` keeps running either way. */
export function settledOrAfter(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}
