// The stack's reaper (in the spirit of testcontainers' Ryuk): a small detached process that holds a pipe from the
// supervisor and, when the pipe closes or the supervisor is gone, ends what the supervisor recorded as owned.
//
//   node watchdog.mjs <state file> <supervisor pid> <supervisor start time> [<session id>]
//
// stdin: one JSON change per line, as owned-records.ts emits them ({"op":"process","process":{pid,start,label}},
// {"op":"forget","pid"}, {"op":"dir","path"}, {"op":"forgetDir","path"}). A graceful stop leaves nothing, so the
// reclaim finds nothing; after a SIGKILL it ends every recorded process and removes every recorded directory, then
// notes what it did in the state file (if that still belongs to this supervisor) for `twin status` and `twin down`.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describeReclaimed, isRunning, reclaim } from './reclaim.mjs';

/** How often the supervisor's liveness is checked besides the pipe (a pipe held open by an inherited fd never closes). */
const POLL_MS = 1_000;

const [stateFile, pidArg, start, sessionArg] = process.argv.slice(2);
const supervisor = { pid: Number(pidArg), start };
if (!stateFile || !Number.isInteger(supervisor.pid) || !start) {
  process.stderr.write('usage: watchdog.mjs <state file> <supervisor pid> <supervisor start time> [<session id>]\n');
  process.exit(2);
}
const processes = new Map();
const dirs = new Set();
let done = false;

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let c;
  try {
    c = JSON.parse(line);
  } catch {
    return;
  }
  if (c.op === 'process') processes.set(c.process.pid, c.process);
  else if (c.op === 'forget') processes.delete(c.pid);
  else if (c.op === 'dir') dirs.add(c.path);
  else if (c.op === 'forgetDir') dirs.delete(c.path);
});
lines.on('close', finish);
process.stdin.on('error', finish);
const timer = setInterval(() => {
  if (!isRunning(supervisor)) finish();
}, POLL_MS);
// Signals a terminal or a process group would send are not ours to obey: only the pipe ends the watch. SIGKILL
// still ends it, and then `twin down` / `twin up` reclaim from the state file.
for (const sig of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(sig, () => undefined);

function finish() {
  if (done) return;
  done = true;
  clearInterval(timer);
  const state = readState();
  const mine = state?.owner?.supervisor?.pid === supervisor.pid && state.owner.supervisor.start === supervisor.start;
  const owner = {
    processes: [...processes.values(), ...(mine ? (state.owner.processes ?? []) : [])],
    dirs: [...dirs, ...(mine ? (state.owner.dirs ?? []) : [])],
    ...(sessionArg ? { session: Number(sessionArg) } : {}),
  };
  const r = reclaim(owner);
  if (r.processes > 0 || r.dirs > 0) {
    process.stderr.write(`twin reaper: supervisor pid ${supervisor.pid} gone; reclaimed ${describeReclaimed(r)}${r.survivors.length ? `; still running: ${r.survivors.join(', ')}` : ''}\n`);
  }
  // Read again: a graceful supervisor removes the file as it exits, and then there is nothing to note.
  const now = readState();
  if (mine && now?.owner?.supervisor?.pid === supervisor.pid && now.owner.supervisor.start === supervisor.start) {
    writeState({ ...now, reclaimed: { by: 'watchdog', at: new Date().toISOString(), processes: r.processes, dirs: r.dirs, bytes: r.bytes } });
  }
  process.exit(0);
}

function readState() {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

function writeState(state) {
  const tmp = `${stateFile}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile);
}
