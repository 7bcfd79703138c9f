import type { BackendRunner } from './runner.ts';
import { ProviderError, type BackendKind, type StartedComponent } from './types.ts';

/** How a started component is reached and what it runs on: settled once by the provider, read-only after. */
export interface Endpoint {
  readonly name: string;
  readonly backend: BackendKind;
  readonly backendDetail: string;
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

/**
 * The part every started handle shares: getters over the endpoint and the runner, an idempotent `stop()`, and
 * `await using` disposal. Subclasses add their component's clients and close them in `closeClients()`.
 */
export abstract class StartedBase implements StartedComponent {
  readonly #endpoint: Endpoint;
  readonly #runner: BackendRunner;
  #stopping: Promise<void> | undefined;

  protected constructor(endpoint: Endpoint, runner: BackendRunner) {
    this.#endpoint = endpoint;
    this.#runner = runner;
  }

  get name(): string {
    return this.#endpoint.name;
  }
  get backend(): BackendKind {
    return this.#endpoint.backend;
  }
  get backendDetail(): string {
    return this.#endpoint.backendDetail;
  }
  get url(): string {
    return this.#endpoint.url;
  }
  get host(): string {
    return this.#endpoint.host;
  }
  get port(): number {
    return this.#endpoint.port;
  }
  get pid(): number | undefined {
    return this.#runner.pid;
  }
  get dataDir(): string | undefined {
    return this.#runner.dataDir;
  }
  /** The real process's own output (`docker logs` of a backend): its last `lines`; empty without a local process. */
  output(lines: number): string[] {
    return this.#runner.output?.(lines) ?? [];
  }
  /** Whether `stop()` was called. */
  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  /**
   * Graceful stop (if still running) and a start on the same port and data dir: the live `restart` fault, and the
   * recovery after a SIGKILL of `pid`. Local backends only.
   */
  async restart(): Promise<void> {
    if (this.stopped) throw new ProviderError('UNAVAILABLE', `${this.name}: restart() after stop()`, 'start a new instance with the provider');
    if (!this.#runner.restart) throw new ProviderError('UNAVAILABLE', `${this.name}: the ${this.backend} backend cannot be restarted by the harness`, 'restart is available for local backends');
    await this.#runner.restart();
  }

  /** Closes clients, stops the server gracefully and removes its temp dirs. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        await this.closeClients();
      } finally {
        await this.#runner.stop();
      }
    })();
    return this.#stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Closes the clients the handle opened itself (pools, drivers). */
  protected async closeClients(): Promise<void> {}
}
