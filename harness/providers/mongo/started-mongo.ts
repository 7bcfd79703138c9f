import type { MongoClient } from 'mongodb';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';
import type { DocumentStore } from './document-store.ts';
import { EmbeddedStore } from './embedded-store.ts';
import { mongoDocumentStore } from './mongo-document-store.ts';

/** Where the handle's stores come from: a connected driver, or the embedded store of this process. */
export type MongoStores = { readonly kind: 'driver'; readonly client: MongoClient } | { readonly kind: 'embedded' };

/**
 * A running MongoDB, or the embedded document store: either way the services reach it through `store()`,
 * the same `DocumentStore` interface.
 */
export class StartedMongo extends StartedBase {
  readonly #stores: MongoStores;
  readonly #database: string;
  readonly #embedded = new Map<string, EmbeddedStore>();
  #embeddedDown = false;

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

  /** The driver's client, for a real server; undefined for the embedded store. */
  get mongoClient(): MongoClient | undefined {
    return this.#stores.kind === 'driver' ? this.#stores.client : undefined;
  }

  /** The document store of one database. */
  store(database: string = this.#database): DocumentStore {
    if (this.#stores.kind === 'driver') return mongoDocumentStore(this.#stores.client.db(database));
    let s = this.#embedded.get(database);
    if (!s) {
      s = new EmbeddedStore();
      s.setDown(this.#embeddedDown);
      this.#embedded.set(database, s);
    }
    return s;
  }

  /**
   * The embedded store goes down (every operation fails, data kept) or comes back: what a live `kill` and `start`
   * of mongo do where no mongod runs. A real server has a process for that instead (`pid`).
   */
  setEmbeddedDown(down: boolean): void {
    if (this.#stores.kind !== 'embedded') throw new Error(`mongo runs on ${this.backendDetail}: stop its process instead`);
    this.#embeddedDown = down;
    for (const s of this.#embedded.values()) s.setDown(down);
  }

  protected override async closeClients(): Promise<void> {
    if (this.#stores.kind === 'driver') await this.#stores.client.close().catch(() => undefined);
    // The embedded store lives in this process: stopping it forgets everything, as a mongod without a volume would.
    for (const s of this.#embedded.values()) s.clear();
    this.#embedded.clear();
  }
}
