import type { BackendChoice, ComponentBuilder, StartedComponent } from './types.ts';

/** The options every provider takes. */
export interface CommonProviderOptions {
  backend?: BackendChoice;
  /** An existing server; with `auto`, this selects `external`. */
  url?: string;
  /** The container image (testcontainers backends). */
  image?: string;
  startTimeoutMs?: number;
}

/**
 * The builder half every provider shares: `withX(): this` calls that record user options, settled once in
 * the provider's `start()` (defaults are applied there and nowhere else).
 */
export abstract class ProviderBuilder<O extends CommonProviderOptions, S extends StartedComponent> implements ComponentBuilder<S> {
  protected opts = {} as O;

  /** Records options (later calls override earlier ones). */
  protected with(patch: Partial<O>): this {
    this.opts = { ...this.opts, ...patch };
    return this;
  }

  withBackend(backend: BackendChoice): this {
    return this.with({ backend } as Partial<O>);
  }

  withUrl(url: string): this {
    return this.with({ url } as Partial<O>);
  }

  withImage(image: string): this {
    return this.with({ image } as Partial<O>);
  }

  withStartTimeout(ms: number): this {
    return this.with({ startTimeoutMs: ms } as Partial<O>);
  }

  abstract start(): Promise<S>;
}
