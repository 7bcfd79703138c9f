import type { StartedNomadApiServer } from '../nomad/server.ts';
import type { BuildAgentRunner } from './pipeline/build-agent-runner.ts';
import type { TcpProxy } from './proxy/tcp-proxy.ts';
import { ClientLiveness, HEARTBEAT_TIMEOUT_MS } from '../../sim/models/fleet/client-liveness.ts';
import type { LiveFleet, LiveNetwork } from './fault-adapter.ts';

export interface FleetFaultsOptions {
  /** The twin's Nomad API the clients register with. */
  nomad: StartedNomadApiServer;
  /** The build agents on every client. */
  runner: BuildAgentRunner;
  /** The build agents' path to output-processor (absent until output-processor started): what a partition cuts. */
  fleetLink: () => TcpProxy | undefined;
  /** Scenario ms per wall ms: the heartbeat timeout and a replacement's boot time are scenario time. */
  timeScale: number;
  /** What the Auto Scaling Group launches in place of a terminated client, and after how long it registers. */
  replacement: { cpus: number; memoryGb: number; bootTimeMs: number };
}

/**
 * Faults on the Nomad clients and the Services machine's network, on a live stack whose Nomad server is the twin's
 * API: client liveness is the simulation's `ClientLiveness` (its heartbeat timeout scaled to wall time), a partition
 * blackholes the build agents' TCP path to output-processor, terminated clients are replaced after their boot time.
 */
export class FleetFaults {
  private readonly timers = new Set<NodeJS.Timeout>();
  /**
   * What the Nomad server decides when clients stop heartbeating (the simulation's own module): the twin's Nomad API
   * marks silent clients down after the heartbeat timeout, scaled to wall time.
   */
  private readonly liveness: ClientLiveness;

  constructor(private readonly opts: FleetFaultsOptions) {
    const { nomad } = opts;
    this.liveness = new ClientLiveness(
      {
        // The twin's Nomad server keeps its state in memory: it decides even while its API is halted.
        isRunning: () => true,
        whenReachable: (op) => op(),
        isDown: (id) => nomad.scheduler.node(id)?.status === 'down',
        setStatus: (id, status) => void nomad.state.setNodeStatus(id, status),
      },
      (ms, fn) => this.later(ms / opts.timeScale, fn),
    );
  }

  /** The Services machine's network to the clients. */
  network(): LiveNetwork {
    return { partition: (on) => this.partition(on) };
  }

  /**
   * The Services machine loses the network to the Nomad clients (or gets it back). The build agents' TCP path to
   * output-processor is blackholed (open connections hang, new ones get no byte) and the clients hold what they
   * would report; the clients' heartbeats stop, so past Nomad's heartbeat timeout (scaled) the server marks them
   * down and their allocations are lost. On heal the clients re-register and send what they held.
   */
  private partition(on: boolean): string {
    const { nomad, runner } = this.opts;
    const liveness = this.liveness;
    if (on === liveness.partitioned) return on ? 'already partitioned' : 'not partitioned';
    const nodes = () => nomad.state.nodeIds().filter((id) => !liveness.isGone(id));
    const link = this.opts.fleetLink();
    if (on) {
      liveness.setPartitioned(true, nodes);
      link?.cut('blackhole');
      runner.setPartitioned(true);
      return `build agents' traffic to output-processor blackholed (TCP proxy); the ${nodes().length} clients' heartbeats stop: marked down after ${Math.round(HEARTBEAT_TIMEOUT_MS / this.opts.timeScale)} ms (${HEARTBEAT_TIMEOUT_MS / 1000} s of scenario time)`;
    }
    // Clients re-register first: the server tells them which allocations it declared lost, and they stop them.
    const down = liveness.setPartitioned(false, nodes);
    const held = runner.heldReports;
    link?.heal();
    runner.setPartitioned(false);
    return `network back; ${down.length} clients had been marked down and re-registered; ${held} starts and reports had been held`;
  }

  /**
   * Faults on `count` Nomad clients (those that are up, in registration order; `start` and the undo of a drain
   * take the first `count`), as the simulation's fleet applies them.
   */
  fleet(): LiveFleet {
    const { nomad, runner, timeScale } = this.opts;
    const liveness = this.liveness;
    const all = () => nomad.state.nodeIds();
    const up = (count: number) => all().filter((id) => !liveness.isGone(id) && nomad.scheduler.node(id)?.status === 'ready').slice(0, count);
    const names = (ids: string[]) => ids.map((id) => nomad.scheduler.node(id)?.name ?? id).join(', ') || 'none';
    const timeoutMs = Math.round(HEARTBEAT_TIMEOUT_MS / timeScale);
    return {
      agentDown: (count) => {
        const ids = up(count);
        for (const id of ids) {
          liveness.agentDown(id);
          runner.setAgentDown(id, true);
        }
        return `Nomad agent down on ${names(ids)}: tasks run on, nothing reported; marked down after ${timeoutMs} ms unless back`;
      },
      agentBack: (count) => {
        const back = liveness.agentsBack(all().slice(0, count));
        for (const id of back) runner.setAgentDown(id, false);
        return `Nomad agent back on ${names(back)}`;
      },
      terminate: (count) => {
        const ids = up(count);
        for (const id of ids) {
          liveness.terminate(id);
          runner.terminate(id);
        }
        const { cpus, memoryGb, bootTimeMs } = this.opts.replacement;
        // The Auto Scaling Group launches replacements; they register once booted.
        this.later(bootTimeMs / timeScale, () => {
          for (let i = 0; i < ids.length; i++) nomad.state.addClient({ name: clientName(nomad.state.nodeIds().length), cpus, memoryGb });
        });
        return `instances of ${names(ids)} terminated (build agents killed); marked down after ${timeoutMs} ms; ${ids.length} replacements join after ${Math.round(bootTimeMs / timeScale)} ms`;
      },
      drain: (count, enable) => {
        const ids = enable ? up(count) : all().slice(0, count);
        for (const id of ids) nomad.state.drain(id, { enable, form: 'legacy' });
        return enable ? `drain enabled on ${names(ids)}: running allocations finish, nothing new is placed there` : `drain disabled on ${names(ids)}`;
      },
    };
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Cancels what is still to happen (heartbeat timeouts, replacements joining). */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** The n-th Nomad client's name (from 0), as an EC2 instance's private DNS name reads: `ip-10-0-0-0`, … */
export function clientName(n: number): string {
  return `ip-10-0-${(n >> 8) & 255}-${n & 255}`;
}
