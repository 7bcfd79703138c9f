import { spawn } from 'node:child_process';
import { openSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadProfile, DEFAULT_VERSION } from '../../../fixtures/load.ts';
import { LiveStack, renderStackTable, type LiveRow } from '../../live/stack.ts';
import { liveBackends, endpointsOf, backendOptionsFromEnv } from '../../live/backends.ts';
import type { BackendChoices } from '../../live/backend-choice.ts';
import { alive, readState, removeState, stateFile, writeState, type StackState } from '../../live/state-file.ts';
import { loadScenarioFile } from '../../scenario/load.ts';

interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/**
 * Documented ports are published at 10000 + port (80 → 10080): clear of the machine's own services and below
 * Linux's ephemeral range (32768+), where outgoing connections would make them flaky. A port found in use
 * falls back to a free one, shown in the table.
 */
export const PORT_OFFSET = 10_000;
const BIN = fileURLToPath(new URL('../../../bin/twin.js', import.meta.url));

/**
 * `twin up`: boots the live stack in dependency order with a progress line per service, prints the table,
 * and stays up until Ctrl-C (then tears everything down). With `-d` it starts a detached supervisor, waits
 * until the stack is healthy and returns. A boot failure tears down what started and exits 2.
 */
export async function upCommand(args: { detach: boolean; scenario?: string; supervise?: boolean; version?: string; backends?: BackendChoices }, io: Io): Promise<number> {
  const file = stateFile();
  const existing = readState(file);
  if (existing && alive(existing.supervisorPid)) {
    io.stderr.write(`twin up: a stack is already running (supervisor pid ${existing.supervisorPid}); see \`twin status\`, or \`twin down\` first\n`);
    return 2;
  }
  if (args.detach && !args.supervise) return detach(args, io, file);

  const scenario = args.scenario ? loadScenarioFile(args.scenario) : undefined;
  const version = scenario?.version ?? args.version ?? DEFAULT_VERSION;
  const profile = loadProfile(version);
  // The scenario's topology decides what else runs: `auth: ldap` adds a private OpenLDAP for federation-service,
  // `storage` S3 or fileserved; its time scale is the build agents' (without one, builds take their own time).
  const topology = scenario ? { auth: scenario.topology.auth, storage: scenario.topology.storage, timeScale: scenario.timeScale, resourceClasses: scenario.topology.resourceClasses } : {};
  const { backends, externals, migrate, services } = liveBackends(profile, { ...backendOptionsFromEnv(), ...topology, choice: args.backends ?? {} });
  const t0 = Date.now();
  const print = (row: LiveRow) => io.stderr.write(`  ${row.name.padEnd(30)} ${row.state}${row.reason ? ` (${row.reason})` : ''}\n`);
  const stack = new LiveStack({ profile, portOffset: PORT_OFFSET, backends, externals, services, migrate, onChange: args.supervise ? undefined : print });
  const endpoints = () => endpointsOf(stack.components);
  let stopping = false;
  const state = (ready: boolean, failed: boolean): StackState => ({ supervisorPid: process.pid, startedAt: new Date(t0).toISOString(), ready, failed, version, rows: [...stack.rows.values()], endpoints: endpoints() });
  const teardown = async () => {
    if (stopping) return;
    stopping = true;
    await stack.down();
    removeState(file);
  };
  process.once('SIGINT', () => void teardown().then(() => process.exit(130)));
  process.once('SIGTERM', () => void teardown().then(() => process.exit(143)));

  io.stderr.write(`twin up: version ${version}, ${profile.containers.length} containers, documented ports at +${PORT_OFFSET}\n`);
  writeState(file, state(false, false));
  const failed = await stack.up();
  await stack.refreshHealth();
  const rows = [...stack.rows.values()];
  if (failed.length > 0) {
    io.stdout.write(`${renderStackTable(rows)}\n`);
    io.stderr.write(`twin up: ${failed.length} services failed to start (${failed.map((f) => f.name).join(', ')}); tearing down\n`);
    writeState(file, state(false, true));
    await teardown();
    return 2;
  }
  writeState(file, state(true, false));
  io.stdout.write(`${renderStackTable(rows)}\n`);
  io.stderr.write(`twin up: ${rows.length} services up in ${((Date.now() - t0) / 1000).toFixed(1)} s${args.supervise ? '' : '; Ctrl-C stops them'}\n`);
  // Keep health current for `twin status` until stopped.
  const timer = setInterval(() => {
    void stack.refreshHealth().then(() => !stopping && writeState(file, state(true, false)));
  }, 5_000);
  await new Promise<void>((resolve) => {
    const done = () => {
      clearInterval(timer);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  return 0;
}

async function detach(args: { scenario?: string; version?: string; backends?: BackendChoices }, io: Io, file: string): Promise<number> {
  const log = join(dirname(file), 'stack.log');
  mkdirSync(dirname(file), { recursive: true });
  const out = openSync(log, 'w');
  const child = spawn(process.execPath, [BIN, 'up', '--supervise', ...(args.scenario ? ['--scenario', args.scenario] : []), ...(args.version ? ['--version', args.version] : []), ...Object.entries(args.backends ?? {}).flatMap(([c, k]) => ['--backend', `${c}=${k}`])], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  const deadline = Date.now() + 120_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const s = readState(file);
    if (s?.ready && s.supervisorPid === child.pid) {
      io.stdout.write(`${renderStackTable(s.rows)}\n`);
      io.stderr.write(`twin up -d: running (supervisor pid ${child.pid}, log ${log}); \`twin status\`, \`twin down\`\n`);
      return 0;
    }
    if (s?.failed || child.exitCode !== null || (child.pid !== undefined && !alive(child.pid))) {
      io.stderr.write(`twin up -d: the stack failed to start; see ${log}\n`);
      if (s) io.stdout.write(`${renderStackTable(s.rows)}\n`);
      return 2;
    }
    if (Date.now() > deadline) {
      io.stderr.write(`twin up -d: not healthy after 120 s; stopping it (log ${log})\n`);
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      return 2;
    }
  }
}

/** `twin status [--json]`: the running stack's table, or its rows and endpoints as JSON. */
export async function statusCommand(args: { json: boolean }, io: Io): Promise<number> {
  const s = readState(stateFile());
  if (!s || !alive(s.supervisorPid)) {
    if (args.json) io.stdout.write(`${JSON.stringify({ running: false, services: [], endpoints: {} }, null, 2)}\n`);
    else io.stderr.write('twin status: no stack is running (start one with `twin up -d`)\n');
    return args.json ? 0 : 1;
  }
  if (args.json) io.stdout.write(`${JSON.stringify({ running: true, version: s.version, supervisor_pid: s.supervisorPid, services: s.rows, endpoints: s.endpoints }, null, 2)}\n`);
  else io.stdout.write(`${renderStackTable(s.rows)}\n`);
  return 0;
}

/** `twin down`: stops the supervisor (which stops every service and removes its temp dirs). */
export async function downCommand(io: Io): Promise<number> {
  const file = stateFile();
  const s = readState(file);
  if (!s || !alive(s.supervisorPid)) {
    removeState(file);
    io.stderr.write('twin down: no stack is running\n');
    return 0;
  }
  process.kill(s.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (alive(s.supervisorPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(s.supervisorPid)) process.kill(s.supervisorPid, 'SIGKILL');
  removeState(file);
  io.stderr.write(`twin down: stopped (supervisor pid ${s.supervisorPid})\n`);
  return 0;
}
