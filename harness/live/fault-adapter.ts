import type { FaultAction } from '../../sim/scenario/schema.ts';
import type { LiveKind, UndoAction } from '../../sim/faults/catalogue.ts';
import type { FaultOrder, FaultPort } from '../../sim/faults/port.ts';
import { signalPid } from '../providers/stop-process.ts';
import type { StartedNomadApiServer } from '../nomad/server.ts';

/** A real process of the live stack (PostgreSQL, Redis, RabbitMQ, MongoDB): signals reach it, and it restarts on its port and data dir. */
export interface LiveProcess {
  readonly pid: number | undefined;
  /** Where it runs (for the refusal when it has no process: a container, an external URL). */
  readonly backend: string;
  restart(): Promise<void>;
}

/** A twin service (a pipeline stage, a health-only service): it stops, dies and starts again; in a worker of its own it also hangs. */
export interface LiveService {
  stop(): Promise<void>;
  /** Abrupt: its sockets destroyed at once, nothing acknowledged. */
  kill(): void | Promise<void>;
  /** Started anew (a new worker, its factory again) on its port. */
  start(): Promise<void>;
  /** Absent for a service sharing the stack's thread (it cannot hang alone). */
  pause?(): void;
  unpause?(): void;
}

/** The twin's Nomad server: its API stops answering and comes back with its state, or forgets it. */
export interface LiveNomadServer {
  readonly port: number;
  halt(): Promise<void>;
  resume(): Promise<void>;
  /** The seeds' `rm -rf /opt/nomad` and restart (a real agent's data dir deleted, asynchronously); says what was forgotten. */
  wipe(): string | Promise<string>;
}

/**
 * The twin's Nomad API as a fault target (both live stacks run it): `halt`/`resume` close and reopen its listener on
 * its port with its state kept; `wipe` forgets every job and allocation, telling `onWiped` the jobs it forgot.
 */
export function nomadApiTarget(nomad: StartedNomadApiServer, onWiped: (lostJobs: readonly string[]) => void = () => undefined): LiveNomadServer {
  return {
    port: nomad.port,
    halt: () => nomad.halt(),
    resume: () => nomad.resume(),
    wipe: () => {
      const { LostJobs, LostAllocs } = nomad.state.wipe();
      onWiped(LostJobs);
      return `Nomad server state wiped: ${LostJobs.length} jobs and ${LostAllocs.length} allocations forgotten (their tasks stopped)`;
    },
  };
}

/** `count` Nomad clients (those up, in registration order; recoveries take the first `count`). Each says what it did. */
export interface LiveFleet {
  agentDown(count: number): string;
  agentBack(count: number): string;
  terminate(count: number): string;
  /** A real agent's fleet drains through its API (`harness/nomad/real-fleet.ts`). */
  drain(count: number, enable: boolean): string | Promise<string>;
}

/** The Services machine's network to the Nomad clients. */
export interface LiveNetwork {
  partition(on: boolean): string;
}

/** What a live stack offers the live adapter: its targets, by the catalogue's live kinds. */
export interface LiveFaultSurface {
  /** The live kind of a canonical target in this stack, or undefined when it has nothing by that name. */
  kindOf(target: string): LiveKind | undefined;
  process(name: string): LiveProcess;
  service(name: string): LiveService;
  nomadServer(): LiveNomadServer;
  fleet(): LiveFleet;
  network(): LiveNetwork;
}

type Done = string | Promise<string>;
type LiveMechanic = (s: LiveFaultSurface, o: FaultOrder) => Done;

/** The signal a process fault sends (`kill -9`, `docker stop`'s TERM, `docker pause`/`unpause`). */
const signal =
  (sig: NodeJS.Signals): LiveMechanic =>
  (s, o) => {
    const p = s.process(o.target);
    if (p.pid === undefined) throw new Error(`${o.target} runs on ${p.backend}: it has no process to ${o.action}`);
    signalPid(p.pid, sig);
    return `${sig} to ${o.target} (pid ${p.pid})`;
  };

const restartProcess: LiveMechanic = async (s, o) => {
  const p = s.process(o.target);
  const t0 = Date.now();
  await p.restart();
  return `${o.target} ${o.action === 'start' ? 'started' : 'restarted'} in ${Date.now() - t0} ms (pid ${p.pid})`;
};

const killService: LiveMechanic = async (s, o) => {
  await s.service(o.target).kill();
  return `${o.target} killed (its sockets destroyed, nothing acknowledged)`;
};
const stopService: LiveMechanic = async (s, o) => {
  await s.service(o.target).stop();
  return `${o.target} stopped`;
};
const startService: LiveMechanic = async (s, o) => {
  await s.service(o.target).start();
  return `${o.target} started`;
};
const restartService: LiveMechanic = async (s, o) => {
  const svc = s.service(o.target);
  await svc.stop();
  await svc.start();
  return `${o.target} restarted`;
};
const hangService =
  (hang: boolean): LiveMechanic =>
  (s, o) => {
    const svc = s.service(o.target);
    const f = hang ? svc.pause : svc.unpause;
    if (f === undefined) throw new Error(`${o.target} runs in the stack's own thread: it cannot be paused (kill it instead)`);
    f.call(svc);
    return hang ? `${o.target}'s thread blocked (its sockets open, nothing answers)` : `${o.target}'s thread runs again`;
  };

const nomadDown: LiveMechanic = async (s) => {
  const n = s.nomadServer();
  await n.halt();
  return `Nomad server down: its API on port ${n.port} refuses connections (jobs, allocations and the clients' tasks kept)`;
};
const nomadUp: LiveMechanic = async (s) => {
  const n = s.nomadServer();
  await n.halt();
  await n.resume();
  return `Nomad server up again on port ${n.port} with its state`;
};

const partition = (on: boolean): LiveMechanic => (s) => s.network().partition(on);

/**
 * The live mechanics of each catalogue operation, by live kind: the catalogue's live column carried out on real
 * processes (signals, a restart on the same port and data dir), the twin's services (worker termination and
 * respawn, a blocked thread), the twin's Nomad API (halt, resume, wipe, drain) and the TCP proxy (partition).
 * `sim/faults/catalogue.test.ts` checks that the two name the same pairs.
 */
export const LIVE_MECHANICS: Readonly<Record<FaultAction | UndoAction, Partial<Record<LiveKind, LiveMechanic>>>> = {
  kill: { process: signal('SIGKILL'), service: killService, nomad_server: nomadDown, nomad_client: (s, o) => s.fleet().agentDown(o.count) },
  stop: { process: signal('SIGTERM'), service: stopService, nomad_server: nomadDown, nomad_client: (s, o) => s.fleet().agentDown(o.count) },
  start: { process: restartProcess, service: startService, nomad_server: nomadUp, nomad_client: (s, o) => s.fleet().agentBack(o.count) },
  restart: { process: restartProcess, service: restartService, nomad_server: nomadUp, nomad_client: (s, o) => s.fleet().agentBack(o.count) },
  pause: { process: signal('SIGSTOP'), service: hangService(true) },
  unpause: { process: signal('SIGCONT'), service: hangService(false) },
  fail_at_startup: {},
  wipe_state: { nomad_server: (s) => s.nomadServer().wipe() },
  disk_fill: {},
  free_disk: {},
  partition: { nomad_client: partition(true), services_machine: partition(true) },
  heal: { nomad_client: partition(false), services_machine: partition(false) },
  terminate_instance: { nomad_client: (s, o) => s.fleet().terminate(o.count) },
  drain: { nomad_client: (s, o) => s.fleet().drain(o.count, true) },
  undrain: { nomad_client: (s, o) => s.fleet().drain(o.count, false) },
  snapshot: {},
  restore: {},
};

/**
 * The fault port on a live stack (`twin up`'s `LiveStack`, which the live replay runs on too): each operation
 * dispatched to its live mechanics by the target's kind in that stack. Resolves (or returns, for signals) once it
 * took effect, with a line for the fault log; throws when the stack cannot carry it out.
 */
export class LiveFaultAdapter implements FaultPort<Done> {
  constructor(private readonly surface: LiveFaultSurface) {}

  apply(order: FaultOrder): Done {
    const kind = this.surface.kindOf(order.target);
    if (kind === undefined) throw new Error(`${order.target} is not a target of this live stack`);
    const mechanic = LIVE_MECHANICS[order.action][kind];
    if (mechanic === undefined) throw new Error(`live: ${order.action} on ${order.target} is not supported`);
    return mechanic(this.surface, order);
  }
}
