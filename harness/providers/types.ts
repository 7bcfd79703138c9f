/**
 * The shape every real-component provider has (after testcontainers-node's modules): a builder configured with
 * `withX(): this` calls, whose `start()` returns a distinct started handle with getters only, disposable with
 * `await using`. Backends are chosen by flag or scenario; `auto` picks the best available and says why.
 */

/** Where a component runs. */
export type BackendKind = 'local' | 'testcontainers' | 'external' | 'embedded';

/** A backend request: a specific kind, or `auto` (best available, reason reported). */
export type BackendChoice = BackendKind | 'auto';

/** A started component: how to reach it, what it runs on, how to break it and how to stop it. */
export interface StartedComponent extends AsyncDisposable {
  /** Canonical container name of the table (`postgres`, `redis`, `rabbitmq`, `mongo`, `nomad_server`, ...). */
  readonly name: string;
  readonly backend: BackendKind;
  /** One line for people: what runs and why this backend was picked. */
  readonly backendDetail: string;
  /** The connection URL (postgres://…, redis://…, amqp://…, mongodb://…, http://…). */
  readonly url: string;
  /** Host and port it listens on. */
  readonly host: string;
  readonly port: number;
  /** The OS process, for a local backend (SIGKILL / SIGSTOP in live fault injection). */
  readonly pid: number | undefined;
  /** The data directory, for a local backend (wipe_state deletes it). */
  readonly dataDir: string | undefined;
  /** Stops gracefully and removes what it created (temp dirs). Idempotent. */
  stop(): Promise<void>;
}

/** A provider that can be started. */
export interface ComponentBuilder<S extends StartedComponent = StartedComponent> {
  start(): Promise<S>;
}

/** An operating error of a provider: what was expected, where, after how long; never a programmer error. */
export class ProviderError extends Error {
  readonly code: 'BINARY_MISSING' | 'START_TIMEOUT' | 'START_FAILED' | 'BAD_URL' | 'UNAVAILABLE';
  constructor(code: ProviderError['code'], message: string, readonly hint?: string) {
    super(message);
    this.code = code;
    this.name = 'ProviderError';
  }
}
