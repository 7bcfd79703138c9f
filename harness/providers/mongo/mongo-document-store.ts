import type { Collection, Db, Document, Filter as MongoFilter, UpdateFilter } from 'mongodb';
import type { DeleteResult, Doc, DocumentCollection, DocumentStore, Filter, FindOptions, InsertOneResult, Update, UpdateResult, WithId } from './document-store.ts';

/** The `DocumentStore` of a real MongoDB database through the official driver: the same interface as the embedded store. */
export function mongoDocumentStore(db: Db): DocumentStore {
  return {
    kind: 'mongodb',
    collection<T extends Doc = Doc>(name: string): DocumentCollection<T> {
      return mongoCollection<T>(db.collection(name));
    },
  };
}

/** Adapts one driver collection. */
export function mongoCollection<T extends Doc = Doc>(c: Collection<Document>): DocumentCollection<T> {
  return {
    name: c.collectionName,
    async insertOne(doc: T): Promise<InsertOneResult> {
      // The driver adds `_id` to the object it is given; a copy keeps the caller's object as it was (like embedded).
      const r = await c.insertOne({ ...doc });
      return { insertedId: r.insertedId };
    },
    async find(filter: Filter = {}, options: FindOptions = {}): Promise<WithId<T>[]> {
      let cursor = c.find(filter as MongoFilter<Document>);
      if (options.sort) cursor = cursor.sort({ ...options.sort });
      if (options.skip !== undefined) cursor = cursor.skip(options.skip);
      if (options.limit !== undefined) cursor = cursor.limit(options.limit);
      return (await cursor.toArray()) as WithId<T>[];
    },
    async findOne(filter: Filter = {}): Promise<WithId<T> | null> {
      return (await c.findOne(filter as MongoFilter<Document>)) as WithId<T> | null;
    },
    async updateOne(filter: Filter, update: Update, options: { readonly upsert?: boolean } = {}): Promise<UpdateResult> {
      const r = await c.updateOne(filter as MongoFilter<Document>, update as UpdateFilter<Document>, { upsert: options.upsert ?? false });
      return { matchedCount: r.matchedCount, modifiedCount: r.modifiedCount, upsertedId: r.upsertedId ?? null };
    },
    async deleteMany(filter: Filter): Promise<DeleteResult> {
      const r = await c.deleteMany(filter as MongoFilter<Document>);
      return { deletedCount: r.deletedCount };
    },
    countDocuments(filter: Filter = {}): Promise<number> {
      return c.countDocuments(filter as MongoFilter<Document>);
    },
  };
}
