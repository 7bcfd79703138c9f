// What a stack owns, found and ended from /proc: shared by the watchdog (plain JavaScript, so it starts without the
// TypeScript loader in a few tens of milliseconds) and by `twin down` / `twin up` (through reclaim.d.mts).
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { basename, isAbsolute, normalize, sep } from 'node:path';

/** How long reclaim waits for the processes it SIGKILLed to be gone. */
export const RECLAIM_WAIT_MS = 5_000;
/** How many times reclaim looks again for processes forked while it was killing (each pass catches the newer ones). */
const RECLAIM_PASSES = 4;
/** The directories a stack makes are `<data root>/twin-<component>-XXXXXX`: no other directory is ever removed. */
const OWNED_DIR_PREFIX = 'twin-';
/** A bound on the files counted for the size report (a private cluster is a few thousand). */
const MAX_FILES_COUNTED = 200_000;

/**
 * The kernel's start time of `pid` (clock ticks since boot, field 22 of /proc/<pid>/stat), as a string; undefined
 * when it is gone. A pid with another start time is another process: the reaper never kills a reused pid.
 */
export function startTimeOf(pid) {
  return procStat(pid)?.start;
}

/** Whether the process recorded as `{ pid, start }` still runs (a zombie does not). */
export function isRunning(rec) {
  const s = procStat(rec.pid);
  return s !== undefined && s.start === rec.start && s.state !== 'Z' && s.state !== 'X';
}

/** state, ppid, session and start time of `pid` from /proc/<pid>/stat, or undefined (gone, or no /proc). */
export function procStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses: the fields follow the last one.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: f[0], ppid: Number(f[1]), session: Number(f[3]), start: f[19] };
}

function processTable() {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const table = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const s = procStat(Number(e));
    if (s !== undefined) table.push(s);
  }
  return table;
}

/** A directory the reaper may remove: absolute, normalised, named `twin-…`, a real directory (not a symlink). */
export function isOwnedDir(dir) {
  if (typeof dir !== 'string' || !isAbsolute(dir) || normalize(dir) !== dir || !basename(dir).startsWith(OWNED_DIR_PREFIX)) return false;
  try {
    return lstatSync(dir).isDirectory();
  } catch {
    return false;
  }
}

function cwdUnder(pid, dirs) {
  let cwd;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return false; // gone, a zombie, or not ours to read
  }
  return dirs.some((d) => cwd === d || cwd.startsWith(d + sep));
}

/**
 * The live processes that belong to `owner`: each recorded process whose start time still matches; every process of
 * the supervisor's session once its leader is gone (its pid is then still reserved by that session, so never reused);
 * every process working in a recorded directory (postgres backends call setsid and are left behind by a SIGKILL of
 * the postmaster); and every descendant of those. Never `exclude` (the caller) nor pid 1.
 */
export function findOwned(owner, exclude = [process.pid]) {
  const table = processTable();
  const skip = new Set([1, ...exclude]);
  const found = new Map();
  const add = (s) => {
    if (!skip.has(s.pid) && s.state !== 'Z' && s.state !== 'X') found.set(s.pid, s);
  };
  const byPid = new Map(table.map((s) => [s.pid, s]));
  for (const rec of owner.processes ?? []) {
    const s = byPid.get(rec.pid);
    if (s !== undefined && s.start === rec.start) add(s);
  }
  const session = owner.session;
  if (typeof session === 'number' && session > 1 && !byPid.has(session)) for (const s of table) if (s.session === session) add(s);
  const dirs = (owner.dirs ?? []).filter(isOwnedDir);
  if (dirs.length > 0) for (const s of table) if (!found.has(s.pid) && cwdUnder(s.pid, dirs)) add(s);
  // Descendants, to a fixed point (bounded by the table's size).
  for (let grew = true, i = 0; grew && i < table.length; i++) {
    grew = false;
    for (const s of table) {
      if (!found.has(s.pid) && found.has(s.ppid) && !skip.has(s.pid)) {
        add(s);
        grew = true;
      }
    }
  }
  return [...found.values()];
}

/** The bytes a directory tree takes on its file system (allocated blocks), counting at most MAX_FILES_COUNTED files. */
export function diskUsage(dir) {
  let bytes = 0;
  const stack = [dir];
  for (let n = 0; stack.length > 0 && n < MAX_FILES_COUNTED; n++) {
    const path = stack.pop();
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    bytes += st.blocks * 512;
    if (!st.isDirectory()) continue;
    try {
      for (const e of readdirSync(path)) stack.push(`${path}${sep}${e}`);
    } catch {
      // unreadable: counted as its own size only
    }
  }
  return bytes;
}

const napCell = new Int32Array(new SharedArrayBuffer(4));
function nap(ms) {
  Atomics.wait(napCell, 0, 0, ms);
}

/**
 * Ends what `owner` ({ processes: [{ pid, start }], dirs: [path], session? }) still holds: SIGKILLs every process
 * `findOwned` finds (looking again for ones forked meanwhile), waits up to RECLAIM_WAIT_MS for them to be gone, then
 * removes every recorded `twin-…` directory that exists. Synchronous (a reaper's last act must not depend on an
 * event loop) and idempotent. Returns what it ended: `{ processes, dirs, bytes, survivors }`.
 */
export function reclaim(owner, opts = {}) {
  const exclude = opts.exclude ?? [process.pid];
  const killed = new Map();
  for (let pass = 0; pass < RECLAIM_PASSES; pass++) {
    const found = findOwned(owner, exclude).filter((s) => killed.get(s.pid) !== s.start);
    if (found.length === 0) break;
    for (const s of found) {
      try {
        process.kill(s.pid, 'SIGKILL');
        killed.set(s.pid, s.start);
      } catch {
        // gone already, or not ours to signal (then it is a survivor below)
      }
    }
  }
  const deadline = Date.now() + (opts.waitMs ?? RECLAIM_WAIT_MS);
  let survivors = [...killed].filter(([pid, start]) => isRunning({ pid, start }));
  while (survivors.length > 0 && Date.now() < deadline) {
    nap(20);
    survivors = survivors.filter(([pid, start]) => isRunning({ pid, start }));
  }
  let dirs = 0;
  let bytes = 0;
  for (const dir of new Set(owner.dirs ?? [])) {
    if (!isOwnedDir(dir)) continue;
    bytes += diskUsage(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
    dirs++;
  }
  return { processes: killed.size, dirs, bytes, survivors: survivors.map(([pid]) => pid) };
}

/** "9 processes, 3 dirs (412 MiB)": what a reclaim ended, for people. */
export function describeReclaimed(r) {
  return `${r.processes} ${r.processes === 1 ? 'process' : 'processes'}, ${r.dirs} ${r.dirs === 1 ? 'dir' : 'dirs'} (${(r.bytes / 1024 / 1024).toFixed(r.bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB)`;
}
