import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statfsSync, lstatSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import type { Container, Profile } from '../../fixtures/schema.ts';
import { NOMAD_CLIENTS_ASG } from '../../sim/models/autoscaling/asg.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import type { HiddenChange } from '../../sim/training/drill.ts';
import { ServicesMachine } from '../dr/services-machine.ts';
import { StartedEc2Api } from '../ec2/server.ts';
import type { LiveStack } from '../live/stack.ts';
import { CIRCLECONFIG, EtcFiles, INSTALLATION_CUSTOMIZATIONS, type FileAnswer } from '../../sim/training/etc-files.ts';
import { execEnv, notRunning, printEnv, replConnect, replForm, replicatedStatus } from '../../sim/training/container-env.ts';
import { liveServiceState } from '../../sim/training/live-support.ts';
import { diskFree, NOMAD_DATA, overrideDir, renderDf, rmNomadRefusal } from '../../sim/training/session.ts';
import { replicatedAppsListing, type ShellCommand } from '../../sim/training/shell.ts';

/**
 * The drill console's commands on the Services machine around the live stack (the live session's hooks call them):
 * Replicated's app (`replicated apps`, `replicated app <id> start|stop|status`: the whole stack stopped and started
 * as the DR runbooks' `ServicesMachine.stopApp/startApp` do it), the customization files under /etc/circleconfig
 * (real files in the installation's own `etc/` directory; the simulation's rules, `EtcFiles`, say what a command may
 * do and how it answers), the environment each container was created with at the last app start (`docker exec C
 * env`, the JVM services' REPL), `df` of the real filesystems holding the stack's data, and the AWS CLI's Auto
 * Scaling calls made for real (the AWS SDK) against the stack's EC2 endpoint.
 */

/** The Services machine of the live installation, as these commands need it. */
export interface LiveMachine {
  /** Replicated's `app stop`: the services, then the stores and the Nomad server. */
  stopApp(): Promise<void>;
  /** Replicated's `app start`: each container created again with `env` (its customizations from the files now). */
  startApp(env: ReadonlyMap<string, Readonly<Record<string, string>>>): Promise<void>;
  /** What each container was created with at the last app start (none customised before the first). */
  environment(container: string): Readonly<Record<string, string>>;
  /**
   * A container's process environment and heap limit as the running process reports them (a pipeline stage's
   * worker: `LiveStack.processEnvironment`); undefined where the process cannot say (a health-only service).
   */
  processEnvironment?(canonical: string): Promise<{ readonly env: Readonly<Record<string, string>>; readonly maxMemoryBytes: number } | undefined>;
  /** The owned directory that is the machine's `/etc` (`circleconfig/...`, `circle-installation-customizations`). */
  readonly etcDir: string;
  /** The stack's data directories (each store's, the volume's `etc` and `data`), for `df`. */
  dataDirs(): readonly { name: string; dir: string }[];
  /** The stack's Auto Scaling endpoint (the twin's EC2 endpoint), where it has one. */
  readonly autoscaling: { url: string; region: string } | undefined;
  /**
   * The entries of `/opt/nomad`, the twin's Nomad server's data dir on the machine's volume (undefined: removed, or
   * no such server), and `sudo rm -rf /opt/nomad` on it (`ServicesMachine.wipeNomadState`: with the server running
   * it keeps its state in memory and writes it back; stopped, it starts empty). Absent: the stack keeps no Nomad state.
   */
  nomadData?(): readonly string[] | undefined;
  wipeNomadState?(serverRunning: boolean): string;
  /**
   * The Services machine's root volume as of now, as the simulation's disk rule holds it on the live installation
   * (live-disk.ts); undefined until the disk is modelled (from the installation's start, with a private RabbitMQ node). Absent: `df` shows the real filesystems only.
   */
  rootVolume?(): Promise<{ capacityMb: number; freeMb: number; unrotatedMb: number } | undefined>;
}

/** What the commands read of the console (rows, which containers are listed, a typed name's container). */
export interface LiveCommandHost {
  readonly profile: Profile;
  readonly listed: readonly Container[];
  rowState(name: string): string | undefined;
  resolve(name: string): string | undefined;
}

type Answer = { output: string; exit: number };

/** The machine's paths the live console keeps on disk: `/etc/X` is `<etcDir>/X`. */
function onDisk(etcDir: string, path: string): string {
  return join(etcDir, path.replace(/^\/etc\//, ''));
}

/** The customization files as they are on disk now (a file changed there behind the console's back counts too). */
export function readEtc(etcDir: string): EtcFiles {
  const dirs: string[] = [];
  const files: [string, string][] = [];
  const walk = (path: string) => {
    const disk = onDisk(etcDir, path);
    if (!existsSync(disk)) return;
    for (const e of readdirSync(disk, { withFileTypes: true })) {
      const p = `${path}/${e.name}`;
      if (e.isDirectory()) {
        dirs.push(p);
        walk(p);
      } else if (e.isFile()) files.push([p, readFileSync(join(disk, e.name), 'utf8')]);
    }
  };
  walk(CIRCLECONFIG);
  const general = onDisk(etcDir, INSTALLATION_CUSTOMIZATIONS);
  if (existsSync(general)) files.push([INSTALLATION_CUSTOMIZATIONS, readFileSync(general, 'utf8')]);
  return EtcFiles.of(dirs, files);
}

/** Writes the files back to disk as `etc` holds them (removed ones removed). */
export function writeEtc(etcDir: string, etc: EtcFiles): void {
  const { dirs, files } = etc.contents();
  const root = onDisk(etcDir, CIRCLECONFIG);
  rmSync(root, { recursive: true, force: true });
  for (const d of dirs) mkdirSync(onDisk(etcDir, d), { recursive: true });
  const general = onDisk(etcDir, INSTALLATION_CUSTOMIZATIONS);
  if (!files.some(([p]) => p === INSTALLATION_CUSTOMIZATIONS)) rmSync(general, { force: true });
  for (const [p, text] of files) {
    mkdirSync(dirname(onDisk(etcDir, p)), { recursive: true });
    writeFileSync(onDisk(etcDir, p), text);
  }
}

/** The Auto Scaling client for the stack's endpoint (test credentials: the twin's endpoint checks none). */
export function autoScalingClient(endpoint: { url: string; region: string }): AutoScalingClient {
  return new AutoScalingClient({ endpoint: endpoint.url, region: endpoint.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

/** `UpdateAutoScalingGroup` on the endpoint (the hidden change, and the trainee's fix): an AWS call for real. */
export async function updateGroup(endpoint: { url: string; region: string }, name: string, to: { min?: number | undefined; max?: number | undefined; desired?: number | undefined }, explicitDesired = false): Promise<void> {
  const client = autoScalingClient(endpoint);
  try {
    if (explicitDesired && to.desired !== undefined) await client.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: name, DesiredCapacity: to.desired, HonorCooldown: false }));
    else await client.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, MinSize: to.min, MaxSize: to.max, DesiredCapacity: to.desired }));
  } finally {
    client.destroy();
  }
}

/** `df -h`'s size: powers of 1024, one decimal below 10. */
function human(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return String(Math.round(v));
  return `${v < 10 ? (Math.ceil(v * 10) / 10).toFixed(1) : Math.ceil(v)}${units[i]}`;
}

/** The mount (device, mount point) holding `path`, from /proc/mounts (the longest mount point that is a prefix). */
function mountOf(path: string): { device: string; mountPoint: string } {
  let best = { device: 'rootfs', mountPoint: '/' };
  let text = '';
  try {
    text = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return best;
  }
  for (const line of text.split('\n')) {
    const [device, mountPoint] = line.split(' ');
    if (device === undefined || mountPoint === undefined) continue;
    const inside = mountPoint === '/' || path === mountPoint || path.startsWith(`${mountPoint}/`);
    if (inside && mountPoint.length >= best.mountPoint.length) best = { device, mountPoint };
  }
  return best;
}

/** Bytes a directory's files take (bounded walk: at most `MAX_DU_ENTRIES` entries). */
const MAX_DU_ENTRIES = 200_000;
function duBytes(dir: string): number {
  let total = 0;
  let seen = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > MAX_DU_ENTRIES) return;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        try {
          total += lstatSync(p).blocks * 512;
        } catch {
          // gone while we looked
        }
      }
    }
  };
  walk(dir);
  return total;
}

/**
 * `df -h` on the live stack: each real filesystem that holds the stack's data (statfs), as df prints it, then how much
 * of it each of the stack's directories takes (as `du -sh` would say).
 */
export function liveDf(dirs: readonly { name: string; dir: string }[]): string {
  const mounts = new Map<string, { device: string; mountPoint: string; dir: string }>();
  const usage: string[] = [];
  for (const { name, dir } of dirs) {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch {
      usage.push(`  ${name.padEnd(14)} gone     ${dir}`);
      continue;
    }
    const m = mountOf(real);
    if (!mounts.has(m.mountPoint)) mounts.set(m.mountPoint, { ...m, dir: real });
    usage.push(`  ${name.padEnd(14)} ${human(duBytes(real)).padStart(6)}   ${real}`);
  }
  const rows: string[][] = [['Filesystem', 'Size', 'Used', 'Avail', 'Use%', 'Mounted on']];
  for (const m of mounts.values()) {
    const s = statfsSync(m.dir);
    const size = s.blocks * s.bsize;
    const used = (s.blocks - s.bfree) * s.bsize;
    const avail = s.bavail * s.bsize;
    rows.push([m.device, human(size), human(used), human(avail), `${used + avail === 0 ? 0 : Math.ceil((used / (used + avail)) * 100)}%`, m.mountPoint]);
  }
  return `${renderDf(rows)}\n\nThe stack's data (du -sh):\n${usage.join('\n')}`;
}

/**
 * `df -h` on the live console: the Services machine's root volume as the simulation prints it (`diskFree`, the
 * simulation's disk ticked on the live installation), then the real filesystems holding the stack's data; only the latter before the
 * volume is modelled.
 */
export function machineDf(root: { capacityMb: number; freeMb: number; unrotatedMb: number } | undefined, real: string): string {
  if (root === undefined) return real;
  return `${diskFree(root.capacityMb, root.freeMb)}\n\n/ is the Services machine's volume: ${human(root.unrotatedMb * 1024 * 1024)} of the installation's logs written since tutum/logrotate last rotated them (the simulation's rule on the live installation's hours and finished builds).\nThe real filesystems under the stack:\n${real}`;
}

/** The AWS CLI's error line for a failed call (exit 255). */
function awsError(operation: string, e: unknown): Answer {
  const err = e as { name?: string; Code?: string; message?: string };
  return { output: `\nAn error occurred (${err.Code ?? err.name ?? 'Unknown'}) when calling the ${operation} operation: ${err.message ?? String(e)}`, exit: 255 };
}

/** The Services machine's commands of the drill console on the live stack. */
export class LiveMachineCommands {
  /** The JVM service whose REPL the trainee is in, if any. */
  replOf: string | undefined;

  constructor(
    private readonly machine: LiveMachine,
    private readonly host: LiveCommandHost,
  ) {}

  /** Whether the REPL of a JVM service is open (the console's lines go to `replLine`). */
  get inRepl(): boolean {
    return this.replOf !== undefined;
  }

  /** A `tee` of a pipeline, into the files on disk. */
  tee(f: { path: string; append: boolean; sudo: boolean }, text: string): Answer {
    return this.onFiles((etc) => etc.write(f.path, text, f.append, f.sudo, 'tee'));
  }

  /** One of the Services machine's commands (live-support.ts LIVE_SHELL_COMMANDS from `df` on). */
  async run(c: ShellCommand): Promise<Answer> {
    switch (c.kind) {
      case 'df':
        return { output: machineDf(await this.machine.rootVolume?.(), liveDf(this.machine.dataDirs())), exit: 0 };
      case 'replicated-apps':
        return { output: replicatedAppsListing(this.host.profile.version), exit: 0 };
      case 'replicated-app':
        return this.replicatedApp(c.verb);
      case 'cat': {
        const etc = readEtc(this.machine.etcDir);
        const parts = c.paths.map((p) => etc.cat(p));
        return { output: parts.map((p) => p.output).filter((o) => o !== '').join('\n'), exit: Math.max(...parts.map((p) => p.exit)) };
      }
      case 'ls':
        if (/^\/opt\/nomad\/?$/.test(c.path)) {
          const entries = this.machine.nomadData?.();
          return entries === undefined ? { output: "ls: cannot access '/opt/nomad': No such file or directory", exit: 2 } : { output: entries.join('\n'), exit: 0 };
        }
        return readEtc(this.machine.etcDir).ls(c.path);
      case 'mkdir':
        return this.onFiles((etc) => etc.mkdir(c.path, c.parents, c.sudo));
      case 'rm':
        if (NOMAD_DATA.test(c.path)) return this.rmNomadData(c);
        return this.onFiles((etc) => etc.rm(c.path, c.force, c.sudo));
      case 'echo':
        if (c.redirect === undefined) return { output: c.text.replace(/\n$/, ''), exit: 0 };
        return this.onFiles((etc) => etc.write(c.redirect!.path, c.text, c.redirect!.append, c.redirect!.root, 'bash'));
      case 'docker-exec-env': {
        const canonical = this.running(c.container);
        if (typeof canonical !== 'string') return canonical;
        // The process's own environment where it reports it; the recorded one for a service that cannot say.
        const real = await this.machine.processEnvironment?.(canonical);
        return real !== undefined ? printEnv(real.env, c.name) : execEnv(canonical, this.machine.environment(overrideDir(canonical)), c.name);
      }
      case 'docker-exec-repl': {
        const canonical = this.running(c.container);
        if (typeof canonical !== 'string') return canonical;
        const r = replConnect(canonical, c.port);
        if (r.exit === 0) this.replOf = canonical;
        return r;
      }
      case 'aws-asg-describe':
        return this.describe(c.names);
      case 'aws-asg-update':
        return this.update(c);
      default:
        throw new Error(`${c.kind} is not a command of the Services machine`);
    }
  }

  /** A form typed in the REPL (the process's own environment and heap limit where it reports them); undefined for an empty line. */
  async replLine(line: string): Promise<Answer | undefined> {
    const real = await this.machine.processEnvironment?.(this.replOf!);
    const r = real !== undefined ? replForm(line, real.env, real.maxMemoryBytes) : replForm(line, this.machine.environment(overrideDir(this.replOf!)));
    if (r.kind === 'noop') return undefined;
    if (r.leave) this.replOf = undefined;
    return { output: r.output, exit: 0 };
  }

  /** A file command on the files as they are on disk; what it changed is written back. */
  private onFiles(op: (etc: EtcFiles) => FileAnswer): Answer {
    const etc = readEtc(this.machine.etcDir);
    const r = op(etc);
    if (r.exit === 0) writeEtc(this.machine.etcDir, etc);
    return r;
  }

  /** A typed container that runs now, or docker's error. */
  private running(name: string): string | Answer {
    const canonical = this.host.resolve(name);
    if (canonical === undefined || !this.host.listed.some((c) => c.name === canonical)) return { output: `Error: No such container: ${name}`, exit: 1 };
    if (liveServiceState(this.host.rowState(canonical) ?? 'healthy') === 'stopped') return notRunning(canonical);
    return canonical;
  }

  /**
   * `sudo rm -rf /opt/nomad` (the seeds' remedy for a stale Nomad state, with the app stopped) on the Nomad server's
   * real data dir; rm's own answers are the simulation's (`rmNomadRefusal`).
   */
  private rmNomadData(c: Extract<ShellCommand, { kind: 'rm' }>): Answer {
    if (this.machine.wipeNomadState === undefined || this.machine.nomadData === undefined) return { output: `rm: cannot remove '${c.path}': No such file or directory (the live stack's Nomad keeps no state on the machine: --nomad real)`, exit: 1 };
    const entries = this.machine.nomadData();
    const refused = rmNomadRefusal(c.path, c, entries !== undefined && entries.length > 0);
    if (refused !== undefined) return refused;
    const running = liveServiceState(this.host.rowState('nomad_server') ?? 'healthy') !== 'stopped';
    this.machine.wipeNomadState(running);
    return { output: '', exit: 0 };
  }

  private async replicatedApp(verb: 'start' | 'stop' | 'status'): Promise<Answer> {
    const states = this.host.listed.map((c) => liveServiceState(this.host.rowState(c.name) ?? 'healthy'));
    const running = states.filter((s) => s === 'running' || s === 'paused').length;
    if (verb === 'status') return { output: replicatedStatus(running, states.length), exit: 0 };
    try {
      if (verb === 'stop') await this.machine.stopApp();
      else {
        // Replicated creates the containers again when the app starts from stopped: they read the files then; a
        // start of a running app leaves each container as it was created.
        const etc = readEtc(this.machine.etcDir);
        const dirs = this.host.listed.map((c) => overrideDir(c.name));
        await this.machine.startApp(new Map(dirs.map((d) => [d, running === 0 ? etc.environmentFor(d) : this.machine.environment(d)] as const)));
      }
    } catch (e) {
      return { output: `Error: ${(e as Error).message.split('\n')[0]}`, exit: 1 };
    }
    return { output: verb === 'stop' ? 'Stopping app... done' : 'Starting app... done', exit: 0 };
  }

  private async describe(names: readonly string[]): Promise<Answer> {
    const endpoint = this.machine.autoscaling;
    if (endpoint === undefined) return { output: '\nCould not connect to the endpoint URL: the live stack has no EC2 endpoint of the twin\'s (AWS_ENDPOINT_URL points elsewhere)', exit: 255 };
    const client = autoScalingClient(endpoint);
    try {
      const r = await client.send(new DescribeAutoScalingGroupsCommand(names.length > 0 ? { AutoScalingGroupNames: [...names] } : {}));
      // As the AWS CLI prints it: the response's fields (JSON, dates as ISO 8601), without the SDK's metadata.
      return { output: JSON.stringify({ AutoScalingGroups: r.AutoScalingGroups ?? [] }, null, 4), exit: 0 };
    } catch (e) {
      return awsError('DescribeAutoScalingGroups', e);
    } finally {
      client.destroy();
    }
  }

  private async update(c: Extract<ShellCommand, { kind: 'aws-asg-update' }>): Promise<Answer> {
    const endpoint = this.machine.autoscaling;
    if (endpoint === undefined) return { output: '\nCould not connect to the endpoint URL: the live stack has no EC2 endpoint of the twin\'s (AWS_ENDPOINT_URL points elsewhere)', exit: 255 };
    try {
      await updateGroup(endpoint, c.name, { min: c.min, max: c.max, desired: c.desired }, c.explicitDesired);
      return { output: '', exit: 0 };
    } catch (e) {
      return awsError(c.explicitDesired ? 'SetDesiredCapacity' : 'UpdateAutoScalingGroup', e);
    }
  }
}

/** The training installation's Services machine: what the console's commands need, the hidden changes, the teardown. */
export interface TrainingMachine extends LiveMachine {
  /** Makes a drill's hidden change (the Nomad clients' group, through the Auto Scaling endpoint); resolves with its line. */
  change(c: HiddenChange): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * The stack as the Services machine of its own cloud, as `twin up` attaches it (`ServicesMachine.attach`): an
 * instance on the stack's EC2 endpoint, its volume the stack's state, and the Nomad clients' group; with the
 * installation's `autoscaling` the group is the simulation's (`nomad-clients`, its min and max) and its instances
 * are the twin's Nomad clients (scale-in drains them through the termination hook). Undefined when the EC2 endpoint
 * is not the twin's (AWS_ENDPOINT_URL set).
 */
export async function attachMachine(stack: LiveStack, installation: SettledScenario): Promise<TrainingMachine | undefined> {
  const ec2 = stack.components.get('ec2');
  if (!(ec2 instanceof StartedEc2Api)) return undefined;
  const asg = installation.autoscaling;
  const machine = await ServicesMachine.attach(stack, ec2, {
    nomadClients: installation.topology.nomadClients.count,
    fleetIsGroup: asg !== undefined,
    ...(asg === undefined ? {} : { group: { name: NOMAD_CLIENTS_ASG, min: asg.min, max: asg.max } }),
  });
  const env = new Map<string, Readonly<Record<string, string>>>();
  const autoscaling = { url: ec2.autoscalingUrl, region: ec2.state.options.region };
  return {
    etcDir: machine.etcDir,
    autoscaling,
    stopApp: () => machine.stopApp(),
    nomadData: () => {
      const dir = machine.nomad?.dataDir;
      return dir === undefined || !existsSync(dir) ? undefined : readdirSync(dir).sort();
    },
    wipeNomadState: (serverRunning) => machine.wipeNomadState(serverRunning),
    startApp: async (next) => {
      env.clear();
      for (const [dir, e] of next) env.set(dir, e);
      // Replicated creates each container with its directory's customizations: the services' processes get them.
      stack.createWith(new Map(stack.profile.containers.map((c) => [c.name, env.get(overrideDir(c.name)) ?? {}] as const)));
      await machine.startApp();
    },
    environment: (dir) => env.get(dir) ?? {},
    processEnvironment: (canonical) => stack.processEnvironment(canonical),
    dataDirs: () => [
      ...[...stack.components].flatMap(([name, c]) => (stack.rows.get(name)?.kind === 'backend' && c.dataDir !== undefined ? [{ name, dir: c.dataDir }] : [])),
      { name: 'etc', dir: machine.etcDir },
      { name: 'data', dir: machine.dataDir },
    ],
    change: async (c) => {
      if (c.kind !== 'asg') throw new Error('the machine makes Auto Scaling Group changes only (a restored /opt/nomad: live-changes.ts)');
      if (asg === undefined) throw new Error('the drill changes the Auto Scaling Group and its installation has none (`autoscaling`)');
      await updateGroup(autoscaling, NOMAD_CLIENTS_ASG, { min: c.min, max: c.max, desired: c.desired });
      const set = [c.min === undefined ? '' : `MinSize ${c.min}`, c.max === undefined ? '' : `MaxSize ${c.max}`, c.desired === undefined ? '' : `DesiredCapacity ${c.desired}`].filter((x) => x !== '');
      return `UpdateAutoScalingGroup ${NOMAD_CLIENTS_ASG}: ${set.join(', ')}`;
    },
    dispose: () => machine.dispose(),
  };
}
