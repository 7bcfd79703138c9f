import { ProviderBuilder } from '../provider-builder.ts';
import type { MongoClient } from 'mongodb';
import { drivers } from '../drivers.ts';
import { chooseBackend, type BackendDecision } from '../choose-backend.ts';
import { IMAGES } from '../images.ts';
import { detectContainerRuntime } from '../runtime.ts';
import type { BackendRunner } from '../runner.ts';
import type { BackendChoice } from '../types.ts';
import { Wait } from '../wait.ts';
import { startContainerMongo } from './container-mongo.ts';
import { embeddedMongoAvailability, startEmbeddedMongo } from './embedded/embedded-mongo.ts';
import { findMongod, localMongoAvailability, startLocalMongo, type MongodBinary } from './local-mongo.ts';
import { MONGO_URL_EXAMPLE, parseMongoUrl, type MongoUrl } from './mongo-url.ts';
import { StartedMongo, type MongoStores } from './started-mongo.ts';

/** What a caller may set; defaults are applied once, in `settleMongoOptions`. */
export interface MongoProviderOptions {
  backend?: BackendChoice;
  url?: string;
  /** The default database of `store()`. */
  database?: string;
  /** A mongod binary (else MONGOMS_SYSTEM_BINARY, else PATH). */
  binary?: string;
  image?: string;
  startTimeoutMs?: number;
}

export interface SettledMongoOptions {
  readonly backend: BackendChoice;
  readonly url: string | undefined;
  /** The validated URL (a bad one fails here, before anything starts). */
  readonly external: MongoUrl | undefined;
  readonly database: string;
  readonly binary: string | undefined;
  readonly image: string;
  readonly startTimeoutMs: number;
}

export function settleMongoOptions(o: MongoProviderOptions): SettledMongoOptions {
  const external = o.url !== undefined ? parseMongoUrl(o.url) : undefined;
  return {
    backend: o.backend ?? 'auto',
    url: o.url,
    external,
    // The database named in the URL, unless one was set explicitly.
    database: o.database ?? external?.database ?? 'circle',
    binary: o.binary,
    image: o.image ?? IMAGES.mongo,
    startTimeoutMs: o.startTimeoutMs ?? 30_000,
  };
}

/**
 * MongoDB for the live stack: a private mongod through mongodb-memory-server-core (only with a system mongod:
 * nothing is downloaded), a container, an external server, or the twin's embedded MongoDB (its own wire-protocol
 * server in a child Node process). The driver connects to each by URL, and `store()` gives the same
 * `DocumentStore` whichever it is.
 *
 * ```ts
 * await using mongo = await new MongoProvider().start();   // embedded on a machine without mongod and Docker
 * await mongo.store().collection('action_logs').insertOne({ step: 1 });
 * ```
 */
export class MongoProvider extends ProviderBuilder<MongoProviderOptions, StartedMongo> {
  withDatabase(database: string): this {
    return this.with({ database });
  }
  withBinary(mongodPath: string): this {
    return this.with({ binary: mongodPath });
  }

  async start(): Promise<StartedMongo> {
    const o = settleMongoOptions(this.opts);
    let bin: MongodBinary | undefined | null = null;
    const findBin = () => (bin === null ? (bin = findMongod(o.binary)) : bin);
    const decision = await chooseBackend({
      component: 'mongo',
      choice: o.backend,
      url: o.url,
      urlExample: MONGO_URL_EXAMPLE,
      local: () => localMongoAvailability(findBin()),
      localHint: 'install mongod and set MONGOMS_SYSTEM_BINARY (or put it on PATH); mongodb-memory-server-core downloads nothing here',
      embedded: embeddedMongoAvailability(),
      runtime: detectContainerRuntime,
    });
    const s = await startBackend(decision, o, findBin);
    return new StartedMongo({ name: 'mongo', backend: decision.kind, backendDetail: `${s.detail} (${decision.reason})`, url: s.url, host: s.host, port: s.port }, s.runner, { stores: s.stores, database: o.database });
  }
}

interface BackendStart {
  readonly runner: BackendRunner;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly stores: MongoStores;
  readonly detail: string;
}

async function startBackend(decision: BackendDecision, o: SettledMongoOptions, findBin: () => MongodBinary | undefined): Promise<BackendStart> {
  switch (decision.kind) {
    case 'embedded': {
      // Ready once it answered a ping over the wire protocol (startEmbeddedMongo): the driver connects on first use.
      const e = await startEmbeddedMongo({ startTimeoutMs: o.startTimeoutMs });
      return { runner: e.runner, url: e.url, host: '127.0.0.1', port: e.port, stores: { kind: 'lazy', url: e.url }, detail: e.detail };
    }
    case 'local': {
      const local = await startLocalMongo({ bin: findBin()!, startTimeoutMs: o.startTimeoutMs });
      const client = await connected(local.url, '127.0.0.1', local.port, o.startTimeoutMs).catch(async (err: unknown) => {
        await local.runner.stop();
        throw err;
      });
      return { runner: local.runner, url: local.url, host: '127.0.0.1', port: local.port, stores: { kind: 'driver', client }, detail: local.detail };
    }
    case 'testcontainers': {
      const c = await startContainerMongo({ image: o.image, startTimeoutMs: o.startTimeoutMs });
      const url = `mongodb://${c.host}:${c.port}`;
      const client = await connected(url, c.host, c.port, o.startTimeoutMs).catch(async (err: unknown) => {
        await c.runner.stop();
        throw err;
      });
      return { runner: c.runner, url, host: c.host, port: c.port, stores: { kind: 'driver', client }, detail: `container ${o.image} on ${c.host}:${c.port}` };
    }
    case 'external': {
      const e = o.external!;
      const first = e.hosts[0]!;
      const client = await connected(e.raw, first.host, first.port, o.startTimeoutMs);
      return { runner: { pid: undefined, dataDir: undefined, stop: async () => undefined }, url: e.raw, host: first.host, port: first.port, stores: { kind: 'driver', client }, detail: `external MongoDB at ${e.redacted}` };
    }
  }
}

/** A driver client that has answered `ping` (retried until the deadline; authentication failures end it at once). */
async function connected(url: string, host: string, port: number, timeoutMs: number): Promise<MongoClient> {
  let client: MongoClient | undefined;
  await Wait.forProbe(
    'ping',
    async () => {
      const c = new (drivers.mongodb().MongoClient)(url, { serverSelectionTimeoutMS: 2_000 });
      try {
        await c.connect();
        await c.db('admin').command({ ping: 1 });
        client = c;
      } catch (err) {
        await c.close().catch(() => undefined);
        throw err;
      }
    },
    (err) => err instanceof Error && /Authentication failed|auth/i.test(err.message),
  ).waitUntilReady({ label: 'mongo', host, port, deadline: Date.now() + timeoutMs });
  return client!;
}
