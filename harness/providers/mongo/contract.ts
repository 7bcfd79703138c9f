import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DocumentStore } from './document-store.ts';

/**
 * The behaviour every `DocumentStore` must show, run against the embedded store and against a real mongod when
 * one exists: the services rely on exactly this, so both backends are held to the same assertions.
 *
 * `open` is called once; the caller owns the store's lifecycle (start it before, stop it after).
 */
export function describeDocumentStoreContract(label: string, open: () => DocumentStore | Promise<DocumentStore>): void {
  describe(`DocumentStore contract: ${label}`, () => {
    let store: DocumentStore;
    // Each case writes its own collection, so a real server's state from other cases or runs never interferes.
    const fresh = <T extends Record<string, unknown> = Record<string, unknown>>() => store.collection<T>(`contract_${randomBytes(4).toString('hex')}`);

    beforeAll(async () => {
      store = await open();
    });

    it('insertOne assigns an _id that finds the document again, and stores a copy', async () => {
      const c = fresh();
      const doc: Record<string, unknown> = { build: 1, status: 'running', steps: [{ name: 'checkout' }] };
      const { insertedId } = await c.insertOne(doc);
      expect(insertedId).toBeDefined();
      (doc.steps as { name: string }[]).push({ name: 'mutated after insert' });
      doc.status = 'mutated';
      const found = await c.findOne({ _id: insertedId });
      expect(found).toMatchObject({ build: 1, status: 'running', steps: [{ name: 'checkout' }] });
      expect(String(found?._id)).toBe(String(insertedId));
    });

    it('rejects a duplicate _id with code 11000', async () => {
      const c = fresh();
      await c.insertOne({ _id: 'build-1', n: 1 });
      await expect(c.insertOne({ _id: 'build-1', n: 2 })).rejects.toMatchObject({ code: 11000 });
      expect(await c.countDocuments({})).toBe(1);
    });

    it('find matches query operators and dotted paths, and sorts, skips and limits', async () => {
      const c = fresh();
      for (const [n, branch, project] of [[1, 'main', 'a'], [2, 'dev', 'a'], [3, 'main', 'b'], [4, 'main', 'a'], [5, 'feature', 'c']] as const) {
        await c.insertOne({ n, branch, vcs: { project } });
      }
      expect((await c.find({ n: { $gte: 3 } })).map((d) => d.n).sort()).toEqual([3, 4, 5]);
      expect((await c.find({ branch: { $in: ['dev', 'feature'] } }, { sort: { n: 1 } })).map((d) => d.n)).toEqual([2, 5]);
      expect((await c.find({ 'vcs.project': 'a' }, { sort: { n: -1 } })).map((d) => d.n)).toEqual([4, 2, 1]);
      expect((await c.find({ branch: 'main' }, { sort: { n: 1 }, skip: 1, limit: 1 })).map((d) => d.n)).toEqual([3]);
      expect(await c.find({ branch: 'nope' })).toEqual([]);
      expect(await c.findOne({ branch: 'nope' })).toBeNull();
    });

    it('updateOne applies operators to exactly one document and reports matched and modified counts', async () => {
      const c = fresh();
      await c.insertOne({ _id: 'a', status: 'queued', attempts: 0, tags: [] });
      await c.insertOne({ _id: 'b', status: 'queued', attempts: 0, tags: [] });
      const r = await c.updateOne({ status: 'queued' }, { $set: { status: 'running' }, $inc: { attempts: 1 }, $push: { tags: 'picked' } });
      expect(r).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
      expect(await c.countDocuments({ status: 'running', attempts: 1, tags: 'picked' })).toBe(1);
      expect(await c.countDocuments({ status: 'queued' })).toBe(1);
      expect(await c.updateOne({ _id: 'a' }, { $set: { status: 'running' } }).then((x) => x.modifiedCount)).toBe(0);
      expect(await c.updateOne({ _id: 'missing' }, { $set: { status: 'x' } })).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedId: null });
    });

    it('updateOne with upsert inserts from the filter, $setOnInsert and the update, then matches next time', async () => {
      const c = fresh();
      const first = await c.updateOne({ build: 7 }, { $set: { status: 'running' }, $setOnInsert: { created: 'now' } }, { upsert: true });
      expect(first.matchedCount).toBe(0);
      expect(first.upsertedId).not.toBeNull();
      expect(await c.findOne({ build: 7 })).toMatchObject({ build: 7, status: 'running', created: 'now' });
      const second = await c.updateOne({ build: 7 }, { $set: { status: 'success' }, $setOnInsert: { created: 'again' } }, { upsert: true });
      expect(second).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedId: null });
      expect(await c.findOne({ build: 7 })).toMatchObject({ status: 'success', created: 'now' });
      expect(await c.countDocuments({})).toBe(1);
    });

    it('updateOne refuses a replacement document (operators only)', async () => {
      const c = fresh();
      await c.insertOne({ _id: 'a', status: 'queued' });
      await expect(c.updateOne({ _id: 'a' }, { status: 'replaced' })).rejects.toThrow(/atomic operators/);
      expect(await c.findOne({ _id: 'a' })).toMatchObject({ status: 'queued' });
    });

    it('deleteMany removes the matching documents only; countDocuments counts with and without a filter', async () => {
      const c = fresh();
      for (let i = 0; i < 6; i++) await c.insertOne({ i, stale: i % 2 === 0 });
      expect(await c.countDocuments()).toBe(6);
      expect(await c.deleteMany({ stale: true })).toEqual({ deletedCount: 3 });
      expect(await c.countDocuments()).toBe(3);
      expect(await c.countDocuments({ stale: true })).toBe(0);
      expect(await c.deleteMany({ stale: true })).toEqual({ deletedCount: 0 });
      await c.insertOne({ _id: 'reused', i: 99 });
      expect(await c.deleteMany({ _id: 'reused' })).toEqual({ deletedCount: 1 });
      await c.insertOne({ _id: 'reused', i: 100 });
      expect(await c.countDocuments({ _id: 'reused' })).toBe(1);
    });

    it('keeps Dates as Dates, comparable in queries', async () => {
      const c = fresh();
      await c.insertOne({ _id: 'old', at: new Date('2020-01-01T00:00:00Z') });
      await c.insertOne({ _id: 'new', at: new Date('2024-01-01T00:00:00Z') });
      const old = await c.find({ at: { $lt: new Date('2022-01-01T00:00:00Z') } });
      expect(old.map((d) => d._id)).toEqual(['old']);
      expect(old[0]?.at).toBeInstanceOf(Date);
    });
  });
}
