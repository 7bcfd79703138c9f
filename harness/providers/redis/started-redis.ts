import type { Redis, RedisOptions } from 'ioredis';
import { drivers } from '../drivers.ts';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';

/** A running Redis (private `redis-server`, container or external). */
export class StartedRedis extends StartedBase {
  readonly #connection: RedisOptions;
  readonly #clients = new Set<Redis>();

  /** Built by `RedisProvider.start()`. */
  constructor(endpoint: Endpoint, runner: BackendRunner, connection: RedisOptions) {
    super(endpoint, runner);
    this.#connection = { ...connection };
  }

  /**
   * An ioredis client (connecting), closed by `stop()` if still open. ioredis reconnects and queues commands
   * while the server is down, as the services want; pass `{ maxRetriesPerRequest: 0, enableOfflineQueue: false }`
   * to see a kill as failing commands instead.
   */
  client(options: RedisOptions = {}): Redis {
    const client = new (drivers.ioredis().Redis)({ ...this.#connection, ...options });
    // An error with no listener is printed by ioredis; commands still reject on their own.
    client.on('error', () => undefined);
    this.#clients.add(client);
    client.once('end', () => this.#clients.delete(client));
    return client;
  }

  protected override async closeClients(): Promise<void> {
    for (const c of this.#clients) c.disconnect();
    this.#clients.clear();
  }
}
