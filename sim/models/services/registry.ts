/** A container's state as `docker ps` and the fault injector see it. */
export type ServiceState = 'running' | 'stopped' | 'paused' | 'failed';

type Listener = (name: string, state: ServiceState, previous: ServiceState) => void;

/**
 * The containers of the Services machine and their states. Stages ask `isUp` before doing work and
 * subscribe to changes to resume (a consumer reconnecting after its broker returns, say).
 */
export class Services {
  private readonly states = new Map<string, ServiceState>();
  private readonly listeners = new Map<string, Listener[]>();
  /** Every state change, in order, for the report and for tests. */
  readonly history: { atMs: number; name: string; state: ServiceState }[] = [];

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
    return this.state(name) === 'running';
  }

  set(name: string, state: ServiceState, atMs: number): void {
    const previous = this.state(name);
    if (previous === state) return;
    this.states.set(name, state);
    this.history.push({ atMs, name, state });
    for (const l of this.listeners.get(name) ?? []) l(name, state, previous);
  }

  onChange(name: string, listener: Listener): void {
    this.state(name);
    const list = this.listeners.get(name) ?? [];
    list.push(listener);
    this.listeners.set(name, list);
  }
}
