/** How long the Nomad server waits for a client's heartbeat before marking it down (heartbeat TTL + grace). */
export const HEARTBEAT_TIMEOUT_MS = 30_000;

/** What client liveness sees of the Nomad server, and how it acts on it. */
export interface LivenessServer {
  /** Whether the server process is up (a partition does not change it). */
  isRunning(): boolean;
  /** Runs `op` once the server is up and reachable (at once when it is). */
  whenReachable(op: () => void): void;
  /** Whether the server has already marked `nodeId` down. */
  isDown(nodeId: string): boolean;
  setStatus(nodeId: string, status: 'ready' | 'down'): void;
}

/** Runs `fn` after `ms` of scenario time (the simulation's clock, or wall time scaled by the replay). */
export type After = (ms: number, fn: () => void) => void;

/**
 * Client liveness: what the Nomad server decides when clients stop heartbeating, written once for the simulation
 * (`NomadFleet`) and the live replay (`ReplayStack`). A client whose agent stops (killed, stopped, its instance
 * terminated) or that a partition cuts off keeps its tasks running but is silent; past `HEARTBEAT_TIMEOUT_MS` the
 * server marks it down, and its allocations are lost (the caller's scheduler decides that). An agent back within the
 * timeout reattaches; one back later re-registers ready. When a partition heals, the clients it had marked down
 * re-register. A terminated instance never comes back (the Auto Scaling Group replaces it with a new client).
 */
export class ClientLiveness {
  /** Clients whose agent is not heartbeating (stopped, killed or terminated), marked down or not yet. */
  private readonly gone = new Set<string>();
  private readonly terminated = new Set<string>();
  /** Clients the server has marked down (by the silence of their agent or by a partition). */
  private readonly markedDown = new Set<string>();
  private cutOff = false;
  /** Changes of which agents are gone or terminated so far: a client's reach can change only with it. */
  changes = 0;

  constructor(
    private readonly server: LivenessServer,
    private readonly after: After,
  ) {}

  /** Whether a partition cuts the Services machine off from the clients. */
  get partitioned(): boolean {
    return this.cutOff;
  }

  /** Whether the client's agent is gone (it neither heartbeats nor reports). */
  isGone(nodeId: string): boolean {
    return this.gone.has(nodeId);
  }

  /** How many clients' agents are gone. */
  get goneCount(): number {
    return this.gone.size;
  }

  /** The agent stops heartbeating; past the timeout (still gone, once the server is reachable) the server marks it down. */
  agentDown(nodeId: string): void {
    if (this.gone.has(nodeId)) return;
    this.gone.add(nodeId);
    this.changes++;
    this.after(HEARTBEAT_TIMEOUT_MS, () => {
      if (this.gone.has(nodeId)) this.server.whenReachable(() => this.markDown(nodeId));
    });
  }

  /** The instance is terminated: its agent is gone for good. */
  terminate(nodeId: string): void {
    if (this.terminated.has(nodeId)) return;
    this.terminated.add(nodeId);
    this.changes++;
    this.agentDown(nodeId);
  }

  /** How many instances were terminated (the Auto Scaling Group's instance count leaves them out). */
  get terminatedCount(): number {
    return this.terminated.size;
  }

  /** Whether the instance was terminated. */
  isTerminated(nodeId: string): boolean {
    return this.terminated.has(nodeId);
  }

  private markDown(nodeId: string): void {
    if (!this.gone.has(nodeId) || this.server.isDown(nodeId)) return;
    this.server.setStatus(nodeId, 'down');
    this.markedDown.add(nodeId);
  }

  /**
   * Agents that come back (restarted, started again), of `nodeIds`: those marked down re-register ready once the
   * server is reachable. Returns the clients that came back (terminated ones never do).
   */
  agentsBack(nodeIds: readonly string[]): string[] {
    const back: string[] = [];
    for (const id of nodeIds) {
      if (this.terminated.has(id) || !this.gone.delete(id)) continue;
      this.changes++;
      back.push(id);
      if (this.markedDown.delete(id)) this.server.whenReachable(() => this.server.setStatus(id, 'ready'));
    }
    return back;
  }

  /**
   * The Services machine and the clients cannot reach each other (on), or can again (off). On: past the timeout,
   * if still cut off and the server is running, every client of `clients()` whose agent is up is marked down. Off:
   * the clients the partition marked down re-register ready (the server tells them which allocations it declared
   * lost). Returns the clients re-registered (empty when turning on, or when nothing changes).
   */
  setPartitioned(on: boolean, clients: () => readonly string[]): string[] {
    if (on === this.cutOff) return [];
    this.cutOff = on;
    if (on) {
      this.after(HEARTBEAT_TIMEOUT_MS, () => {
        if (!this.cutOff || !this.server.isRunning()) return;
        for (const id of clients()) {
          if (this.gone.has(id)) continue;
          this.server.setStatus(id, 'down');
          this.markedDown.add(id);
        }
      });
      return [];
    }
    const back = clients().filter((id) => !this.gone.has(id) && this.markedDown.delete(id));
    for (const id of back) this.server.setStatus(id, 'ready');
    return back;
  }
}
