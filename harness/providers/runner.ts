/**
 * What a backend hands to its started handle: the live process (if any), its data, and how to end it.
 *
 * The handle owns the public getters; the runner owns the lifecycle. Local backends implement `restart`, which is
 * what the live `restart`/`start` faults use after a SIGKILL of `pid`.
 */
export interface BackendRunner {
  /** The OS process to signal (the postmaster, redis-server, the Erlang VM), for local backends. */
  readonly pid: number | undefined;
  readonly dataDir: string | undefined;
  /** Stops gracefully and removes what the backend created. Idempotent. */
  stop(): Promise<void>;
  /** A graceful stop, if still running, then a start on the same port and data dir. Local backends only. */
  restart?(): Promise<void>;
  /** The last `lines` the process printed (stdout and stderr; the current process's, since its last start). Local backends only. */
  output?(lines: number): string[];
}
