import { afterAll, describe, expect, it } from 'vitest';
import { describeDocumentStoreContract } from './contract.ts';
import { findMongod } from './local-mongo.ts';
import { MongoProvider } from './mongo-provider.ts';
import type { StartedMongo } from './started-mongo.ts';

const mongod = findMongod(undefined);

describe('MongoProvider, auto', () => {
  let mongo: StartedMongo | undefined;
  afterAll(async () => {
    await mongo?.stop();
  });

  it.skipIf(mongod !== undefined)('falls back to the embedded store without mongod and Docker, and says why', async () => {
    mongo = await new MongoProvider().start();
    expect(mongo.backend).toBe('embedded');
    expect(mongo.url).toBe('embedded://mongo');
    expect(mongo.pid).toBeUndefined();
    expect(mongo.dataDir).toBeUndefined();
    expect(mongo.backendDetail).toMatch(/embedded document store/);
    expect(mongo.backendDetail).toMatch(/no mongod/);
    expect(mongo.backendDetail).toMatch(/no container runtime/);
    expect(mongo.store().kind).toBe('embedded');
  });

  it.skipIf(mongod !== undefined)('stop() forgets what the embedded store held', async () => {
    const m = await new MongoProvider().withBackend('embedded').withDatabase('twin').start();
    await m.store().collection('action_logs').insertOne({ step: 1 });
    expect(await m.store('twin').collection('action_logs').countDocuments()).toBe(1);
    await m.stop();
    await m.stop();
    expect(await m.store().collection('action_logs').countDocuments()).toBe(0);
  });
});

describe('MongoProvider, embedded backend', () => {
  let mongo: StartedMongo | undefined;
  afterAll(async () => {
    await mongo?.stop();
  });
  describeDocumentStoreContract('MongoProvider embedded backend', async () => {
    mongo = await new MongoProvider().withBackend('embedded').start();
    return mongo.store();
  });
});

describe.skipIf(mongod === undefined)('MongoProvider, local backend (a system mongod)', () => {
  let mongo: StartedMongo | undefined;
  afterAll(async () => {
    await mongo?.stop();
  });
  describeDocumentStoreContract('real mongod through the driver', async () => {
    mongo = await new MongoProvider().withBackend('local').withDatabase('contract').start();
    return mongo.store();
  });
});
