import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../main.ts';
import { captureIo } from '../capture-io.ts';
import { parseCliArgs } from '../args.ts';

const SCENARIO = join(import.meta.dirname, '..', '..', '..', 'scenarios', 'baseline.yaml');

async function twin(...argv: string[]) {
  const cap = captureIo();
  const code = await main(argv, cap.io, {});
  return { code, stdout: cap.stdout, stderr: cap.stderr };
}

describe('twin worker and --workers: the command line', () => {
  it('parses the worker\'s URL and options, and refuses what does not fit', () => {
    expect(parseCliArgs(['worker', 'redis://q:6379', '--concurrency', '3', '--once', '--stall-timeout', '5'])).toMatchObject({ command: 'worker', files: ['redis://q:6379'], concurrency: 3, once: true, stallTimeoutS: 5 });
    expect(() => parseCliArgs(['worker'])).toThrow(/`twin worker` takes one Redis URL/);
    expect(() => parseCliArgs(['worker', 'redis://a', 'redis://b'])).toThrow(/takes one Redis URL, got redis:\/\/a redis:\/\/b/);
    expect(() => parseCliArgs(['worker', 'redis://a', '--concurrency', '0'])).toThrow(/--concurrency must be a whole number from 1 to 64, got 0/);
    expect(() => parseCliArgs(['worker', 'redis://a', '--concurrency', '65'])).toThrow(/from 1 to 64, got 65/);
    expect(() => parseCliArgs(['worker', 'redis://a', '--stall-timeout', '3601'])).toThrow(/--stall-timeout must be a whole number from 1 to 3600/);
    expect(() => parseCliArgs(['run', SCENARIO, '--workers', 'redis://a'])).toThrow(/option --workers does not apply to `twin run`/);
    expect(parseCliArgs(['explore', SCENARIO, '--workers', 'redis://a', '--worker-timeout', '5'])).toMatchObject({ workers: 'redis://a', workerTimeoutMs: 5000 });
  });

  it('has help with its usage, options and exit codes', async () => {
    const r = await twin('worker', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: twin worker <redis-url> [--concurrency N] [--once] [--stall-timeout S]');
    expect(r.stdout).toMatch(/--once +exit once the queue has nothing waiting/);
    expect((await twin('explore', '--help')).stdout).toMatch(/--workers REDIS_URL +run the schedules on the twin's queue/);
  });

  it('a bad URL is exit 2 naming it, with an example; an unreachable Redis is exit 2 naming the URL, with a hint', async () => {
    const bad = await twin('worker', 'http://queue.internal:6379');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^twin worker: bad Redis URL for the queue: .*http:\/\/queue\.internal:6379/);
    expect(bad.stderr).toMatch(/\n {2}hint: give the URL of a Redis every worker machine reaches, like redis:\/\//);
    // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    const down = await twin('worker', 'redis://127.0.0.1:1');
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^twin worker: cannot reach the queue's Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(down.stderr).toContain('hint: check the URL and that Redis runs there');
  });

  it('`twin explore --workers`: a bad or unreachable URL is exit 2 and nothing is written; --worker-timeout needs --workers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twin-workers-cli-'));
    try {
      const out = join(dir, 'out');
      const bad = await twin('explore', SCENARIO, '--runs', '3', '--seed', '1', '--out', out, '--workers', 'redis://host/not-a-db');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^twin explore: bad Redis URL for the queue: .*\/not-a-db/);
      const down = await twin('explore', SCENARIO, '--runs', '3', '--seed', '1', '--out', out, '--workers', 'redis://127.0.0.1:1', '-q');
      expect(down.code).toBe(2);
      expect(down.stderr).toContain("twin explore: cannot reach the queue's Redis at redis://127.0.0.1:1");
      expect(existsSync(out)).toBe(false);
      const lonely = await twin('explore', SCENARIO, '--runs', '3', '--worker-timeout', '5');
      expect(lonely.code).toBe(2);
      expect(lonely.stderr).toContain('twin explore: --worker-timeout applies only with --workers REDIS_URL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
