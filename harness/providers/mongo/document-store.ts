/**
 * The repository interface the twin's services use for MongoDB-shaped data (step output, test results, ...):
 * small on purpose, so the embedded store and the real `mongodb` driver (through `mongoDocumentStore`) both
 * satisfy it and the same service code runs on either. `contract.ts` holds the assertions both must pass.
 */

/** A stored document: a plain object; `_id` is assigned on insert when missing. */
export type Doc = Record<string, unknown>;

/** A MongoDB query filter (`{ status: 'running', started: { $lt: date } }`). */
export type Filter = Record<string, unknown>;

/** An update of MongoDB operators only (`{ $set: {...}, $inc: {...} }`); replacement documents are refused. */
export type Update = Record<string, unknown>;

export interface FindOptions {
  readonly sort?: Readonly<Record<string, 1 | -1>>;
  readonly skip?: number;
  readonly limit?: number;
}

export interface InsertOneResult {
  readonly insertedId: unknown;
}

export interface UpdateResult {
  readonly matchedCount: number;
  readonly modifiedCount: number;
  /** The `_id` of the document an upsert inserted, else null. */
  readonly upsertedId: unknown;
}

export interface DeleteResult {
  readonly deletedCount: number;
}

export type WithId<T extends Doc> = T & { _id: unknown };

export interface DocumentCollection<T extends Doc = Doc> {
  readonly name: string;
  /** Inserts a copy; a duplicate `_id` rejects with code 11000, as MongoDB does. */
  insertOne(doc: T): Promise<InsertOneResult>;
  find(filter?: Filter, options?: FindOptions): Promise<WithId<T>[]>;
  findOne(filter?: Filter): Promise<WithId<T> | null>;
  updateOne(filter: Filter, update: Update, options?: { readonly upsert?: boolean }): Promise<UpdateResult>;
  deleteMany(filter: Filter): Promise<DeleteResult>;
  countDocuments(filter?: Filter): Promise<number>;
}

export interface DocumentStore {
  /** `embedded` (in this process) or `mongodb` (a real server through the driver). */
  readonly kind: 'embedded' | 'mongodb';
  collection<T extends Doc = Doc>(name: string): DocumentCollection<T>;
}

/** An operating error of a store with MongoDB's numeric code (11000: duplicate key). */
export class DocumentStoreError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'DocumentStoreError';
  }
}
