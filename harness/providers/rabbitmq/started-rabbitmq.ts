import type { ChannelModel } from 'amqplib';
import { drivers } from '../drivers.ts';
import type { RabbitCtl, RabbitRpc } from './local-rabbitmq.ts';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';

/** A running RabbitMQ (private node, container or external broker). */
export class StartedRabbitMQ extends StartedBase {
  readonly #nodeName: string | undefined;
  readonly #ctl: RabbitCtl | undefined;
  readonly #rpc: RabbitRpc | undefined;
  readonly #connections = new Set<ChannelModel>();

  /** Built by `RabbitMQProvider.start()`. */
  constructor(endpoint: Endpoint, runner: BackendRunner, opts: { nodeName: string | undefined; ctl?: RabbitCtl; rpc?: RabbitRpc }) {
    super(endpoint, runner);
    this.#nodeName = opts.nodeName;
    this.#ctl = opts.ctl;
    this.#rpc = opts.rpc;
  }

  /** Whether `ctl` works: a private local node (an embedded broker, a container or an external one has no rabbitmqctl here). */
  get controllable(): boolean {
    return this.#ctl !== undefined && this.#rpc !== undefined;
  }

  /**
   * `Module:Function(Args)` called on this stack's private node over Erlang distribution (what rabbitmqctl's commands
   * call, without its CLI's seconds of boot): whole-number arguments only. Throws as `ctl` does.
   */
  rpc(module: string, fn: string, args: readonly number[]): Promise<string> {
    if (this.#rpc === undefined) throw new Error(`rpc works on the private local node only, not ${this.backendDetail}`);
    return this.#rpc(module, fn, args);
  }

  /**
   * `rabbitmqctl -n <this node> ...args` (runtime settings such as `set_disk_free_limit`): only this stack's private
   * node is ever named, never the system one. Throws for a broker this harness has no rabbitmqctl for.
   */
  ctl(args: readonly string[]): Promise<string> {
    if (this.#ctl === undefined) throw new Error(`rabbitmqctl works on the private local node only, not ${this.backendDetail}`);
    return this.#ctl(args);
  }

  /** The Erlang node name of a private node (`twin-3fa2c1@localhost`); undefined for other backends. */
  get nodeName(): string | undefined {
    return this.#nodeName;
  }

  /**
   * An amqplib connection, closed by `stop()` if still open. amqplib emits `error` when the broker dies, and an
   * EventEmitter `error` with no listener would crash the harness: a listener is attached here; the `close`
   * event and failing channel calls still tell the caller.
   */
  async connect(options: { heartbeatSeconds?: number; timeoutMs?: number } = {}): Promise<ChannelModel> {
    const conn = await drivers.amqplib().connect(withHeartbeat(this.url, options.heartbeatSeconds), { timeout: options.timeoutMs ?? 5_000 });
    conn.on('error', () => undefined);
    this.#connections.add(conn);
    conn.once('close', () => this.#connections.delete(conn));
    return conn;
  }

  /**
   * Closes what is still open, each within a second: a connection whose socket was destroyed under it (a killed
   * stage) never gets the broker's close-ok, so after the second its socket is destroyed too.
   */
  protected override async closeClients(): Promise<void> {
    await Promise.all(
      [...this.#connections].map(async (c) => {
        let timer: NodeJS.Timeout | undefined;
        const closed = c.close().then(
          () => true,
          () => true,
        );
        const late = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 1_000);
        });
        if (!(await Promise.race([closed, late]))) (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        clearTimeout(timer);
      }),
    );
    this.#connections.clear();
  }
}

function withHeartbeat(url: string, heartbeatSeconds: number | undefined): string {
  if (heartbeatSeconds === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('heartbeat', String(heartbeatSeconds));
  return u.toString();
}
