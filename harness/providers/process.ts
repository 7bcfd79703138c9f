import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { connect } from 'node:net';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ProviderError } from './types.ts';
import { owned } from './reaper/owned-records.ts';

/** The absolute path of an executable on PATH (or among `extraDirs`), or undefined. */
export function which(name: string, extraDirs: readonly string[] = []): string | undefined {
  for (const dir of [...extraDirs, ...(process.env.PATH ?? '').split(delimiter)]) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A child process whose output is kept (the last lines, for error messages) and which dies with us. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The last lines it printed (stdout and stderr). */
  tail(lines?: number): string;
  /** Resolves when it exits, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Leave nothing behind: private instances die with the harness, however it ends.
  process.on('exit', () => {
    for (const c of running) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export function startProcess(command: string, args: readonly string[], opts: SpawnOptions & { label: string }): ManagedProcess {
  installExitHook();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const pid = child.pid;
  if (pid === undefined) throw new ProviderError('START_FAILED', `${opts.label}: could not start ${command}`);
  running.add(child);
  // Recorded with its start time, so a reaper can end it if we die without stopping it (SIGKILL included).
  owned.process(pid, opts.label);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(l);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      owned.forget(pid);
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid,
    tail: (n = 20) => lines.slice(-n).join('\n'),
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves once a TCP connection to host:port succeeds; rejects with a typed error after `timeoutMs`. */
export async function waitForPort(host: string, port: number, opts: { timeoutMs: number; label: string; process?: ManagedProcess }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (opts.process && opts.process.child.exitCode !== null) {
      throw new ProviderError('START_FAILED', `${opts.label} exited with code ${opts.process.child.exitCode} before listening on ${host}:${port}:\n${opts.process.tail()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      throw new ProviderError('START_TIMEOUT', `${opts.label} did not listen on ${host}:${port} within ${opts.timeoutMs} ms${opts.process ? `:\n${opts.process.tail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** Math.min(attempt, 4), 500)));
  }
}
