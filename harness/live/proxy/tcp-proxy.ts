import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** Where the proxy forwards to: the dependency's real listening address. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * How a partition looks to clients. `reset`: every connection is reset at once and new ones are reset on
 * accept (a host answering with RST). `blackhole`: nothing passes and nothing is closed (a partition that drops
 * packets), so clients wait for their own timeouts.
 */
export type CutMode = 'reset' | 'blackhole';

/** Whether traffic passes (`open`), is cut (by mode), or the proxy is closed. */
export type ProxyState = 'open' | CutMode | 'closed';

export interface TcpProxyOptions {
  /** For error messages and the live stack's table: the dependency's container name (`postgres`, …). */
  name: string;
  target: ProxyTarget;
  /** 0 (the default): a free port chosen by the OS. */
  listenPort?: number;
  /** `127.0.0.1` by default: the twin's services all run on this machine. */
  listenHost?: string;
}

/** Counters since start; `active` is the connections the proxy holds now, forwarded or held by a blackhole. */
export interface TcpProxyStats {
  readonly accepted: number;
  readonly active: number;
  readonly bytesToTarget: number;
  readonly bytesToClient: number;
  /** Connections accepted while cut: reset on accept, or held by a blackhole and never forwarded. */
  readonly refusedWhileCut: number;
}

/** An operating error of the proxy (its port could not be bound), with where and why. */
export class TcpProxyError extends Error {
  readonly code = 'LISTEN_FAILED';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TcpProxyError';
  }
}

/** One client connection and, unless it was held by a blackhole, its connection to the target. */
interface Pair {
  readonly client: Socket;
  readonly upstream: Socket | undefined;
}

/**
 * A TCP proxy in front of one dependency that can cut and heal traffic: the live `partition` and `heal` faults.
 * Bytes are relayed with `pipe()`, so a slow side holds the other back instead of filling memory.
 */
export class TcpProxy implements AsyncDisposable {
  readonly #name: string;
  readonly #server: Server;
  readonly #host: string;
  readonly #port: number;
  readonly #pairs = new Set<Pair>();
  #target: ProxyTarget;
  #state: ProxyState = 'open';
  #closing: Promise<void> | undefined;
  #accepted = 0;
  #refusedWhileCut = 0;
  #bytesToTarget = 0;
  #bytesToClient = 0;

  private constructor(name: string, server: Server, target: ProxyTarget) {
    this.#name = name;
    this.#server = server;
    this.#target = { ...target };
    const address = server.address() as AddressInfo;
    this.#host = address.address;
    this.#port = address.port;
    server.on('connection', (client) => this.#accept(client));
    // After listen succeeded an error is not ours to act on; without a listener it would crash the harness.
    server.on('error', () => undefined);
  }

  /** Listens (on a free port by default) and forwards every connection to `target` until cut. */
  static async start(opts: TcpProxyOptions): Promise<TcpProxy> {
    const host = opts.listenHost ?? '127.0.0.1';
    const port = opts.listenPort ?? 0;
    // allowHalfOpen: a client's FIN is relayed (see `#forward`) instead of closing its socket before the reply.
    // pauseOnConnect: nothing is read from a client until it is forwarded, so a blackhole leaves it unread.
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new TcpProxyError(`${opts.name} proxy: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
      server.listen(port, host, () => resolve());
    });
    server.removeAllListeners('error');
    return new TcpProxy(opts.name, server, opts.target);
  }

  get name(): string {
    return this.#name;
  }
  /** Where clients connect: the address to put in the service's URL instead of the target's. */
  get host(): string {
    return this.#host;
  }
  get port(): number {
    return this.#port;
  }
  get target(): ProxyTarget {
    return this.#target;
  }
  get state(): ProxyState {
    return this.#state;
  }
  get stats(): TcpProxyStats {
    return {
      accepted: this.#accepted,
      active: this.#pairs.size,
      bytesToTarget: this.#bytesToTarget,
      bytesToClient: this.#bytesToClient,
      refusedWhileCut: this.#refusedWhileCut,
    };
  }

  /**
   * Cuts traffic. `reset` resets every open connection now; `blackhole` stops relaying on them and leaves them
   * open. Either way, connections accepted while cut never reach the target. A no-op after `close()`, so a fault
   * scheduled after teardown does no harm.
   */
  cut(mode: CutMode = 'reset'): void {
    if (this.#state === 'closed') return;
    this.#state = mode;
    for (const pair of this.#pairs) {
      if (mode === 'reset') this.#drop(pair);
      else hold(pair);
    }
  }

  /**
   * Forwards new connections again. Connections held by a blackhole are reset rather than resumed: in a real
   * partition their peers would have timed out and forgotten them, so resuming would be kinder than the network.
   */
  heal(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'blackhole') for (const pair of this.#pairs) this.#drop(pair);
    this.#state = 'open';
  }

  /** Forwards new connections to another address (the backend came back on another port); open ones stay put. */
  retarget(target: ProxyTarget): void {
    this.#target = { ...target };
  }

  /** Stops listening and resets every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#state = 'closed';
      this.#server.close(() => resolve());
      for (const pair of this.#pairs) this.#drop(pair);
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #accept(client: Socket): void {
    this.#accepted++;
    client.setNoDelay(true);
    if (this.#state === 'reset' || this.#state === 'closed') {
      this.#refusedWhileCut++;
      client.on('error', () => undefined);
      resetSocket(client);
      return;
    }
    if (this.#state === 'blackhole') {
      this.#refusedWhileCut++;
      // Left unread: what the client sends stays in the kernel's buffers until heal() resets it.
      this.#track({ client, upstream: undefined });
      return;
    }
    this.#forward(client);
  }

  #forward(client: Socket): void {
    const upstream = connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true, noDelay: true });
    const pair: Pair = { client, upstream };
    this.#track(pair);
    client.on('data', (chunk: Buffer) => (this.#bytesToTarget += chunk.length));
    upstream.on('data', (chunk: Buffer) => (this.#bytesToClient += chunk.length));
    // pipe() relays each side's FIN as end() on the other, so a half-close passes through like any byte.
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Listens for the ends of a pair: an error on either side resets both, as a broken path would. */
  #track(pair: Pair): void {
    this.#pairs.add(pair);
    const sockets = pair.upstream ? [pair.client, pair.upstream] : [pair.client];
    let open = sockets.length;
    for (const socket of sockets) {
      socket.on('error', () => this.#drop(pair));
      socket.once('close', () => {
        if (--open === 0) this.#pairs.delete(pair);
      });
    }
  }

  #drop(pair: Pair): void {
    this.#pairs.delete(pair);
    resetSocket(pair.client);
    if (pair.upstream) resetSocket(pair.upstream);
  }
}

/** Stops relaying in both directions without closing anything: data waits in the sockets' buffers. */
function hold(pair: Pair): void {
  if (!pair.upstream) return;
  pair.client.unpipe(pair.upstream);
  pair.upstream.unpipe(pair.client);
  pair.client.pause();
  pair.upstream.pause();
}

/** Closes with an RST, so the peer sees ECONNRESET as from a host that lost the connection, not a clean EOF. */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  // A socket still connecting would only be reset once connected; destroying it drops the attempt now.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
