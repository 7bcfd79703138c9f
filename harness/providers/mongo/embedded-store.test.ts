import { describe, expect, it } from 'vitest';
import { describeDocumentStoreContract } from './contract.ts';
import { EmbeddedStore, type StoreChange } from './embedded-store.ts';

describeDocumentStoreContract('embedded store', () => new EmbeddedStore());

describe('EmbeddedStore', () => {
  it('hands out copies: mutating a found document does not change the store', async () => {
    const c = new EmbeddedStore().collection('builds');
    await c.insertOne({ _id: 'a', status: 'running' });
    const found = await c.findOne({ _id: 'a' });
    found!.status = 'mutated';
    expect(await c.findOne({ _id: 'a' })).toEqual({ _id: 'a', status: 'running' });
  });

  it('assigns ObjectId-shaped ids that sort by creation', async () => {
    const c = new EmbeddedStore().collection('builds');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await c.insertOne({ i })).insertedId as string);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(new Set(ids).size).toBe(3);
  });

  it('lists and clears collections (a wiped data dir)', async () => {
    const store = new EmbeddedStore();
    await store.collection('b').insertOne({});
    await store.collection('a').insertOne({});
    expect(store.collectionNames()).toEqual(['a', 'b']);
    store.clear();
    expect(store.collectionNames()).toEqual([]);
    expect(await store.collection('a').countDocuments()).toBe(0);
  });

  it('keeps _id first in the documents it assigns ids to, and in upserts', async () => {
    const c = new EmbeddedStore().collection('builds');
    await c.insertOne({ n: 1 });
    await c.updateOne({ build: 2 }, { $set: { status: 'new' } }, { upsert: true });
    expect((await c.find()).map((d) => Object.keys(d)[0])).toEqual(['_id', '_id']);
  });
});

describe('EmbeddedStore, beyond DocumentCollection (what the wire server uses)', () => {
  it('updates every match with multi, replaces whole documents, and deletes one', async () => {
    const c = new EmbeddedStore().open('jobs');
    for (const _id of ['a', 'b', 'c']) await c.insertOne({ _id, status: 'queued' });
    expect(await c.update({ status: 'queued' }, { $set: { status: 'running' } }, { multi: true })).toEqual({ matchedCount: 3, modifiedCount: 3, upsertedId: null });
    expect(await c.update({ _id: 'b' }, { status: 'replaced', extra: 1 })).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
    expect(await c.findOne({ _id: 'b' })).toEqual({ _id: 'b', status: 'replaced', extra: 1 });
    expect(await c.update({ _id: 'b' }, { status: 'replaced', extra: 1 })).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    await expect(c.update({}, { status: 'x' }, { multi: true })).rejects.toMatchObject({ code: 9 });
    await expect(c.update({ _id: 'b' }, { $set: { a: 1 }, plain: 2 })).rejects.toThrow(/Unknown modifier: plain/);
    expect(await c.deleteOne({ status: 'running' })).toEqual({ deletedCount: 1 });
    expect((await c.find({}, { sort: { _id: 1 } })).map((d) => d._id)).toEqual(['b', 'c']);
  });

  it('upserts a replacement under the filter\'s _id, or a new one', async () => {
    const c = new EmbeddedStore().open('jobs');
    expect(await c.update({ _id: 'x', ignored: 1 }, { status: 'new' }, { upsert: true })).toMatchObject({ upsertedId: 'x' });
    expect(await c.findOne({ _id: 'x' })).toEqual({ _id: 'x', status: 'new' });
  });

  it('keeps a changed document in its place, so finds without a sort keep insertion order', async () => {
    const c = new EmbeddedStore().open('jobs');
    for (const _id of [1, 2, 3]) await c.insertOne({ _id });
    await c.update({ _id: 1 }, { $set: { touched: true } });
    expect((await c.find()).map((d) => d._id)).toEqual([1, 2, 3]);
  });

  it('enforces unique indexes (compound, sparse, missing fields as null) on insert and update, until dropped', async () => {
    const c = new EmbeddedStore({ database: 'circle' }).open('users');
    c.addUniqueIndex({ name: 'org_login', fields: ['org', 'login'] });
    await c.insertOne({ org: 'o', login: 'ann' });
    await c.insertOne({ org: 'p', login: 'ann' });
    await expect(c.insertOne({ org: 'o', login: 'ann' })).rejects.toMatchObject({ code: 11000, index: 'org_login', keyValue: { org: 'o', login: 'ann' }, message: expect.stringMatching(/collection: circle\.users index: org_login/) });
    await c.insertOne({ note: 'no org, no login' });
    await expect(c.insertOne({ note: 'again' })).rejects.toMatchObject({ code: 11000 });
    await expect(c.update({ org: 'p' }, { $set: { org: 'o' } })).rejects.toMatchObject({ code: 11000 });
    expect(await c.findOne({ login: 'ann', org: 'p' })).not.toBeNull();
    expect(c.dropUniqueIndex('org_login')).toBe(true);
    await c.insertOne({ org: 'o', login: 'ann' });
    c.addUniqueIndex({ name: 'email', fields: ['email'], sparse: true });
    await c.insertOne({ x: 1 });
    expect(() => c.addUniqueIndex({ name: 'login', fields: ['login'] })).toThrow(/dup key: \{ login: "ann" \}/);
  });

  it('reports every change to onChange, before the write resolves', async () => {
    const changes: StoreChange[] = [];
    const c = new EmbeddedStore({ onChange: (ch) => changes.push(ch) }).open('logs');
    await c.insertOne({ _id: 1, n: 0 });
    await c.updateOne({ _id: 1 }, { $inc: { n: 1 } });
    await c.updateOne({ _id: 1 }, { $inc: { n: 0 } });
    await c.deleteMany({});
    expect(changes).toEqual([
      { collection: 'logs', put: { _id: 1, n: 0 } },
      { collection: 'logs', put: { _id: 1, n: 1 } },
      { collection: 'logs', removed: 1 },
    ]);
  });

  it('takes the copy and the id maker it is given, and creates collections only on open', async () => {
    class Id {
      constructor(readonly hex: string) {}
      toString(): string {
        return this.hex;
      }
    }
    const store = new EmbeddedStore({ copy: (v) => v, newId: () => new Id('fixed') });
    expect(store.existing('a')).toBeUndefined();
    const { insertedId } = await store.open('a').insertOne({ n: 1 });
    expect(insertedId).toBeInstanceOf(Id);
    expect(await store.open('a').findOne({ _id: new Id('fixed') })).toMatchObject({ n: 1 });
    expect(store.drop('a')).toBe(true);
    expect(store.collectionNames()).toEqual([]);
  });
});
