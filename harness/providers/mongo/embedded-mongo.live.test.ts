import { readFileSync } from 'node:fs';
import { MongoClient, MongoServerError, type CommandStartedEvent } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCleanStop } from '../stop-contract.ts';
import { privateDataRoot } from '../temp-dir.ts';
import { isPortOpen, waitForPortClosed } from '../wait.ts';
import { describeDocumentStoreContract } from './contract.ts';
import { MongoProvider } from './mongo-provider.ts';
import type { StartedMongo } from './started-mongo.ts';

/** A client that sees a dead or hung server as a failure within half a second, not after the driver's 30 s. */
const FAIL_FAST = { directConnection: true, serverSelectionTimeoutMS: 500, socketTimeoutMS: 500, connectTimeoutMS: 500 } as const;

let mongo: StartedMongo;
beforeAll(async () => {
  mongo = await new MongoProvider().withBackend('embedded').withDatabase('twin').start();
});
afterAll(async () => {
  await mongo?.stop();
});

describe("MongoProvider, embedded backend (the twin's wire-protocol server in a child Node process)", () => {
  it('runs a child Node process on a free port, says what runs, and takes the driver by URL', async () => {
    expect(mongo.backend).toBe('embedded');
    expect(mongo.backendDetail).toMatch(/^the twin's embedded MongoDB \(wire-protocol server over mingo, a child Node process\) on 127\.0\.0\.1:\d+, data in \S+\/data .*\(embedded backend requested\)$/);
    expect(mongo.url).toBe(`mongodb://127.0.0.1:${mongo.port}/`);
    expect(mongo.port).not.toBe(27017);
    expect(mongo.dataDir?.startsWith(`${privateDataRoot()}/twin-mongo-`)).toBe(true);
    expect(mongo.pid).not.toBe(process.pid);
    expect(readFileSync(`/proc/${mongo.pid}/cmdline`, 'utf8')).toMatch(/embedded-mongo-main\.ts/);
    expect(await mongo.mongoClient.db('admin').command({ hello: 1 })).toMatchObject({ isWritablePrimary: true, maxWireVersion: 21 });
  });
});

describeDocumentStoreContract('the embedded MongoDB through the driver (mongoDocumentStore)', () => mongo.store());

describe('the embedded MongoDB through the driver directly', () => {
  it('inserts many, finds with sort and limit, and follows a cursor over several batches', async () => {
    const builds = mongo.mongoClient.db('twin').collection('builds');
    const r = await builds.insertMany(Array.from({ length: 250 }, (_, n) => ({ n, branch: n % 3 === 0 ? 'main' : 'dev', at: new Date(1_700_000_000_000 + n) })));
    expect(r.insertedCount).toBe(250);
    expect((await builds.find({ branch: 'main' }).sort({ n: -1 }).limit(3).toArray()).map((d) => d.n)).toEqual([249, 246, 243]);

    const getMores: CommandStartedEvent[] = [];
    const watched = new MongoClient(mongo.url, { monitorCommands: true });
    watched.on('commandStarted', (e) => e.commandName === 'getMore' && getMores.push(e));
    try {
      const all = await watched.db('twin').collection('builds').find({}, { batchSize: 40 }).toArray();
      expect(all.map((d) => d.n)).toEqual(Array.from({ length: 250 }, (_, n) => n));
      expect(all[0]!.at).toBeInstanceOf(Date);
      expect(getMores.length).toBe(6);
    } finally {
      await watched.close();
    }
  });

  it('upserts, counts, deletes, and reports a duplicate _id and an unknown command as MongoServerErrors', async () => {
    const jobs = mongo.mongoClient.db('twin').collection<{ _id: string; status?: string; tries?: number }>('jobs');
    const up = await jobs.updateOne({ _id: 'job-1' }, { $set: { status: 'queued' }, $inc: { tries: 1 } }, { upsert: true });
    expect(up).toMatchObject({ upsertedId: 'job-1', upsertedCount: 1, matchedCount: 0 });
    expect(await jobs.updateOne({ _id: 'job-1' }, { $inc: { tries: 1 } }, { upsert: true })).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    await jobs.insertMany([{ _id: 'job-2', status: 'queued' }, { _id: 'job-3', status: 'done' }]);
    expect(await jobs.countDocuments({ status: 'queued' })).toBe(2);
    expect(await jobs.deleteMany({ status: 'queued' })).toMatchObject({ deletedCount: 2 });
    expect(await jobs.countDocuments()).toBe(1);

    const dup = await jobs.insertOne({ _id: 'job-3' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(MongoServerError);
    expect(dup).toMatchObject({ code: 11000, keyValue: { _id: 'job-3' } });
    const unknown = await mongo.mongoClient.db('twin').command({ frobnicate: 1 }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(MongoServerError);
    expect(unknown).toMatchObject({ code: 59, codeName: 'CommandNotFound' });
  });

  it('hangs on SIGSTOP (a 500 ms socket timeout fires) and answers again on SIGCONT', async () => {
    const client = await new MongoClient(mongo.url, FAIL_FAST).connect();
    try {
      await client.db('admin').command({ ping: 1 });
      process.kill(mongo.pid!, 'SIGSTOP');
      try {
        const t0 = Date.now();
        await expect(client.db('twin').collection('builds').findOne({ n: 1 })).rejects.toThrow(/timed out/i);
        expect(Date.now() - t0).toBeLessThan(3_000);
      } finally {
        process.kill(mongo.pid!, 'SIGCONT');
      }
      expect(await mongo.store().collection('builds').countDocuments()).toBe(250);
    } finally {
      await client.close();
    }
  });

  it('dies for real on SIGKILL: operations fail and the port closes; restart() brings back every acknowledged write', async () => {
    await mongo.store().collection('builds').insertOne({ _id: 'just-before-the-kill', n: -1 });
    const client = await new MongoClient(mongo.url, FAIL_FAST).connect();
    const [killedPid, port] = [mongo.pid!, mongo.port];
    try {
      process.kill(killedPid, 'SIGKILL');
      expect(await waitForPortClosed(mongo.host, port, 5_000)).toBe(true);
      await expect(client.db('twin').collection('builds').countDocuments()).rejects.toThrow();
    } finally {
      await client.close();
    }

    await mongo.restart();
    expect(mongo.pid).not.toBe(killedPid);
    expect(mongo.port).toBe(port);
    // The handle's own client reconnects by itself.
    const builds = mongo.store().collection('builds');
    expect(await builds.countDocuments()).toBe(251);
    expect(await builds.findOne({ _id: 'just-before-the-kill' })).toMatchObject({ n: -1 });
    expect(await mongo.store().collection('jobs').findOne({ _id: 'job-3' })).toMatchObject({ status: 'done' });
  });

  it('keeps its data across a graceful restart() as well', async () => {
    const before = mongo.pid;
    await mongo.restart();
    expect(mongo.pid).not.toBe(before);
    expect(await isPortOpen(mongo.host, mongo.port)).toBe(true);
    expect(await mongo.store().collection('builds').countDocuments()).toBe(251);
  });

  it('stop() removes the temp dir, closes the port, and is idempotent; await using disposes', async () => {
    await expectCleanStop(mongo, mongo.dataDir!, () => new MongoProvider().withBackend('embedded').start(), async (scoped) => {
      await scoped.store().collection('x').insertOne({ inScope: true });
      expect(await scoped.store().collection('x').countDocuments()).toBe(1);
    });
  });
});
