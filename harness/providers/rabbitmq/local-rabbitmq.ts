import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { drivers } from '../drivers.ts';
import type { BackendAvailability } from '../choose-backend.ts';
import { LocalProcessRunner, launchOnFreePorts, spawnAndWait, type Launched } from '../local-process-runner.ts';
import { describeAccount, isRoot, lookupOsUser, serviceAccount } from '../os-user.ts';
import { freePorts } from '../ports.ts';
import { startProcess, which } from '../process.ts';
import { chownTree, makeTempDir, removeDir } from '../temp-dir.ts';
import { Wait, type WaitStrategy } from '../wait.ts';

/** The rabbitmq-server start script (the real one, not Debian's `su` wrapper) and the broker version. */
export interface RabbitMQBinary {
  readonly script: string;
  readonly version: string;
}

/** The OS account the node runs as when the harness is root (the broker's files belong to it). */
export const RABBITMQ_ACCOUNT = 'rabbitmq';

/** Where Debian keeps the real start script; /usr/sbin/rabbitmq-server is a wrapper that `su`s and resets HOME. */
const DEBIAN_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';

export function findRabbitMQServer(binDir: string | undefined): RabbitMQBinary | undefined {
  if (which('erl') === undefined) return undefined;
  const candidates = binDir !== undefined ? [join(binDir, 'rabbitmq-server')] : [DEBIAN_SCRIPT, which('rabbitmq-server')];
  for (const script of candidates) {
    if (script === undefined || !existsSync(script) || isSuWrapper(script)) continue;
    return { script, version: brokerVersion(script) };
  }
  return undefined;
}

export function localRabbitMQAvailability(bin: RabbitMQBinary | undefined): BackendAvailability {
  if (!bin) return { available: false, detail: `no rabbitmq-server start script (looked in ${DEBIAN_SCRIPT} and on PATH) or no erl on PATH` };
  if (isRoot() && !lookupOsUser(RABBITMQ_ACCOUNT)) return { available: false, detail: `running as root and there is no '${RABBITMQ_ACCOUNT}' OS user to run the node as` };
  return { available: true, detail: `local RabbitMQ ${bin.version} at ${bin.script}` };
}

export interface LocalRabbitMQ {
  readonly runner: LocalProcessRunner;
  readonly port: number;
  readonly nodeName: string;
  readonly detail: string;
  /** `rabbitmqctl -n <node> ...args` against this node (its cookie, its env file): resolves with what it printed. */
  readonly ctl: RabbitCtl;
  /** A function of the node called over Erlang distribution, as rabbitmqctl calls it, without its CLI's boot. */
  readonly rpc: RabbitRpc;
}

/**
 * `rpc:call(Node, Module, Function, Args)` on one private node from a hidden Erlang node of its own (the node's
 * cookie): rabbitmqctl's `set_disk_free_limit` is `rabbit_disk_monitor:set_disk_free_limit/1` called this way.
 * rabbitmqctl's CLI took 24 s a call on a loaded machine; a bare `erl` takes under a second. Resolves with the
 * result as Erlang prints it (`~p`); rejects on `{badrpc, _}` or when it takes over `CTL_TIMEOUT_MS`.
 */
export type RabbitRpc = (module: string, fn: string, args: readonly number[]) => Promise<string>;

/** rabbitmqctl against one private node; rejects with its output when it fails or takes over `CTL_TIMEOUT_MS`. */
export type RabbitCtl = (args: readonly string[]) => Promise<string>;

/** rabbitmqctl boots an Erlang VM of its own: seconds on a loaded machine, never minutes. */
export const CTL_TIMEOUT_MS = 30_000;

/**
 * A private RabbitMQ node: its own node name, AMQP and distribution ports, mnesia, log, config, plugins file
 * and Erlang cookie, all in a fresh temp dir owned by the `rabbitmq` user (when root), so the system node, its
 * config in /etc/rabbitmq and its cookie in /var/lib/rabbitmq are never read or touched. The shared epmd is
 * fine: the node registers under its own name.
 *
 * The start script runs with RABBITMQ_ALLOW_INPUT set, so it `exec`s erl, which `exec`s beam.smp: the pid we
 * spawn is the Erlang VM itself and a SIGKILL of it really kills the node. Its stdin is a pipe we never write
 * to: if the harness dies, the pipe closes and the VM halts, so a node can never outlive us.
 */
export async function startLocalRabbitMQ(opts: { bin: RabbitMQBinary; startTimeoutMs: number }): Promise<LocalRabbitMQ> {
  const account = serviceAccount('rabbitmq', RABBITMQ_ACCOUNT);
  const tempDir = await makeTempDir('rabbitmq');
  const nodeName = `twin-${randomBytes(4).toString('hex')}@localhost`;
  const dirs = { home: join(tempDir, 'home'), mnesia: join(tempDir, 'mnesia'), log: join(tempDir, 'log'), confD: join(tempDir, 'conf.d'), expand: join(tempDir, 'plugins-expand') };
  const files = {
    config: join(tempDir, 'rabbitmq.conf'),
    advanced: join(tempDir, 'advanced.config'),
    envConf: join(tempDir, 'rabbitmq-env.conf'),
    plugins: join(tempDir, 'enabled_plugins'),
    pid: join(tempDir, 'rabbit.pid'),
    featureFlags: join(tempDir, 'feature_flags'),
    cookie: join(tempDir, 'home', '.erlang.cookie'),
  };
  try {
    for (const d of Object.values(dirs)) await mkdir(d, { recursive: true });
    // No plugins: the management plugin alone would add seconds to every boot and listen on 15672.
    await writeFile(files.plugins, '[].\n');
    await writeFile(files.envConf, '# private node of the twin: the system rabbitmq-env.conf is never read\n');
    await writeFile(files.advanced, '[].\n');
    await writeFile(files.cookie, randomCookie());
    await chmod(files.cookie, 0o400);
    await chownTree(tempDir, account);
  } catch (err) {
    await removeDir(tempDir);
    throw err;
  }

  const launchOn = async ([amqpPort, distPort]: [number, number]): Promise<Launched> => {
    await writeFile(files.config, `# private node of the twin: the system rabbitmq.conf is never read\nlisteners.tcp.default = 127.0.0.1:${amqpPort}\n`);
    await chownTree(files.config, account);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: dirs.home,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: dirs.mnesia,
      RABBITMQ_MNESIA_DIR: join(dirs.mnesia, nodeName),
      RABBITMQ_LOG_BASE: dirs.log,
      RABBITMQ_LOGS: '-',
      RABBITMQ_CONFIG_FILE: files.config,
      RABBITMQ_CONFIG_FILES: dirs.confD,
      RABBITMQ_ADVANCED_CONFIG_FILE: files.advanced,
      RABBITMQ_CONF_ENV_FILE: files.envConf,
      RABBITMQ_ENABLED_PLUGINS_FILE: files.plugins,
      RABBITMQ_PLUGINS_EXPAND_DIR: dirs.expand,
      RABBITMQ_PID_FILE: files.pid,
      RABBITMQ_FEATURE_FLAGS_FILE: files.featureFlags,
      RABBITMQ_ALLOW_INPUT: 'true',
      // Distribution on loopback only, like the system node's ERL_FLAGS.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
      ERL_CRASH_DUMP: join(dirs.log, 'erl_crash.dump'),
    };
    const label = `rabbitmq node ${nodeName} on 127.0.0.1:${amqpPort}`;
    const proc = await spawnAndWait(
      () => startProcess(opts.bin.script, [], { label, env, cwd: tempDir, stdio: ['pipe', 'pipe', 'pipe'], ...(account ? { uid: account.uid, gid: account.gid } : {}) }),
      (p) => rabbitReady.waitUntilReady({ label, host: '127.0.0.1', port: amqpPort, deadline: Date.now() + opts.startTimeoutMs, process: p }),
    );
    return { process: proc, pid: beamPid(proc.pid, files.pid) };
  };

  let ports: [number, number] = [0, 0];
  const runner = await LocalProcessRunner.start(
    // SIGTERM: the node's signal handler stops the broker gracefully (queues and messages written) before halting.
    { label: 'rabbitmq', tempDir, dataDir: dirs.mnesia, launch: () => launchOn(ports), stopSignal: 'SIGTERM', graceMs: 20_000 },
    async () => {
      const r = await launchOnFreePorts(async () => (await freePorts(2)) as [number, number], launchOn);
      ports = r.ports;
      return r.launched;
    },
  );
  // The node's own rabbitmqctl beside its start script, with the node's HOME (its cookie) and env file: the system
  // node's cookie and config are never read, and -n names only this node.
  const ctl: RabbitCtl = (args) =>
    new Promise((resolve, reject) => {
      const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dirs.home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', RABBITMQ_CONF_ENV_FILE: files.envConf };
      execFile(join(dirname(opts.bin.script), 'rabbitmqctl'), ['-n', nodeName, ...args], { env, cwd: tempDir, timeout: CTL_TIMEOUT_MS, ...(account ? { uid: account.uid, gid: account.gid } : {}) }, (err, stdout, stderr) => {
        if (err) reject(new Error(`rabbitmqctl -n ${nodeName} ${args.join(' ')}: ${(stderr || stdout || err.message).trim().split('\n').slice(0, 3).join(' ')}`));
        else resolve(stdout);
      });
    });
  const rpc: RabbitRpc = (module, fn, args) =>
    new Promise((resolve, reject) => {
      for (const name of [module, fn]) if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`rpc: ${name} is not an Erlang atom the twin calls`);
      if (!args.every((a) => Number.isSafeInteger(a))) throw new Error(`rpc: the arguments must be whole numbers, not ${args.join(', ')}`);
      const call = `io:format("~p~n", [rpc:call('${nodeName}', ${module}, ${fn}, [${args.join(', ')}], ${CTL_TIMEOUT_MS})]), halt().`;
      const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dirs.home, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
      const self = `twinctl-${randomBytes(4).toString('hex')}@localhost`;
      execFile('erl', ['-sname', self, '-hidden', '-noshell', '-kernel', 'inet_dist_use_interface', '{127,0,0,1}', '-eval', call], { env, cwd: tempDir, timeout: CTL_TIMEOUT_MS, ...(account ? { uid: account.uid, gid: account.gid } : {}) }, (err, stdout, stderr) => {
        const out = stdout.trim();
        if (err || out.startsWith('{badrpc')) reject(new Error(`${module}:${fn}(${args.join(', ')}) on ${nodeName}: ${(out || stderr || err?.message || '').trim().split('\n').slice(0, 3).join(' ')}`));
        else resolve(out);
      });
    });
  return {
    runner,
    ctl,
    rpc,
    port: ports[0],
    nodeName,
    detail: `private RabbitMQ ${opts.bin.version} node ${nodeName} on 127.0.0.1:${ports[0]} (distribution port ${ports[1]}), mnesia in ${dirs.mnesia}, ${describeAccount(account)}`,
  };
}

/** Port open, then an AMQP connection as guest (allowed from localhost only, which is where we are). */
export const rabbitReady: WaitStrategy = Wait.forAll(
  Wait.forListeningPort(),
  Wait.forProbe('AMQP connection', async (ctx) => {
    const conn = await drivers.amqplib().connect(`amqp://guest:guest@${ctx.host}:${ctx.port}`, { timeout: 2_000 });
    conn.on('error', () => undefined);
    await conn.close();
  }),
);

/**
 * The Erlang VM's pid: our child itself when the script exec'd down to beam.smp (Debian's), else the pid file the
 * node writes once booted.
 */
function beamPid(childPid: number, pidFile: string): number {
  try {
    if (readFileSync(`/proc/${childPid}/comm`, 'utf8').trim().startsWith('beam')) return childPid;
  } catch {
    // not Linux: trust the pid file
  }
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) return pid;
  } catch {
    // no pid file yet
  }
  return childPid;
}

function randomCookie(): string {
  // Erlang cookies are atoms: uppercase letters are always safe.
  return [...randomBytes(20)].map((b) => String.fromCharCode(65 + (b % 26))).join('');
}

function isSuWrapper(script: string): boolean {
  try {
    return /\bsu rabbitmq\b/.test(readFileSync(script, 'utf8'));
  } catch {
    return true;
  }
}

/** The broker version from the installation's `lib/rabbitmq_server-<version>` directory. */
function brokerVersion(script: string): string {
  try {
    for (const entry of readdirSync(join(dirname(script), '..', 'lib'))) {
      const m = /^rabbitmq_server-(.+)$/.exec(entry);
      if (m) return m[1]!;
    }
  } catch {
    // unusual layout
  }
  return 'unknown version';
}
