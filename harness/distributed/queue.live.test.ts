import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { captureIo } from '../cli/capture-io.ts';
import { LOCAL_PROGRAMS, missingPackagesReason } from '../providers/missing-packages.ts';
import { RedisProvider } from '../providers/redis/redis-provider.ts';
import type { StartedRedis } from '../providers/redis/started-redis.ts';

// Without the Debian package (a fresh machine; `.ci/run` installs it) these skip, saying why in one line.
const noRedis = missingPackagesReason('distributed queue (BullMQ on a private redis-server)', [LOCAL_PROGRAMS.redis()]);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCENARIO = join(ROOT, 'scenarios', 'baseline.yaml');
const RUNS = '80';
const SEED = '7';

/** A `twin worker` as a real child process, its stderr kept line by line. */
class WorkerProcess {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<number | null>;

  constructor(url: string, extra: string[] = []) {
    this.child = spawn(process.execPath, [join(ROOT, 'bin', 'twin.js'), 'worker', url, ...extra], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first line matching `re` (bounded by the test's timeout). */
  async line(re: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const m = this.log.split('\n').map((l) => re.exec(l)).find((x) => x !== null);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`the worker exited (${this.child.exitCode}) before ${re}:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe.skipIf(noRedis !== undefined)('the twin\'s queue on a real Redis, with real `twin worker` processes', () => {
  let redis: StartedRedis;
  let dir: string;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    redis = await new RedisProvider().withBackend('local').start();
    dir = mkdtempSync(join(tmpdir(), 'twin-distributed-'));
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails clearly when no worker takes a task, and removes its tasks; nothing is written', async () => {
    const cap = captureIo();
    const out = join(dir, 'no-worker');
    const code = await main(['explore', SCENARIO, '--runs', '5', '--seed', SEED, '--out', out, '--workers', redis.url, '--worker-timeout', '1', '-q'], cap.io, {});
    expect(code).toBe(2);
    expect(cap.stderr).toContain(`twin explore: no worker took any task within 1 s on the queue at ${redis.url}`);
    expect(cap.stderr).toContain(`hint: start one on this or any machine that reaches that Redis: twin worker ${redis.url}`);
    expect(existsSync(out)).toBe(false);
    const client = redis.client();
    expect(await client.llen('twin:tasks:wait')).toBe(0);
    client.disconnect();
  }, 120_000);

  it('two workers share an exploration; one SIGKILLed mid-task: its task is retried by the other, counted once, and explore.json equals the local run\'s', async () => {
    const local = captureIo();
    expect(await main(['explore', SCENARIO, '--runs', RUNS, '--seed', SEED, '--out', join(dir, 'local'), '-q'], local.io, {})).toBe(0);

    // A 2 s lock: the killed worker's task goes back to the queue about 2 s after the kill.
    const a = new WorkerProcess(redis.url, ['--stall-timeout', '2']);
    const b = new WorkerProcess(redis.url, ['--stall-timeout', '2']);
    workers.push(a, b);
    await Promise.all([a.line(/connected to/), b.line(/connected to/)]);

    const queued = captureIo();
    const submitted = main(['explore', SCENARIO, '--runs', RUNS, '--seed', SEED, '--out', join(dir, 'queued'), '--workers', redis.url, '-q'], queued.io, {});
    // A's second task starts once its thread is warm: it is then inside a simulation when killed.
    await a.line(/finished explore-schedules task/);
    while ([...a.log.matchAll(/started explore-schedules task/g)].length < 2) await new Promise((r) => setTimeout(r, 50));
    const [, index, runId] = [...a.log.matchAll(/started explore-schedules task (\d+) of run (\w+)/g)].at(-1)!;
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe(null);
    expect(a.log).not.toContain(`finished explore-schedules task ${index} of run ${runId}`);

    expect(await submitted).toBe(0);
    // The other worker took the dead one's task again, as attempt 2.
    expect(b.log).toMatch(new RegExp(`started explore-schedules task ${index} of run ${runId} \\(attempt 2`));
    expect(b.log).toContain(`finished explore-schedules task ${index} of run ${runId}`);
    expect(queued.stderr).toMatch(/the queue ran 81 schedules \(1 task retried after a worker left it, each counted once\); 0 run here/);
    expect(readFileSync(join(dir, 'queued', 'explore.json'), 'utf8')).toBe(readFileSync(join(dir, 'local', 'explore.json'), 'utf8'));
    expect(queued.stdout).toBe(local.stdout);
    // The run's keys are gone once collected.
    const client = redis.client();
    expect(await client.keys(`twin:run:${runId}:*`)).toEqual([]);
    client.disconnect();

    // SIGTERM: the worker stops gracefully, exit 0.
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(b.log).toMatch(/stopped after \d+ tasks?/);
  }, 600_000);
});
