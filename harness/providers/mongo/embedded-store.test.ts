import { describe, expect, it } from 'vitest';
import { describeDocumentStoreContract } from './contract.ts';
import { EmbeddedStore } from './embedded-store.ts';

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
});
