import { afterAll, describe, expect, it } from 'vitest';
import { privateDataRoot } from '../temp-dir.ts';
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

  it.skipIf(mongod !== undefined)("falls back to the twin's embedded MongoDB without mongod and Docker, says why, and connects the driver", async () => {
    mongo = await new MongoProvider().start();
    expect(mongo.backend).toBe('embedded');
    expect(mongo.url).toBe(`mongodb://127.0.0.1:${mongo.port}/`);
    expect(mongo.host).toBe('127.0.0.1');
    expect(mongo.pid).toBeGreaterThan(0);
    expect(mongo.dataDir?.startsWith(`${privateDataRoot()}/twin-mongo-`)).toBe(true);
    expect(mongo.backendDetail).toMatch(/^the twin's embedded MongoDB \(wire-protocol server over mingo, a child Node process\) on 127\.0\.0\.1:\d+, data in /);
    expect(mongo.backendDetail).toMatch(/no mongod/);
    expect(mongo.backendDetail).toMatch(/no container runtime/);
    expect(mongo.store().kind).toBe('mongodb');
    await mongo.store().collection('action_logs').insertOne({ step: 1 });
    expect(await mongo.mongoClient.db('circle').collection('action_logs').countDocuments()).toBe(1);
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
