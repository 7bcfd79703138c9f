import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';
import type { DocumentStore } from './document-store.ts';
import { mongoDocumentStore } from './mongo-document-store.ts';

/** Where the handle's stores come from: a driver connected to the server (every backend, embedded included). */
export type MongoStores = { readonly kind: 'driver'; readonly client: MongoClient };

/**
 * A running MongoDB (a mongod, a container, an external server, or the twin's embedded wire-protocol server): the
 * services reach it through `store()`, the `DocumentStore` interface over the driver.
 */
export class StartedMongo extends StartedBase {
  readonly #stores: MongoStores;
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
    return this.#stores.client;
  }

  /** The document store of one database. */
  store(database: string = this.#database): DocumentStore {
    return mongoDocumentStore(this.#stores.client.db(database));
  }

  /**
   * A driver client of the caller's own (connecting on first use), closed by `stop()` if still open: a service that
   * must give up sooner than the handle's client (2 s of server selection) sets its own timeouts.
   */
  client(options: MongoClientOptions = {}): MongoClient {
    const client = new MongoClient(this.url, options);
    this.#clients.add(client);
    client.once('close', () => this.#clients.delete(client));
    return client;
  }

  protected override async closeClients(): Promise<void> {
    await Promise.all([...this.#clients].map((c) => c.close().catch(() => undefined)));
    this.#clients.clear();
    await this.#stores.client.close().catch(() => undefined);
  }
}
