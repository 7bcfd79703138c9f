/** A container's state as `docker ps` and the fault injector see it. */
export type ServiceState = 'running' | 'stopped' | 'paused' | 'failed';

/** Why a container's state changed: an abrupt kill loses in-memory state; a graceful stop hands work back. */
export type StateCause = 'kill' | 'stop' | 'start' | 'pause' | 'unpause' | 'startup-failure' | 'disk-full' | 'machine';

type Listener = (name: string, state: ServiceState, previous: ServiceState, cause: StateCause) => void;

/**
 * The containers of the Services machine and their states. Stages ask `isUp` / `firstDown` before doing
 * work and subscribe to changes to react (lose in-memory state on a kill, resume consuming on a start).
 */
export class Services {
  private readonly states = new Map<string, ServiceState>();
  /** How many containers are not running: while zero, `firstDown` answers without looking (the common case). */
  private notRunning = 0;
  private readonly listeners = new Map<string, Listener[]>();
  /** Every state change, in order, for the report and for tests. */
  readonly history: { atMs: number; name: string; state: ServiceState; cause: StateCause }[] = [];

  constructor(names: readonly string[]) {
    for (const n of names) this.states.set(n, 'running');
  }

  has(name: string): boolean {
    return this.states.has(name);
  }

  names(): string[] {
    return [...this.states.keys()];
  }

  state(name: string): ServiceState {
    const s = this.states.get(name);
    if (s === undefined) throw new Error(`unknown service ${name}`);
    return s;
  }

  /** Running and not paused: it answers requests. */
  isUp(name: string): boolean {
    // The common case first: nothing is down (an unknown name is then caught the next time something is).
    return this.notRunning === 0 || this.state(name) === 'running';
  }

  /** The first of `names` that is not up, or undefined when all are: the dependency a request fails on. */
  firstDown(names: readonly string[]): string | undefined {
    if (this.notRunning === 0) return undefined;
    for (const n of names) if (this.state(n) !== 'running') return n;
    return undefined;
  }

  set(name: string, state: ServiceState, atMs: number, cause: StateCause): void {
    const previous = this.state(name);
    if (previous === state) return;
    this.states.set(name, state);
    if (previous === 'running') this.notRunning++;
    else if (state === 'running') this.notRunning--;
    this.history.push({ atMs, name, state, cause });
    for (const l of this.listeners.get(name) ?? []) l(name, state, previous, cause);
  }

  onChange(name: string, listener: Listener): void {
    this.state(name);
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
  }

  /** Calls `listener` when any of `names` changes state. */
  onAnyChange(names: readonly string[], listener: Listener): void {
    for (const n of names) this.onChange(n, listener);
  }
}
