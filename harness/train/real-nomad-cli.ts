import { spawn } from 'node:child_process';
import type { Scheduler } from '../../sim/engine/simulation.ts';
import type { TrainingSession } from '../../sim/training/session.ts';
import { parsePipeline, withoutSudo, words } from '../../sim/training/shell.ts';
import { NomadApiServer, type StartedNomadApiServer } from '../nomad/server.ts';
import { which } from '../providers/process.ts';

/**
 * The real `nomad` binary inside a drill: where one is on PATH, the trainee's read-only `nomad` commands run it
 * against the twin's Nomad API serving the drill's own simulated cluster (`NomadApiServer.withScheduler` on the
 * session's scheduler, brought up to date before each command). Commands that change the cluster (node-drain,
 * node eligibility, job run/stop) stay with the built-in emulation, which the simulation acts on.
 */

/** Virtual 0 of the drill as a Unix time: Monday 5 January 2026, 08:00 UTC (sim/symptoms/clock-text.ts). */
export const DRILL_EPOCH_MS = Date.UTC(2026, 0, 5, 8, 0, 0);
/** How long one real `nomad` command may take before it is killed. */
export const NOMAD_CLI_TIMEOUT_MS = 20_000;
/** Output kept of one command (the rest is cut, as the drill shell's own answers are bounded). */
export const NOMAD_CLI_MAX_BYTES = 256 * 1024;

/** Subcommands that only read: `nomad <sub>` or `nomad <group> <sub>` (0.9's two spellings). */
const READ_ONLY = new Set(['status', 'node-status', 'node status', 'job status', 'alloc status', 'alloc-status', 'alloc logs', 'logs', 'eval status', 'eval-status', 'server members', 'server-members', 'operator raft', 'agent-info', 'version', 'job inspect', 'inspect']);

/** The drill's clock as the API needs it: now only (the mirrored scheduler is moved by the simulation, not here). */
function drillClock(session: TrainingSession): Scheduler {
  const refuse = (): never => {
    throw new Error('the drill mirror\'s clock does not schedule: the simulation moves the cluster');
  };
  return {
    get nowMs() {
      return DRILL_EPOCH_MS + session.nowMs;
    },
    schedule: refuse,
    scheduleAt: refuse,
    cancel: () => false,
  };
}

/** Where the binary's NOMAD_ADDR points: a mirror of the drill's cluster, or the live stack's Nomad API. */
interface NomadTarget {
  readonly url: string;
  /** Brings what the address serves up to date before a command (the mirror adopts the simulation's state). */
  refresh(): void;
  stop(): Promise<void>;
}

/** The real nomad CLI against a drill's cluster. */
export class RealNomadCli {
  private constructor(
    readonly binary: string,
    private readonly server: NomadTarget,
  ) {}

  /** Starts the mirror when a `nomad` binary is on PATH (`binary` overrides the lookup); undefined without one. */
  static async start(session: TrainingSession, binary = which('nomad')): Promise<RealNomadCli | undefined> {
    if (binary === undefined) return undefined;
    const server = await new NomadApiServer()
      .withScheduler(session.twin.fleet.scheduler)
      .withClock(drillClock(session))
      .withTaskRunner({ start: () => ({ stop: () => {} }) })
      .withNote('a training drill\'s simulated cluster')
      .start();
    return new RealNomadCli(binary, mirrorTarget(server));
  }

  /** The binary against a Nomad API that is already up (the live stack's); `stop` leaves it running. */
  static atAddress(url: string, binary = which('nomad')): RealNomadCli | undefined {
    if (binary === undefined) return undefined;
    return new RealNomadCli(binary, { url, refresh: () => {}, stop: async () => {} });
  }

  get url(): string {
    return this.server.url;
  }

  /** The binary's arguments when `line` is a read-only `nomad` command (also `sudo docker exec -it nomad nomad ...`), else undefined. */
  argsOf(line: string): string[] | undefined {
    const pipe = parsePipeline(line);
    if ('kind' in pipe) return undefined;
    const typed = words(pipe.command.trim());
    if (typed === undefined) return undefined;
    let w = withoutSudo(typed).words;
    if (w[0] === 'docker' && w[1] === 'exec') {
      const rest = w.slice(2).filter((a) => !/^-[it]+$/.test(a));
      if (rest[0] !== 'nomad' || rest[1] !== 'nomad') return undefined;
      w = rest.slice(1);
    }
    if (w[0] !== 'nomad' || w.length < 2) return undefined;
    const sub = w[1]!;
    const two = `${sub} ${w[2] ?? ''}`;
    return READ_ONLY.has(sub) || READ_ONLY.has(two) ? w.slice(1) : undefined;
  }

  /** Runs the binary with NOMAD_ADDR at the mirror, after bringing the mirror up to date. */
  run(args: readonly string[]): Promise<{ output: string; exit: number }> {
    this.server.refresh();
    return new Promise((done) => {
      const child = spawn(this.binary, [...args], { env: { ...process.env, NOMAD_ADDR: this.server.url, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const take = (d: Buffer) => {
        if (out.length < NOMAD_CLI_MAX_BYTES) out += d.toString('utf8');
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      const timer = setTimeout(() => child.kill('SIGKILL'), NOMAD_CLI_TIMEOUT_MS);
      child.on('error', (e) => {
        clearTimeout(timer);
        done({ output: `bash: nomad: ${e.message}`, exit: 127 });
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const text = out.slice(0, NOMAD_CLI_MAX_BYTES).replace(/\n$/, '');
        done({ output: signal === null ? text : `${text}${text === '' ? '' : '\n'}(nomad killed after ${NOMAD_CLI_TIMEOUT_MS} ms)`, exit: code ?? 137 });
      });
    });
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}

/** The mirror as a target: it adopts the simulation's state before each command, and stops with the console. */
function mirrorTarget(server: StartedNomadApiServer): NomadTarget {
  return { url: server.url, refresh: () => server.state.adopt(), stop: () => server.stop() };
}
