import { readdirSync, readlinkSync } from 'node:fs';
import type { ManagedProcess } from './process.ts';
import type { BackendRunner } from './runner.ts';
import { hasExited, signalPid, stopProcess } from './stop-process.ts';
import { removeDir } from './temp-dir.ts';
import { sleep } from './wait.ts';

/** A running private server: our child process, and the pid to signal (the same, unless a VM was found via a pid file). */
export interface Launched {
  readonly process: ManagedProcess;
  readonly pid: number;
}

export interface LocalRunnerOptions {
  readonly label: string;
  /** Removed by stop(): everything the provider created lives under it. */
  readonly tempDir: string;
  readonly dataDir: string;
  /** Spawns the server on its settled port and dirs and resolves once it is ready (the same every time). */
  readonly launch: () => Promise<Launched>;
  /** The server's own graceful-stop signal. */
  readonly stopSignal: NodeJS.Signals;
  readonly graceMs: number;
  /**
   * After the server stops, processes still working in this directory are its orphans and are ended (postgres
   * backends chdir into the data dir and call setsid, so a SIGKILL of the postmaster leaves them in no group of ours).
   */
  readonly orphansWorkIn?: string;
}

/**
 * The lifecycle of a private server process: launch, graceful restart on the same port and dirs, and a stop
 * that always removes the temp dir. Lifecycle calls are serialised, so a restart racing a stop cannot leak.
 */
export class LocalProcessRunner implements BackendRunner {
  #current: Launched;
  #queue: Promise<unknown> = Promise.resolve();
  #stopped = false;

  private constructor(
    private readonly opts: LocalRunnerOptions,
    first: Launched,
  ) {
    this.#current = first;
  }

  /**
   * Launches the server (with `firstLaunch` if given: the one that may still pick its ports); if that fails the
   * temp dir is removed before the error is rethrown.
   */
  static async start(opts: LocalRunnerOptions, firstLaunch: () => Promise<Launched> = opts.launch): Promise<LocalProcessRunner> {
    try {
      return new LocalProcessRunner(opts, await firstLaunch());
    } catch (err) {
      await removeDir(opts.tempDir);
      throw err;
    }
  }

  get pid(): number {
    return this.#current.pid;
  }
  get dataDir(): string {
    return this.opts.dataDir;
  }

  output(lines: number): string[] {
    const text = this.#current.process.tail(lines);
    return text === '' ? [] : text.split('\n');
  }

  restart(): Promise<void> {
    return this.#serial(async () => {
      await this.#halt();
      this.#current = await this.opts.launch();
    });
  }

  stop(): Promise<void> {
    return this.#serial(async () => {
      if (this.#stopped) return;
      this.#stopped = true;
      try {
        await this.#halt();
      } finally {
        await removeDir(this.opts.tempDir);
      }
    });
  }

  async #halt(): Promise<void> {
    const { process: proc, pid } = this.#current;
    await stopProcess(proc, { signal: this.opts.stopSignal, graceMs: this.opts.graceMs, pid });
    // After a graceful stop there are none; after a SIGKILL the orphans are ended here, because a new postmaster
    // refuses to start while old backends still hold its shared memory.
    if (this.opts.orphansWorkIn !== undefined) await endOrphans(this.opts.orphansWorkIn);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

/**
 * Spawns, waits with the component's wait strategy, and on failure kills what it spawned before rethrowing:
 * a server that never became ready must not be left running.
 */
export async function spawnAndWait(spawn: () => ManagedProcess, wait: (proc: ManagedProcess) => Promise<void>): Promise<ManagedProcess> {
  const proc = spawn();
  try {
    await wait(proc);
    return proc;
  } catch (err) {
    if (!hasExited(proc)) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    throw err;
  }
}

/** Ends the processes whose working directory is `dir` (ours: it is a private temp dir) and waits until they are gone. */
async function endOrphans(dir: string): Promise<void> {
  let orphans = workingIn(dir);
  for (let i = 0; i < 100 && orphans.length > 0; i++) {
    for (const pid of orphans) signalPid(pid, 'SIGKILL');
    await sleep(50);
    orphans = workingIn(dir);
  }
}

/** The live processes whose cwd is `dir`, from /proc (Linux); empty elsewhere. Zombies have no cwd and are skipped. */
function workingIn(dir: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${e}/cwd`) === dir) found.push(Number(e));
    } catch {
      // exited, a zombie, or not ours to read
    }
  }
  return found;
}

/** How many times a first launch may pick new ports after losing the race between `freePort()` and the bind. */
const PORT_CLASH_ATTEMPTS = 3;

/**
 * Picks ports and launches; while the launch fails because a port was taken in the meantime, picks again
 * (a bounded number of times). Later restarts reuse the ports settled here.
 */
export async function launchOnFreePorts<P>(pick: () => Promise<P>, launchOn: (ports: P) => Promise<Launched>): Promise<{ ports: P; launched: Launched }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await pick();
    try {
      return { ports, launched: await launchOn(ports) };
    } catch (err) {
      if (attempt >= PORT_CLASH_ATTEMPTS || !isPortClash(err)) throw err;
    }
  }
}

/** A launch that lost its port to another process (RabbitMQ says `dist_port_already_used` of its Erlang distribution port). */
function isPortClash(err: unknown): boolean {
  return err instanceof Error && /address already in use|eaddrinuse|could not bind|dist_port_already_used/i.test(err.message);
}
