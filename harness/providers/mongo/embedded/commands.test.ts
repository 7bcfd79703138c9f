import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Long, ObjectId, type Document } from 'bson';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_WIRE_VERSION, MongoEngine } from './commands.ts';
import { FileJournal, JOURNAL_FILE } from './persistence.ts';

let engine: MongoEngine;
beforeEach(async () => {
  engine = await MongoEngine.open();
});

/** Runs a command that must succeed and returns its reply. */
async function ok(cmd: Document, db = 'circle', on: MongoEngine = engine): Promise<Document> {
  const reply = await on.run(db, cmd);
  if (reply.ok !== 1) throw new Error(`${JSON.stringify(cmd)} failed: ${JSON.stringify(reply)}`);
  return reply;
}

async function insert(coll: string, documents: Document[], extra: Document = {}): Promise<Document> {
  return engine.run('circle', { insert: coll, documents, ...extra });
}

/** All documents of a find, following the cursor with getMore. */
async function findAll(cmd: Document, db = 'circle', on: MongoEngine = engine): Promise<Document[]> {
  const first = await ok(cmd, db, on);
  const docs = [...first.cursor.firstBatch];
  let id = first.cursor.id as Long;
  while (!id.isZero()) {
    const more = await ok({ getMore: id, collection: cmd.find ?? cmd.aggregate }, db, on);
    docs.push(...more.cursor.nextBatch);
    id = more.cursor.id;
  }
  return docs;
}

describe('handshake and server information', () => {
  it('answers hello as a writable standalone the driver accepts, with sessions', async () => {
    const r = await engine.run('admin', { hello: 1 }, 17);
    expect(r).toMatchObject({ ok: 1, isWritablePrimary: true, minWireVersion: 0, maxWireVersion: MAX_WIRE_VERSION, maxBsonObjectSize: 16 * 1024 * 1024, maxMessageSizeBytes: 48_000_000, maxWriteBatchSize: 100_000, logicalSessionTimeoutMinutes: 30, connectionId: 17, readOnly: false });
    expect(r.localTime).toBeInstanceOf(Date);
    expect(r).not.toHaveProperty('topologyVersion');
    // The driver needs wire version 9 (MongoDB 4.4) at least.
    expect(MAX_WIRE_VERSION).toBeGreaterThanOrEqual(9);
  });

  it('answers the legacy isMaster with ismaster, and helloOk when asked', async () => {
    const r = await engine.run('admin', { isMaster: 1, helloOk: true });
    expect(r).toMatchObject({ ok: 1, ismaster: true, helloOk: true });
    expect(r).not.toHaveProperty('isWritablePrimary');
  });

  it('answers ping, buildInfo, getParameter, getLog and endSessions', async () => {
    expect(await engine.run('admin', { ping: 1 })).toEqual({ ok: 1 });
    expect(await ok({ buildInfo: 1 }, 'admin')).toMatchObject({ version: '7.0.0', versionArray: [7, 0, 0, 0] });
    expect(await ok({ getParameter: 1, featureCompatibilityVersion: 1 }, 'admin')).toEqual({ featureCompatibilityVersion: { version: '7.0' }, ok: 1 });
    expect(await engine.run('admin', { getParameter: 1, nonsense: 1 })).toMatchObject({ ok: 0, code: 72 });
    expect(await ok({ getLog: 'startupWarnings' }, 'admin')).toEqual({ totalLinesWritten: 0, log: [], ok: 1 });
    expect(await ok({ endSessions: [{ id: 'x' }] }, 'admin')).toEqual({ ok: 1 });
  });

  it("answers an unknown command with MongoDB's CommandNotFound", async () => {
    expect(await engine.run('circle', { frobnicate: 1 })).toEqual({ ok: 0, errmsg: "no such command: 'frobnicate'", code: 59, codeName: 'CommandNotFound' });
  });

  it('refuses transactions as a standalone does', async () => {
    expect(await engine.run('circle', { find: 'builds', txnNumber: Long.fromNumber(1), startTransaction: true })).toMatchObject({ ok: 0, code: 20, codeName: 'IllegalOperation' });
  });
});

describe('insert', () => {
  it('assigns an ObjectId _id, first in the document, and keeps a given one', async () => {
    expect(await insert('builds', [{ n: 1 }, { n: 2, _id: 'b2' }])).toEqual({ n: 2, ok: 1 });
    const docs = await findAll({ find: 'builds' });
    expect(docs[0]!._id).toBeInstanceOf(ObjectId);
    expect(docs.map((d) => Object.keys(d)[0])).toEqual(['_id', '_id']);
    expect(docs[1]).toEqual({ _id: 'b2', n: 2 });
  });

  it('stops an ordered insert at a duplicate _id with a write error (code 11000, key pattern and value)', async () => {
    const r = await insert('builds', [{ _id: 1 }, { _id: 1 }, { _id: 2 }]);
    expect(r).toMatchObject({ ok: 1, n: 1, writeErrors: [{ index: 1, code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: 1 } }] });
    expect(r.writeErrors[0].errmsg).toBe('E11000 duplicate key error collection: circle.builds index: _id_ dup key: { _id: 1 }');
    expect(await ok({ count: 'builds' })).toMatchObject({ n: 1 });
  });

  it('goes on past errors when unordered', async () => {
    const r = await insert('builds', [{ _id: 1 }, { _id: 1 }, { _id: 2 }, { _id: [3] }], { ordered: false });
    expect(r.n).toBe(2);
    expect(r.writeErrors.map((e: Document) => [e.index, e.code])).toEqual([
      [1, 11000],
      [3, 2],
    ]);
  });

  it('refuses documents that are not documents', async () => {
    expect(await engine.run('circle', { insert: 'builds', documents: [1] })).toMatchObject({ ok: 0, code: 14 });
    expect(await engine.run('circle', { insert: 42, documents: [] })).toMatchObject({ ok: 0, code: 73, errmsg: 'collection name has invalid type int' });
  });
});

describe('find, getMore and killCursors', () => {
  beforeEach(async () => {
    await insert('builds', Array.from({ length: 10 }, (_, i) => ({ _id: i, n: i, branch: i % 2 ? 'dev' : 'main', vcs: { project: i < 5 ? 'a' : 'b' } })));
  });

  it('filters, sorts, skips and limits with MongoDB semantics', async () => {
    const ns = async (cmd: Document) => (await findAll({ find: 'builds', ...cmd })).map((d) => d.n);
    expect(await ns({ filter: { n: { $gte: 7 } } })).toEqual([7, 8, 9]);
    expect(await ns({ filter: { branch: 'main', 'vcs.project': 'b' }, sort: { n: -1 } })).toEqual([8, 6]);
    expect(await ns({ sort: { branch: 1, n: -1 }, skip: 2, limit: 3 })).toEqual([5, 3, 1]);
    expect(await engine.run('circle', { find: 'builds', skip: -1 })).toMatchObject({ ok: 0, code: 2 });
    expect(await engine.run('circle', { find: 'builds', sort: { n: 'up' } })).toMatchObject({ ok: 0, code: 2 });
  });

  it('projects by inclusion and by exclusion, keeping the document order of fields', async () => {
    const [included] = await findAll({ find: 'builds', filter: { _id: 3 }, projection: { vcs: 1, n: 1 } });
    expect(Object.keys(included!)).toEqual(['_id', 'n', 'vcs']);
    expect(await findAll({ find: 'builds', filter: { _id: 3 }, projection: { _id: 0, branch: 1 } })).toEqual([{ branch: 'dev' }]);
    expect(await findAll({ find: 'builds', filter: { _id: 3 }, projection: { vcs: 0, branch: 0 } })).toEqual([{ _id: 3, n: 3 }]);
  });

  it('serves a result in batches through a real cursor that closes when exhausted', async () => {
    const first = await ok({ find: 'builds', batchSize: 4 });
    expect(first.cursor.firstBatch.map((d: Document) => d.n)).toEqual([0, 1, 2, 3]);
    expect(first.cursor.ns).toBe('circle.builds');
    const id = first.cursor.id as Long;
    expect(id.isZero()).toBe(false);
    const second = await ok({ getMore: id, collection: 'builds', batchSize: 4 });
    expect(second.cursor.nextBatch.map((d: Document) => d.n)).toEqual([4, 5, 6, 7]);
    expect(second.cursor.id.equals(id)).toBe(true);
    const last = await ok({ getMore: id, collection: 'builds' });
    expect(last.cursor.nextBatch.map((d: Document) => d.n)).toEqual([8, 9]);
    expect(last.cursor.id.isZero()).toBe(true);
    expect(await engine.run('circle', { getMore: id, collection: 'builds' })).toMatchObject({ ok: 0, code: 43, codeName: 'CursorNotFound' });
  });

  it('returns 101 documents in a default first batch, and one batch only with singleBatch', async () => {
    await insert('many', Array.from({ length: 150 }, (_, i) => ({ i })));
    const first = await ok({ find: 'many' });
    expect(first.cursor.firstBatch).toHaveLength(101);
    expect((await findAll({ find: 'many' })).length).toBe(150);
    const single = await ok({ find: 'many', batchSize: 2, singleBatch: true });
    expect(single.cursor.firstBatch).toHaveLength(2);
    expect(single.cursor.id.isZero()).toBe(true);
  });

  it('refuses a getMore on another namespace and kills cursors', async () => {
    const { cursor } = await ok({ find: 'builds', batchSize: 1 });
    expect(await engine.run('circle', { getMore: cursor.id, collection: 'other' })).toMatchObject({ ok: 0, code: 13 });
    const killed = await ok({ killCursors: 'builds', cursors: [cursor.id, Long.fromNumber(12345)] });
    expect(killed.cursorsKilled.map(String)).toEqual([String(cursor.id)]);
    expect(killed.cursorsNotFound.map(String)).toEqual(['12345']);
    expect(await engine.run('circle', { getMore: cursor.id, collection: 'builds' })).toMatchObject({ ok: 0, code: 43 });
  });

  it('finds nothing in a missing collection without creating it', async () => {
    expect(await findAll({ find: 'nowhere' })).toEqual([]);
    expect((await findAll({ listCollections: 1, nameOnly: true, cursor: {} } as Document)).map((c) => c.name)).toEqual(['builds']);
  });
});

describe('update', () => {
  beforeEach(async () => {
    await insert('jobs', [
      { _id: 'a', status: 'queued', attempts: 0, steps: [{ name: 'checkout', ok: false }, { name: 'test', ok: false }] },
      { _id: 'b', status: 'queued', attempts: 0, steps: [] },
      { _id: 'c', status: 'running', attempts: 2, steps: [] },
    ]);
  });
  const get = async (_id: string) => (await findAll({ find: 'jobs', filter: { _id } }))[0];

  it('updates one or every match and counts matched and modified documents', async () => {
    expect(await ok({ update: 'jobs', updates: [{ q: { status: 'queued' }, u: { $inc: { attempts: 1 } } }] })).toEqual({ n: 1, nModified: 1, ok: 1 });
    expect(await ok({ update: 'jobs', updates: [{ q: {}, u: { $set: { status: 'running' } }, multi: true }] })).toEqual({ n: 3, nModified: 2, ok: 1 });
    expect(await ok({ update: 'jobs', updates: [{ q: { _id: 'zz' }, u: { $set: { x: 1 } } }] })).toEqual({ n: 0, nModified: 0, ok: 1 });
  });

  it('upserts from the filter (dotted paths nested), $setOnInsert and the operators, reporting the new _id', async () => {
    const r = await ok({ update: 'jobs', updates: [{ q: { 'vcs.project': 'p', build: { $eq: 7 } }, u: { $set: { status: 'new' }, $setOnInsert: { created: 1 } }, upsert: true }] });
    expect(r).toMatchObject({ n: 1, nModified: 0, upserted: [{ index: 0 }] });
    const id = r.upserted[0]._id;
    expect(id).toBeInstanceOf(ObjectId);
    const [doc] = await findAll({ find: 'jobs', filter: { _id: id } });
    expect(doc).toEqual({ _id: id, vcs: { project: 'p' }, build: 7, created: 1, status: 'new' });
  });

  it('replaces a whole document under the same _id, and refuses a replacement for many or one changing _id', async () => {
    expect(await ok({ update: 'jobs', updates: [{ q: { _id: 'b' }, u: { status: 'replaced' } }] })).toEqual({ n: 1, nModified: 1, ok: 1 });
    expect(await get('b')).toEqual({ _id: 'b', status: 'replaced' });
    const multi = await ok({ update: 'jobs', updates: [{ q: {}, u: { status: 'x' }, multi: true }] });
    expect(multi.writeErrors[0]).toMatchObject({ index: 0, code: 9 });
    const changesId = await ok({ update: 'jobs', updates: [{ q: { _id: 'b' }, u: { _id: 'other', status: 'x' } }] });
    expect(changesId.writeErrors[0]).toMatchObject({ code: 66 });
    expect(await ok({ update: 'jobs', updates: [{ q: { _id: 'a' }, u: { $set: { _id: 'moved' } } }] })).toMatchObject({ writeErrors: [{ code: 66 }] });
    expect(await get('b')).toEqual({ _id: 'b', status: 'replaced' });
  });

  it('applies arrayFilters and refuses unknown operators and pipelines', async () => {
    await ok({ update: 'jobs', updates: [{ q: { _id: 'a' }, u: { $set: { 'steps.$[s].ok': true } }, arrayFilters: [{ 's.name': 'test' }] }] });
    expect((await get('a'))!.steps).toEqual([{ name: 'checkout', ok: false }, { name: 'test', ok: true }]);
    expect((await ok({ update: 'jobs', updates: [{ q: { _id: 'a' }, u: { $frob: { x: 1 } } }] })).writeErrors[0]).toMatchObject({ code: 9 });
    expect((await ok({ update: 'jobs', updates: [{ q: { _id: 'a' }, u: [{ $set: { x: 1 } }] }] })).writeErrors[0]).toMatchObject({ code: 9, errmsg: expect.stringMatching(/pipeline-style/) });
  });
});

describe('delete, findAndModify, count, distinct', () => {
  beforeEach(async () => {
    await insert('logs', [
      { _id: 1, build: 1, tags: ['a', 'b'], stale: true },
      { _id: 2, build: 1, tags: ['b'], stale: true },
      { _id: 3, build: 2, tags: 'c', stale: false },
    ]);
  });

  it('deletes one or all matches, and refuses other limits', async () => {
    expect(await ok({ delete: 'logs', deletes: [{ q: { stale: true }, limit: 1 }] })).toEqual({ n: 1, ok: 1 });
    expect(await ok({ delete: 'logs', deletes: [{ q: {}, limit: 0 }] })).toEqual({ n: 2, ok: 1 });
    expect((await ok({ delete: 'logs', deletes: [{ q: {}, limit: 2 }] })).writeErrors[0]).toMatchObject({ code: 9 });
  });

  it('findAndModify updates the first in sort order and returns it before or after, removes, and upserts', async () => {
    const before = await ok({ findAndModify: 'logs', query: { build: 1 }, sort: { _id: -1 }, update: { $set: { seen: true } } });
    expect(before).toMatchObject({ lastErrorObject: { n: 1, updatedExisting: true }, value: { _id: 2, build: 1 } });
    expect(before.value).not.toHaveProperty('seen');
    const after = await ok({ findAndModify: 'logs', query: { _id: 3 }, update: { $inc: { build: 10 } }, new: true, fields: { build: 1 } });
    expect(after.value).toEqual({ _id: 3, build: 12 });
    expect(await ok({ findAndModify: 'logs', query: { _id: 1 }, remove: true })).toMatchObject({ lastErrorObject: { n: 1 }, value: { _id: 1 } });
    const up = await ok({ findAndModify: 'logs', query: { _id: 9 }, update: { $set: { build: 9 } }, upsert: true, new: true });
    expect(up).toMatchObject({ lastErrorObject: { n: 1, updatedExisting: false, upserted: 9 }, value: { _id: 9, build: 9 } });
    expect(await engine.run('circle', { findAndModify: 'logs', query: {}, remove: true, update: { $set: {} } })).toMatchObject({ ok: 0, code: 9 });
  });

  it('counts with a query, skip and limit; distinct unwinds array values', async () => {
    expect(await ok({ count: 'logs', query: { build: 1 } })).toMatchObject({ n: 2 });
    expect(await ok({ count: 'logs', skip: 1, limit: 1 })).toMatchObject({ n: 1 });
    expect(await ok({ count: 'missing' })).toMatchObject({ n: 0 });
    expect((await ok({ distinct: 'logs', key: 'tags' })).values.sort()).toEqual(['a', 'b', 'c']);
    expect(await ok({ distinct: 'logs', key: 'build', query: { stale: true } })).toMatchObject({ values: [1] });
  });
});

describe('aggregate', () => {
  beforeEach(async () => {
    await insert('builds', Array.from({ length: 7 }, (_, i) => ({ _id: i, project: i < 4 ? 'a' : 'b', ms: i * 10 })));
    await insert('projects', [
      { _id: 'a', owner: 'ann' },
      { _id: 'b', owner: 'bob' },
    ]);
  });
  const run = (pipeline: Document[]) => findAll({ aggregate: 'builds', pipeline, cursor: {} });

  it("runs the driver's countDocuments pipeline", async () => {
    expect(await run([{ $match: { project: 'a' } }, { $skip: 1 }, { $limit: 2 }, { $group: { _id: 1, n: { $sum: 1 } } }])).toEqual([{ _id: 1, n: 2 }]);
  });

  it('groups, sorts, projects, counts and looks up other collections', async () => {
    expect(await run([{ $group: { _id: '$project', total: { $sum: '$ms' } } }, { $sort: { _id: 1 } }])).toEqual([
      { _id: 'a', total: 60 },
      { _id: 'b', total: 150 },
    ]);
    expect(await run([{ $match: { ms: { $gt: 20 } } }, { $count: 'slow' }])).toEqual([{ slow: 4 }]);
    expect(await run([{ $sort: { ms: -1 } }, { $limit: 1 }, { $project: { _id: 0, ms: 1 } }])).toEqual([{ ms: 60 }]);
    const joined = await run([{ $match: { _id: 5 } }, { $lookup: { from: 'projects', localField: 'project', foreignField: '_id', as: 'p' } }]);
    expect(joined[0]!.p).toEqual([{ _id: 'b', owner: 'bob' }]);
  });

  it('requires a cursor and refuses $out, $merge and collectionless aggregation', async () => {
    expect(await engine.run('circle', { aggregate: 'builds', pipeline: [] })).toMatchObject({ ok: 0, code: 9 });
    expect(await engine.run('circle', { aggregate: 'builds', pipeline: [{ $out: 'x' }], cursor: {} })).toMatchObject({ ok: 0, code: 2, errmsg: expect.stringMatching(/\$out is not supported/) });
    expect(await engine.run('circle', { aggregate: 1, pipeline: [], cursor: {} })).toMatchObject({ ok: 0, code: 2 });
  });
});

describe('collections, databases and indexes', () => {
  it('creates (NamespaceExists the second time), lists, drops collections and databases', async () => {
    await ok({ create: 'a' });
    expect(await engine.run('circle', { create: 'a' })).toMatchObject({ ok: 0, code: 48, codeName: 'NamespaceExists' });
    expect(await engine.run('circle', { create: 'v', viewOn: 'a', pipeline: [] })).toMatchObject({ ok: 0, code: 2 });
    await insert('b', [{ x: 1 }]);
    await ok({ create: 'c' }, 'vms');
    const listed = await findAll({ listCollections: 1, cursor: {} } as Document);
    expect(listed.map((c) => c.name)).toEqual(['a', 'b']);
    expect(listed[0]).toMatchObject({ type: 'collection', idIndex: { key: { _id: 1 }, name: '_id_' } });
    expect((await findAll({ listCollections: 1, filter: { name: 'b' }, cursor: {} } as Document)).map((c) => c.name)).toEqual(['b']);
    expect((await ok({ listDatabases: 1, nameOnly: true }, 'admin')).databases).toEqual([{ name: 'circle' }, { name: 'vms' }]);
    expect(await engine.run('circle', { listDatabases: 1 })).toMatchObject({ ok: 0, code: 13 });
    expect(await ok({ drop: 'b' })).toMatchObject({ ns: 'circle.b', nIndexesWas: 1 });
    expect(await ok({ count: 'b' })).toMatchObject({ n: 0 });
    await ok({ dropDatabase: 1 }, 'vms');
    expect((await ok({ listDatabases: 1 }, 'admin')).databases.map((d: Document) => d.name)).toEqual(['circle']);
  });

  it('enforces a unique index on insert and update, rejects one over duplicates, and drops it', async () => {
    await insert('users', [{ login: 'ann' }, { login: 'bob' }]);
    const created = await ok({ createIndexes: 'users', indexes: [{ key: { login: 1 }, name: 'login_1', unique: true }] });
    expect(created).toMatchObject({ numIndexesBefore: 1, numIndexesAfter: 2, createdCollectionAutomatically: false });
    const dup = await insert('users', [{ login: 'ann' }]);
    expect(dup.writeErrors[0]).toMatchObject({ code: 11000, keyValue: { login: 'ann' }, errmsg: expect.stringMatching(/index: login_1 dup key: \{ login: "ann" \}/) });
    const upd = await ok({ update: 'users', updates: [{ q: { login: 'bob' }, u: { $set: { login: 'ann' } } }] });
    expect(upd.writeErrors[0]).toMatchObject({ code: 11000 });
    expect(await ok({ createIndexes: 'users', indexes: [{ key: { login: 1 }, name: 'login_1', unique: true }] })).toMatchObject({ note: 'all indexes already exist' });
    expect(await engine.run('circle', { createIndexes: 'users', indexes: [{ key: { login: -1 }, name: 'login_1' }] })).toMatchObject({ ok: 0, code: 86 });
    expect(await engine.run('circle', { createIndexes: 'users', indexes: [{ key: { login: 1 }, name: 'other' }] })).toMatchObject({ ok: 0, code: 85 });
    await insert('teams', [{ name: 'x' }, { name: 'x' }]);
    expect(await engine.run('circle', { createIndexes: 'teams', indexes: [{ key: { name: 1 }, name: 'name_1', unique: true }] })).toMatchObject({ ok: 0, code: 11000 });
    expect((await findAll({ listIndexes: 'users', cursor: {} } as Document)).map((i) => i.name)).toEqual(['_id_', 'login_1']);
    expect(await ok({ dropIndexes: 'users', index: 'login_1' })).toMatchObject({ nIndexesWas: 2 });
    expect(await insert('users', [{ login: 'ann' }])).toEqual({ n: 1, ok: 1 });
    expect(await engine.run('circle', { dropIndexes: 'users', index: '_id_' })).toMatchObject({ ok: 0, code: 72 });
    expect(await engine.run('circle', { listIndexes: 'nope', cursor: {} })).toMatchObject({ ok: 0, code: 26 });
  });

  it('reports collection and database statistics', async () => {
    await insert('b', [{ x: 1 }, { x: 2 }]);
    expect(await ok({ collStats: 'b' })).toMatchObject({ ns: 'circle.b', count: 2, nindexes: 1 });
    expect(await ok({ dbStats: 1 })).toMatchObject({ db: 'circle', collections: 1, objects: 2 });
    expect(await engine.run('circle', { collStats: 'nope' })).toMatchObject({ ok: 0, code: 26 });
  });
});

describe('durability: the journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'twin-mongo-journal-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An engine over the journal in `dir`, as the child process opens it on every start. */
  async function reopen(): Promise<{ engine: MongoEngine; journal: FileJournal }> {
    const { journal, data } = FileJournal.open(dir);
    return { engine: await MongoEngine.open({ journal, data }), journal };
  }
  const journalLines = () => readFileSync(join(dir, JOURNAL_FILE), 'utf8').split('\n').filter(Boolean);

  it('writes each acknowledged change before the command resolves, and replays it with its BSON types', async () => {
    const first = await reopen();
    const id = new ObjectId();
    const doc = { _id: id, at: new Date('2024-01-02T03:04:05Z'), big: Long.fromString('9007199254740993'), ratio: 0.5, n: 3, nested: { list: [1, 'two', null] } };
    await ok({ insert: 'builds', documents: [doc] }, 'circle', first.engine);
    // Written already: the reply could go out now, and a SIGKILL would not lose the document.
    expect(journalLines().some((l) => l.includes(id.toHexString()))).toBe(true);
    await ok({ update: 'builds', updates: [{ q: { _id: id }, u: { $inc: { n: 1 } } }] }, 'circle', first.engine);
    await ok({ insert: 'gone', documents: [{ x: 1 }] }, 'circle', first.engine);
    await ok({ drop: 'gone' }, 'circle', first.engine);
    await ok({ createIndexes: 'builds', indexes: [{ key: { n: 1 }, name: 'n_1', unique: true }] }, 'circle', first.engine);
    // No close(): as after a SIGKILL.

    const second = await reopen();
    const [back] = await findAll({ find: 'builds' }, 'circle', second.engine);
    expect(back).toEqual({ ...doc, n: 4 });
    expect(back!._id).toBeInstanceOf(ObjectId);
    expect(back!.big).toBeInstanceOf(Long);
    expect(String(back!.big)).toBe('9007199254740993');
    expect((await findAll({ listCollections: 1, cursor: {} } as Document, 'circle', second.engine)).map((c) => c.name)).toEqual(['builds']);
    expect((await ok({ insert: 'builds', documents: [{ n: 4 }] }, 'circle', second.engine)).writeErrors[0]).toMatchObject({ code: 11000 });
    second.journal.close();
  });

  it('compacts on start to the last state of each document', async () => {
    const first = await reopen();
    await ok({ insert: 'c', documents: [{ _id: 1, v: 0 }] }, 'circle', first.engine);
    for (let v = 1; v <= 20; v++) await ok({ update: 'c', updates: [{ q: { _id: 1 }, u: { $set: { v } } }] }, 'circle', first.engine);
    await ok({ delete: 'c', deletes: [{ q: { _id: 1 }, limit: 1 }] }, 'circle', first.engine);
    await ok({ insert: 'c', documents: [{ _id: 2, v: 'kept' }] }, 'circle', first.engine);
    first.journal.close();
    expect(journalLines()).toHaveLength(24);
    const second = await reopen();
    expect(journalLines()).toHaveLength(2);
    expect(await findAll({ find: 'c' }, 'circle', second.engine)).toEqual([{ _id: 2, v: 'kept' }]);
    second.journal.close();
  });

  it('drops a torn last line (a write a kill cut short) but refuses a corrupt line before it', async () => {
    const first = await reopen();
    await ok({ insert: 'c', documents: [{ _id: 1 }] }, 'circle', first.engine);
    first.journal.close();
    appendFileSync(join(dir, JOURNAL_FILE), '{"op":"put","db":"circle","coll":"c","doc":{"_id":{"$numberInt":"2"');
    const second = await reopen();
    expect((await findAll({ find: 'c' }, 'circle', second.engine)).map((d) => d._id)).toEqual([1]);
    second.journal.close();
    writeFileSync(join(dir, JOURNAL_FILE), `not json\n${readFileSync(join(dir, JOURNAL_FILE), 'utf8')}`);
    expect(() => FileJournal.open(dir)).toThrow(/line 1 is not a journal entry.*corrupt/);
  });
});
