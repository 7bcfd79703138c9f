import type { MongoClient, MongoClientOptions } from 'mongodb';
import { drivers } from '../drivers.ts';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';
import type { DocumentStore } from './document-store.ts';
import { mongoDocumentStore } from './mongo-document-store.ts';

/**
 * Where the handle's stores come from: a driver client of the server (every backend, embedded included), connected
 * at start (`connected`) or on first use (`lazy`: the embedded server, ready once it answered a ping; the driver is
 * then loaded only by a caller of `mongoClient` or `store()`, not by the supervisor that started it).
 */
export type MongoStores = { readonly kind: 'driver'; readonly client: MongoClient } | { readonly kind: 'lazy'; readonly url: string };

/**
 * A running MongoDB (a mongod, a container, an external server, or the twin's embedded wire-protocol server): the
 * services reach it through `store()`, the `DocumentStore` interface over the driver.
 */
export class StartedMongo extends StartedBase {
  readonly #stores: MongoStores;
  /** The handle's client of a `lazy` store, once asked for. */
  #lazyClient: MongoClient | undefined;
  readonly #database: string;
  readonly #clients = new Set<MongoClient>();

  /** Built by `MongoProvider.start()`. */
  constructor(endpoint: Endpoint, runner: BackendRunner, opts: { stores: MongoStores; database: string }) {
    super(endpoint, runner);
    this.#stores = opts.stores;
    this.#database = opts.database;
  }

  /** The default database of `store()`. */
  get database(): string {
    return this.#database;
  }

  /** The driver's client. */
  get mongoClient(): MongoClient {
    if (this.#stores.kind === 'driver') return this.#stores.client;
    this.#lazyClient ??= new (drivers.mongodb().MongoClient)(this.#stores.url, { serverSelectionTimeoutMS: 2_000 });
    return this.#lazyClient;
  }

  /** The document store of one database. */
  store(database: string = this.#database): DocumentStore {
    return mongoDocumentStore(this.mongoClient.db(database));
  }

  /**
   * A driver client of the caller's own (connecting on first use), closed by `stop()` if still open: a service that
   * must give up sooner than the handle's client (2 s of server selection) sets its own timeouts.
   */
  client(options: MongoClientOptions = {}): MongoClient {
    const client = new (drivers.mongodb().MongoClient)(this.url, options);
    this.#clients.add(client);
    client.once('close', () => this.#clients.delete(client));
    return client;
  }

  protected override async closeClients(): Promise<void> {
    await Promise.all([...this.#clients].map((c) => c.close().catch(() => undefined)));
    this.#clients.clear();
    const own = this.#stores.kind === 'driver' ? this.#stores.client : this.#lazyClient;
    await own?.close().catch(() => undefined);
  }
}
