import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeReclaimed, findOwned, isOwnedDir, isRunning, reclaim, startTimeOf } from './reclaim.mjs';
import { owned } from './owned-records.ts';
import { ownerNow, selfRef, startWatchdog } from './watchdog.ts';
import { startProcess } from '../process.ts';
import { makeTempDir, removeDir } from '../temp-dir.ts';

// Real processes (`sleep`) and real directories: the reaper's whole job is /proc, kill(2) and rm.
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sleeper(opts: { cwd?: string; detached?: boolean; script?: string } = {}): { child: ChildProcess; rec: { pid: number; start: string } } {
  const child = spawn('sh', ['-c', opts.script ?? 'exec sleep 60'], { cwd: opts.cwd, detached: opts.detached ?? false, stdio: 'ignore' });
  children.push(child);
  return { child, rec: { pid: child.pid!, start: startTimeOf(child.pid!)! } };
}

function twinDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'twin-reaper-test-'));
  dirs.push(d);
  writeFileSync(join(d, 'data'), Buffer.alloc(64 * 1024, 1));
  return d;
}

/** The pids whose parent is `pid`, from /proc (a shell's background job). */
function childrenOf(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

async function until(check: () => boolean, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
}

describe('reclaim', () => {
  it('kills a recorded process and its descendants, removes its recorded dir and says how much', async () => {
    const dir = twinDir();
    const { rec } = sleeper({ script: 'sleep 60 & sleep 60 & wait' });
    expect(await until(() => childrenOf(rec.pid).length === 2)).toBe(true);
    const grandchildren = childrenOf(rec.pid).map((pid) => ({ pid, start: startTimeOf(pid)! }));
    const r = reclaim({ processes: [rec], dirs: [dir] });
    expect(r).toMatchObject({ processes: 3, dirs: 1, survivors: [] });
    expect(r.bytes).toBeGreaterThanOrEqual(64 * 1024);
    for (const p of [rec, ...grandchildren]) expect(isRunning(p), `pid ${p.pid}`).toBe(false);
    expect(existsSync(dir)).toBe(false);
    // Idempotent: nothing is left to reclaim.
    expect(reclaim({ processes: [rec], dirs: [dir] })).toMatchObject({ processes: 0, dirs: 0, bytes: 0 });
  });

  it('never kills a pid whose start time is not the recorded one (a reused pid is another process)', () => {
    const { rec } = sleeper();
    const r = reclaim({ processes: [{ pid: rec.pid, start: String(Number(rec.start) - 1) }] });
    expect(r.processes).toBe(0);
    expect(isRunning(rec)).toBe(true);
  });

  it('ends the processes working in a recorded dir though nothing records them (postgres backends after setsid)', () => {
    const dir = twinDir();
    mkdirSync(join(dir, 'data-dir'));
    const { rec } = sleeper({ cwd: join(dir, 'data-dir'), detached: true });
    expect(findOwned({ dirs: [dir] }).map((s) => s.pid)).toContain(rec.pid);
    expect(reclaim({ dirs: [dir] }).processes).toBe(1);
    expect(isRunning(rec)).toBe(false);
  });

  it("ends what is left in a dead supervisor's session, and nothing of a session whose leader lives", async () => {
    // A detached shell leads its own session, starts a sleep in it and exits: the sleep is what a dead supervisor left.
    const sh = spawn('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    sh.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise((r) => sh.on('close', r));
    const rec = { pid: Number(out.trim()), start: startTimeOf(Number(out.trim()))! };
    try {
      expect(isRunning(rec)).toBe(true);
      expect(findOwned({ session: sh.pid! }).map((s) => s.pid)).toEqual([rec.pid]);
      expect(reclaim({ session: sh.pid! }).processes).toBe(1);
      expect(isRunning(rec)).toBe(false);
    } finally {
      if (isRunning(rec)) process.kill(rec.pid, 'SIGKILL');
    }
    const leader = sleeper({ detached: true });
    expect(findOwned({ session: leader.rec.pid })).toEqual([]);
  });

  it('removes only absolute, normalised `twin-…` directories, never a symlink to one', () => {
    const keep = mkdtempSync(join(tmpdir(), 'keep-'));
    dirs.push(keep);
    const link = join(tmpdir(), `twin-link-${process.pid}`);
    symlinkSync(keep, link);
    dirs.push(link);
    expect(isOwnedDir(keep)).toBe(false);
    expect(isOwnedDir(link)).toBe(false);
    expect(isOwnedDir(`${twinDir()}/../${'x'}`)).toBe(false);
    expect(isOwnedDir('twin-relative')).toBe(false);
    expect(reclaim({ dirs: [keep, link, 'twin-relative', '/'] })).toMatchObject({ dirs: 0 });
    expect(existsSync(keep)).toBe(true);
  });

  it('says what it reclaimed in one phrase', () => {
    expect(describeReclaimed({ processes: 9, dirs: 3, bytes: 412 * 1024 * 1024 })).toBe('9 processes, 3 dirs (412 MiB)');
    expect(describeReclaimed({ processes: 1, dirs: 1, bytes: 1024 * 1024 })).toBe('1 process, 1 dir (1.0 MiB)');
  });
});

describe('owned records', () => {
  it('records every started process with its start time and every private dir, and forgets them when they end', async () => {
    const proc = startProcess('sleep', ['60'], { label: 'sleep' });
    expect(owned.processes).toContainEqual({ pid: proc.pid, start: startTimeOf(proc.pid), label: 'sleep' });
    const dir = await makeTempDir('records-test');
    expect(owned.dirs).toContain(dir);
    expect(ownerNow(undefined)).toMatchObject({ supervisor: selfRef()!.ref, processes: expect.arrayContaining([expect.objectContaining({ pid: proc.pid })]) });
    await proc.stop(1_000);
    await removeDir(dir);
    expect(owned.processes.map((p) => p.pid)).not.toContain(proc.pid);
    expect(owned.dirs).not.toContain(dir);
  });
});

describe('the watchdog', () => {
  it('ends what it was told of once its pipe closes (as when the supervisor dies), and notes it in the state file', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'twin-watchdog-state-'));
    dirs.push(stateDir);
    const file = join(stateDir, 'stack.json');
    writeFileSync(file, JSON.stringify({ supervisorPid: process.pid, owner: ownerNow(undefined) }));
    const watchdog = startWatchdog(file, 'ignore', () => undefined)!;
    const proc = startProcess('sleep', ['60'], { label: 'sleep' });
    const dir = await makeTempDir('watchdog-test');
    const rec = { pid: proc.pid, start: startTimeOf(proc.pid)! };
    try {
      // Alive while the pipe is open.
      await new Promise((r) => setTimeout(r, 300));
      expect(isRunning(watchdog.ref)).toBe(true);
      expect(isRunning(rec)).toBe(true);
      watchdog.close();
      expect(await until(() => !isRunning(rec) && !existsSync(dir) && !isRunning(watchdog.ref), 8_000)).toBe(true);
      expect(JSON.parse(readFileSync(file, 'utf8')).reclaimed).toMatchObject({ by: 'watchdog', processes: 1, dirs: 1 });
    } finally {
      await proc.stop(1_000);
      await removeDir(dir);
    }
  });
});
