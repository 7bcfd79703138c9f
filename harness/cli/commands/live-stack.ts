import { spawn } from 'node:child_process';
import { openSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LiveRow } from '../../live/stack.ts';
import { renderStackTable } from '../../live/stack-table.ts';
import type { BackendChoices } from '../../live/backend-choice.ts';
import { alive, readState, removeState, stateFile, supervisorRunning, writeState, type StackState } from '../../live/state-file.ts';
import { describeReclaimed, findOwned, isOwnedDir, isRunning, reclaim, type Reclaimed } from '../../providers/reaper/reclaim.mjs';
import { ownerNow, startWatchdog, type Watchdog } from '../../providers/reaper/watchdog.ts';
import { prebuiltEntry } from '../../providers/prebuilt-entry.ts';
import { BUNDLED_PROFILES } from '../runtime.ts';
import { DEFAULT_VERSION } from '../../../fixtures/version.ts';

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
const SUPERVISOR = prebuiltEntry(new URL('./supervisor-main.ts', import.meta.url));

/** The signals that stop a supervisor gracefully, and the exit code each gives (128 + the signal's number). */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/** How often `twin up -d` looks whether its supervisor's stack is ready. */
const DETACH_POLL_MS = 50;

/** How long `twin down` / `twin up` wait for a dead supervisor's watchdog to finish its own reclaim. */
const WATCHDOG_WAIT_MS = 10_000;

/**
 * `twin up`: boots the live stack in dependency order with a progress line per service, prints the table,
 * and stays up until Ctrl-C, SIGTERM or SIGHUP (then tears everything down and returns 130, 143 or 129). With `-d`
 * it starts a detached supervisor, waits until the stack is healthy and returns. A boot failure tears down what
 * started and exits 2. A watchdog process ends what the stack owns if this process dies without tearing down
 * (SIGKILL included); the remains of an earlier stack whose supervisor died are reclaimed first.
 */
export interface UpArgs {
  detach: boolean;
  scenario?: string;
  supervise?: boolean;
  version?: string;
  backends?: BackendChoices;
  nomad?: 'real' | 'twin';
}

export async function upCommand(args: UpArgs, io: Io): Promise<number> {
  const file = stateFile();
  const existing = readState(file);
  if (existing && supervisorRunning(existing)) {
    io.stderr.write(`twin up: a stack is already running (supervisor pid ${existing.supervisorPid}); see \`twin status\`, or \`twin down\` first\n`);
    return 2;
  }
  if (existing) {
    io.stderr.write(`twin up: ${describeRemains(existing, await endRemains(existing))}\n`);
    removeState(file);
  }
  if (args.detach && !args.supervise) return detach(args, io, file);
  return supervise(args, io, file);
}

/**
 * Boots the stack and stays up until a stop signal. The stack's modules (the providers and their drivers, the
 * pipeline, the AWS SDK) load only here: `twin status`, `twin down` and the parent of `twin up -d` never pay for them.
 * A detached supervisor logs its boot timeline (milliseconds since its process started, per state change).
 */
async function supervise(args: Omit<UpArgs, 'detach'>, io: Io, file: string): Promise<number> {
  // From a bundle, the version profiles it carries (read and checked at build time): the fixtures' reader (the YAML
  // parser, zod and the schemas, 0.1 CPU-s of this thread before anything starts) loads only for a version the bundle
  // does not carry (its error names the known ones) or with a scenario, whose reader loads it anyway.
  const wanted = args.version ?? DEFAULT_VERSION;
  const carried = args.scenario || BUNDLED_PROFILES === undefined || !Object.hasOwn(BUNDLED_PROFILES, wanted) ? undefined : BUNDLED_PROFILES[wanted];
  const [fixtures, { LiveStack }, { liveBackends, endpointsOf, backendOptionsFromEnv }, scenarioLoad] = await Promise.all([
    carried === undefined ? import('../../../fixtures/load.ts') : undefined,
    import('../../live/stack.ts'),
    import('../../live/backends.ts'),
    args.scenario ? import('../../scenario/load.ts') : undefined,
  ]);
  const since = () => `+${Math.round(performance.now())}ms`;
  if (args.supervise) io.stderr.write(`twin up: ${since()} modules loaded\n`);
  // No YAML read at start-up from a bundle: its profiles prime the reader's cache.
  if (BUNDLED_PROFILES !== undefined) fixtures?.primeProfiles(BUNDLED_PROFILES);
  const scenario = args.scenario ? scenarioLoad!.loadScenarioFile(args.scenario, { command: 'run' }) : undefined;
  const version = scenario?.version ?? args.version ?? DEFAULT_VERSION;
  const profile = fixtures === undefined ? carried! : fixtures.loadProfile(version);
  // The scenario's topology decides what else runs: `auth: ldap` adds a private OpenLDAP for federation-service,
  // `storage` S3 or fileserved; its time scale is the build agents' (without one, builds take their own time).
  const topology = scenario ? { auth: scenario.topology.auth, storage: scenario.topology.storage, timeScale: scenario.timeScale, resourceClasses: scenario.topology.resourceClasses } : {};
  const { backends, externals, migrate, services } = liveBackends(profile, { ...backendOptionsFromEnv(), ...topology, choice: args.backends ?? {}, ...(args.nomad ? { nomad: args.nomad } : {}) });
  const t0 = Date.now();
  const print = (row: LiveRow) => io.stderr.write(`  ${args.supervise ? `${since().padEnd(9)} ` : ''}${row.name.padEnd(30)} ${row.state}${row.reason ? ` (${row.reason})` : ''}\n`);
  const stack = new LiveStack({ profile, portOffset: PORT_OFFSET, backends, externals, services, migrate, onChange: print });
  const endpoints = () => endpointsOf(stack.components);
  let phase = { ready: false, failed: false };
  let stopping = false;
  let watchdog: Watchdog | undefined;
  // Rewritten on every change of what the stack owns (a process started, a dir made), so `twin down` can end
  // the remains even if both the supervisor and its watchdog were SIGKILLed.
  const save = () => {
    if (!stopping) writeState(file, { supervisorPid: process.pid, startedAt: new Date(t0).toISOString(), ...phase, version, rows: [...stack.rows.values()], endpoints: endpoints(), owner: ownerNow(watchdog) });
  };
  watchdog = startWatchdog(file, 2, save);
  const signals = stopSignals();
  const teardown = async () => {
    stopping = true;
    await stack.down();
    signals.dispose();
    removeState(file);
    watchdog?.close();
  };

  io.stderr.write(`twin up: version ${version}, ${profile.containers.length} containers, documented ports at +${PORT_OFFSET}\n`);
  save();
  const booting = stack.up();
  const failed = await Promise.race([booting, signals.received.then(() => undefined)]);
  if (failed === undefined) {
    // Stopped while booting: the boot runs to its end first (a stack torn down under a boot still starting things
    // would leave the later ones running), then everything goes. A second signal kills us; the watchdog reclaims.
    io.stderr.write('twin up: stopping once the services starting now are up (again to kill it: the watchdog reclaims what it held)\n');
    await booting;
    await teardown();
    return signals.code!;
  }
  await stack.refreshHealth();
  const rows = [...stack.rows.values()];
  if (failed.length > 0) {
    io.stdout.write(`${renderStackTable(rows)}\n`);
    io.stderr.write(`twin up: ${failed.length} services failed to start (${failed.map((f) => f.name).join(', ')}); tearing down\n`);
    phase = { ready: false, failed: true };
    save();
    await teardown();
    return 2;
  }
  // The installation on its own cloud: the twin's EC2 endpoint holds the Services machine (tagged circleci_services,
  // its root volume the stack's state: the seeds' backup script snapshots it) and the Nomad clients' group.
  const machine = await attachServicesMachine(stack);
  if (machine) io.stderr.write(`twin up: ${machine.events[0]!.event}\n`);
  phase = { ready: true, failed: false };
  save();
  io.stdout.write(`${renderStackTable(rows)}\n`);
  io.stderr.write(`twin up: ${rows.length} services up in ${((Date.now() - t0) / 1000).toFixed(1)} s${args.supervise ? '' : '; Ctrl-C stops them'}\n`);
  // Keep health current for `twin status` until stopped.
  const timer = setInterval(() => {
    void stack.refreshHealth().then(save);
  }, 5_000);
  await signals.received;
  clearInterval(timer);
  await teardown();
  await machine?.dispose();
  return signals.code!;
}

/** The Services machine on the stack's EC2 endpoint, when that endpoint is the twin's (not LocalStack's). */
async function attachServicesMachine(stack: import('../../live/stack.ts').LiveStack): Promise<import('../../dr/services-machine.ts').ServicesMachine | undefined> {
  const [{ StartedEc2Api }, { ServicesMachine, TWIN_UP_ATTACH }, { DEFAULT_NOMAD_CLIENTS }] = await Promise.all([import('../../ec2/server.ts'), import('../../dr/services-machine.ts'), import('../../live/backends.ts')]);
  const ec2 = stack.components.get('ec2');
  if (!(ec2 instanceof StartedEc2Api)) return undefined;
  // The group's instances are the twin's Nomad API's clients: scaling the group (the AWS CLI, a policy, an alarm on
  // the stack's gauges) boots and drains Nomad clients. The gauges reach CloudWatch as on AWS, through telegraf's
  // flushes (nomad-metrics -> statsd -> [[outputs.cloudwatch]]): telegraf or nomad-metrics down is a gap there.
  return ServicesMachine.attach(stack, ec2, { nomadClients: DEFAULT_NOMAD_CLIENTS, ...TWIN_UP_ATTACH });
}

/**
 * Waits for the first of STOP_SIGNALS; `code` is then its exit code. Each handler is installed once: a second
 * Ctrl-C during the teardown gets Node's default (the process dies) and the watchdog reclaims what is left.
 */
function stopSignals(): { received: Promise<void>; readonly code: number | undefined; dispose(): void } {
  let code: number | undefined;
  let wake = () => {};
  const received = new Promise<void>((resolve) => (wake = resolve));
  const handlers = Object.entries(STOP_SIGNALS).map(([signal, exit]) => {
    const handler = () => {
      code ??= exit;
      wake();
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return {
    received,
    get code() {
      return code;
    },
    dispose: () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}

/**
 * Ends what is left of a stack whose supervisor is gone: waits (bounded) for its watchdog to finish its own
 * reclaim, then ends whatever the state file still records (the watchdog too, if it hangs).
 */
async function endRemains(s: StackState): Promise<{ now: Reclaimed; byWatchdog: StackState['reclaimed'] }> {
  const watchdog = s.owner?.watchdog;
  const deadline = Date.now() + WATCHDOG_WAIT_MS;
  while (watchdog && isRunning(watchdog) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const latest = readState(stateFile()) ?? s;
  const owner = s.owner ?? { processes: [], dirs: [] };
  const now = reclaim({ ...owner, processes: [...owner.processes, ...(watchdog ? [watchdog] : [])] });
  return { now, byWatchdog: latest.reclaimed };
}

/** "reclaimed 9 processes, 3 dirs (412 MiB) of a stack whose supervisor (pid 1234) died", with the watchdog's share. */
function describeRemains(s: StackState, r: { now: Reclaimed; byWatchdog: StackState['reclaimed'] }): string {
  const died = `a stack whose supervisor (pid ${s.supervisorPid}) died`;
  const left = r.now.survivors.length > 0 ? `; still running, not ours to end: pids ${r.now.survivors.join(', ')}` : '';
  const nowAny = r.now.processes + r.now.dirs > 0;
  const w = r.byWatchdog;
  if (!w) return `reclaimed ${describeReclaimed(r.now)} of ${died}${left}`;
  if (!nowAny) return `its watchdog had reclaimed ${describeReclaimed(w)} of ${died}; nothing was left${left}`;
  return `reclaimed ${describeReclaimed(r.now)} of ${died}, after its watchdog had reclaimed ${describeReclaimed(w)}${left}`;
}

async function detach(args: Omit<UpArgs, 'detach' | 'supervise'>, io: Io, file: string): Promise<number> {
  const log = join(dirname(file), 'stack.log');
  mkdirSync(dirname(file), { recursive: true });
  const out = openSync(log, 'w');
  // From the live bundle, the supervisor's own prebuilt entry with the settled arguments; from the sources, the CLI.
  const argv = SUPERVISOR
    ? [SUPERVISOR, JSON.stringify(args)]
    : [BIN, 'up', '--supervise', ...(args.scenario ? ['--scenario', args.scenario] : []), ...(args.version ? ['--version', args.version] : []), ...(args.nomad ? ['--nomad', args.nomad] : []), ...Object.entries(args.backends ?? {}).flatMap(([c, k]) => ['--backend', `${c}=${k}`])];
  const child = spawn(process.execPath, argv, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const deadline = Date.now() + 120_000;
  for (;;) {
    // A state file read every 50 ms (a stat and a small JSON parse): a boot of a few seconds is not made a quarter
    // of a second longer by the poll.
    await new Promise((r) => setTimeout(r, DETACH_POLL_MS));
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

/**
 * `twin status [--json]`: the running stack's table, or its rows and endpoints as JSON. Exit 0 when a stack runs,
 * 1 when none does (no stack, or its supervisor is gone), with or without `--json`.
 */
export async function statusCommand(args: { json: boolean }, io: Io): Promise<number> {
  const s = readState(stateFile());
  if (!s) {
    if (args.json) io.stdout.write(`${JSON.stringify({ running: false, services: [], endpoints: {} }, null, 2)}\n`);
    else io.stderr.write('twin status: no stack is running (start one with `twin up -d`)\n');
    return 1;
  }
  if (!supervisorRunning(s)) {
    const left = s.owner ? { processes: findOwned(s.owner).length, dirs: s.owner.dirs.filter(isOwnedDir).length } : { processes: 0, dirs: 0 };
    if (args.json) {
      io.stdout.write(`${JSON.stringify({ running: false, supervisor: 'gone', supervisor_pid: s.supervisorPid, reclaimed_by_watchdog: s.reclaimed ?? null, left }, null, 2)}\n`);
    } else {
      const reclaimed = s.reclaimed ? `; its watchdog reclaimed ${describeReclaimed(s.reclaimed)}` : '';
      const remains = left.processes + left.dirs > 0 ? `${left.processes} processes and ${left.dirs} dirs of it are left; \`twin down\` reclaims them` : 'nothing of it is left; `twin down` forgets it';
      io.stderr.write(`twin status: no stack is running: the supervisor (pid ${s.supervisorPid}) of the stack started at ${s.startedAt} is gone${reclaimed}; ${remains}\n`);
    }
    return 1;
  }
  if (args.json) io.stdout.write(`${JSON.stringify({ running: true, version: s.version, supervisor_pid: s.supervisorPid, services: s.rows, endpoints: s.endpoints }, null, 2)}\n`);
  else io.stdout.write(`${renderStackTable(s.rows)}\n`);
  return 0;
}

/**
 * `twin down`: stops the supervisor (which stops every service and removes its temp dirs), then ends anything
 * it left; for a supervisor that died, reclaims its remains and says what it reclaimed.
 */
export async function downCommand(io: Io): Promise<number> {
  const file = stateFile();
  const s = readState(file);
  if (!s) {
    io.stderr.write('twin down: no stack is running\n');
    return 0;
  }
  if (!supervisorRunning(s)) {
    io.stderr.write(`twin down: ${describeRemains(s, await endRemains(s))}\n`);
    removeState(file);
    return 0;
  }
  process.kill(s.supervisorPid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (supervisorRunning(s) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (supervisorRunning(s)) process.kill(s.supervisorPid, 'SIGKILL');
  const { now } = await endRemains(s);
  removeState(file);
  io.stderr.write(`twin down: stopped (supervisor pid ${s.supervisorPid})${now.processes + now.dirs > 0 ? `; reclaimed ${describeReclaimed(now)} it left` : ''}\n`);
  return 0;
}
