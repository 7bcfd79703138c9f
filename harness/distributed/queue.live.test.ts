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
import { WorkerProcess } from './worker-process.ts';
import { runOnQueue } from './submit.ts';

// Without the Debian package (a fresh machine; `.ci/run` installs it) these skip, saying why in one line.
const noRedis = missingPackagesReason('distributed queue (BullMQ on a private redis-server)', [LOCAL_PROGRAMS.redis()]);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCENARIO = join(ROOT, 'scenarios', 'baseline.yaml');
const RUNS = '80';
const SEED = '7';

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

    // A task that throws on a worker fails the submission at once, naming the task and the error (exit 2 at the CLI).
    await expect(runOnQueue({ url: redis.url, kind: 'explore-schedules', tasks: [{ schedules: [[]] }] })).rejects.toThrow(/^task 0 of 1 \(explore-schedules\) failed on a worker: TypeError: .* \(on [^)]+\)$/);
    expect(b.log).toMatch(/failed explore-schedules task 0 of run \w+: TypeError/);

    b.child.kill('SIGKILL');
  }, 600_000);

  it('a worker signalled twice puts its running task back in the queue at once; SIGTERM stops a worker with exit 0; --once exits on an empty queue', async () => {
    // An hour's lock: only an explicit release lets another worker take C's task within this test.
    const b = new WorkerProcess(redis.url, ['--concurrency', '2']);
    const c = new WorkerProcess(redis.url, ['--stall-timeout', '3600']);
    workers.push(b, c);
    await Promise.all([b.line(/connected to/), c.line(/connected to/)]);
    const queued = captureIo();
    const submitted = main(['explore', SCENARIO, '--runs', '48', '--seed', '8', '--out', join(dir, 'released'), '--workers', redis.url, '-q'], queued.io, {});
    const [, index, runId] = await c.line(/started explore-schedules task (\d+) of run (\w+)/);
    c.child.kill('SIGTERM');
    await c.line(/stopping: the running tasks finish first/);
    c.child.kill('SIGTERM');
    expect(await c.exited).toBe(0);
    expect(c.log).toContain(`released explore-schedules task ${index} of run ${runId} to the queue`);
    // Released, not stalled: B takes it again although C's lock would last an hour.
    expect(await submitted).toBe(0);
    expect(b.log).toMatch(new RegExp(`started explore-schedules task ${index} of run ${runId} \\(attempt 2`));
    const local = captureIo();
    expect(await main(['explore', SCENARIO, '--runs', '48', '--seed', '8', '--out', join(dir, 'released-local'), '-q'], local.io, {})).toBe(0);
    expect(readFileSync(join(dir, 'released', 'explore.json'), 'utf8')).toBe(readFileSync(join(dir, 'released-local', 'explore.json'), 'utf8'));

    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(b.log).toMatch(/stopped after \d+ tasks?/);

    const once = new WorkerProcess(redis.url, ['--once']);
    workers.push(once);
    expect(await once.exited).toBe(0);
    expect(once.log).toContain('the queue is empty: stopping (--once) after 0 tasks');
  }, 300_000);
});
