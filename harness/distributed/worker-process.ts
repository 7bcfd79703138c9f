import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `twin worker <url>` as a real child process (bin/twin.js), its stderr kept: for the live tests and the bench. */
export class WorkerProcess {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<number | null>;

  constructor(url: string, extra: readonly string[] = []) {
    this.child = spawn(process.execPath, [join(ROOT, 'bin', 'twin.js'), 'worker', url, ...extra], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first log line matching `re`; rejects if the worker exits first. Bounded by the caller's timeout. */
  async line(re: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const m = this.log.split('\n').map((l) => re.exec(l)).find((x) => x !== null);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`the worker exited (${this.child.exitCode}) before ${re}:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
