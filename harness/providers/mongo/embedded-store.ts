import { randomBytes } from 'node:crypto';
import { find } from 'mingo';
import type { AnyObject } from 'mingo/types';
import { update as applyUpdate, updateOne as mingoUpdateOne } from 'mingo/updater';
import { DocumentStoreError, type DeleteResult, type Doc, type DocumentCollection, type DocumentStore, type Filter, type FindOptions, type InsertOneResult, type Update, type UpdateResult, type WithId } from './document-store.ts';

/**
 * The embedded document store: MongoDB's query and update language (through mingo) over documents held in this
 * process. It is the MongoDB fallback where no `mongod` and no container runtime exist; what it stores is gone
 * when the process ends, like a mongod without a volume. Documents are copied in and out, so a caller can never
 * change stored state by mutating an object.
 */
export class EmbeddedStore implements DocumentStore {
  readonly kind = 'embedded' as const;
  readonly #collections = new Map<string, EmbeddedCollection>();
  #down = false;

  /**
   * A live `kill`/`stop` of mongo (and its `start`): while down every operation fails as a driver's would with no
   * server to reach; what was stored is kept, as a mongod's data dir is across a restart.
   */
  setDown(down: boolean): void {
    this.#down = down;
  }

  get isDown(): boolean {
    return this.#down;
  }

  collection<T extends Doc = Doc>(name: string): DocumentCollection<T> {
    let c = this.#collections.get(name);
    if (!c) {
      c = new EmbeddedCollection(name, () => this.#down);
      this.#collections.set(name, c);
    }
    return c as unknown as DocumentCollection<T>;
  }

  /** The names of the collections written so far, sorted. */
  collectionNames(): string[] {
    return [...this.#collections.keys()].sort();
  }

  /** Forgets everything (a wiped data dir). */
  clear(): void {
    this.#collections.clear();
  }
}

class EmbeddedCollection implements DocumentCollection<Doc> {
  readonly #docs: WithId<Doc>[] = [];
  readonly #ids = new Set<string>();

  constructor(
    readonly name: string,
    private readonly down: () => boolean,
  ) {}

  /** MongoDB's HostUnreachable (6), what the driver reports when the server is gone. */
  #reachable(): void {
    if (this.down()) throw new DocumentStoreError(`connect ECONNREFUSED: mongo is down (collection ${this.name})`, 6);
  }

  async insertOne(doc: Doc): Promise<InsertOneResult> {
    this.#reachable();
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new TypeError(`insertOne into ${this.name}: a document must be an object`);
    const copy = structuredClone(doc) as WithId<Doc>;
    if (copy._id === undefined) copy._id = newObjectIdHex();
    const key = idKey(copy._id);
    if (this.#ids.has(key)) {
      throw new DocumentStoreError(`E11000 duplicate key error collection: ${this.name} index: _id_ dup key: { _id: ${JSON.stringify(copy._id)} }`, 11000);
    }
    this.#ids.add(key);
    this.#docs.push(copy);
    return { insertedId: structuredClone(copy._id) };
  }

  async find(filter: Filter = {}, options: FindOptions = {}): Promise<WithId<Doc>[]> {
    this.#reachable();
    let cursor = find<WithId<Doc>>(this.#docs, filter as AnyObject);
    if (options.sort) cursor = cursor.sort({ ...options.sort });
    if (options.skip !== undefined) cursor = cursor.skip(options.skip);
    if (options.limit !== undefined && options.limit > 0) cursor = cursor.limit(options.limit);
    return cursor.all().map((d) => structuredClone(d));
  }

  async findOne(filter: Filter = {}): Promise<WithId<Doc> | null> {
    return (await this.find(filter, { limit: 1 }))[0] ?? null;
  }

  async updateOne(filter: Filter, update: Update, options: { readonly upsert?: boolean } = {}): Promise<UpdateResult> {
    this.#reachable();
    assertOperators(update);
    const { $setOnInsert, ...modifier } = update as Update & { $setOnInsert?: Doc };
    const copy = structuredClone(modifier);
    const r = Object.keys(copy).length === 0 ? { matchedCount: this.#countMatching(filter, 1), modifiedCount: 0 } : mingoUpdateOne(this.#docs, filter as AnyObject, copy as AnyObject, { cloneMode: 'deep' });
    if (r.matchedCount > 0 || !options.upsert) return { matchedCount: r.matchedCount, modifiedCount: r.modifiedCount, upsertedId: null };
    // Upsert: the filter's equality fields, then $setOnInsert, then the update, as MongoDB builds the new document.
    const seed: Doc = {};
    for (const [k, v] of Object.entries(filter)) if (!k.startsWith('$') && !isOperatorObject(v)) seed[k] = structuredClone(v);
    if ($setOnInsert) applyUpdate(seed as AnyObject, { $set: structuredClone($setOnInsert) });
    if (Object.keys(copy).length > 0) applyUpdate(seed as AnyObject, copy as AnyObject);
    const { insertedId } = await this.insertOne(seed);
    return { matchedCount: 0, modifiedCount: 0, upsertedId: insertedId };
  }

  async deleteMany(filter: Filter): Promise<DeleteResult> {
    this.#reachable();
    const doomed = new Set(find<WithId<Doc>>(this.#docs, filter as AnyObject).all());
    if (doomed.size === 0) return { deletedCount: 0 };
    const kept = this.#docs.filter((d) => !doomed.has(d));
    this.#docs.splice(0, this.#docs.length, ...kept);
    for (const d of doomed) this.#ids.delete(idKey(d._id));
    return { deletedCount: doomed.size };
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    this.#reachable();
    return this.#countMatching(filter, Number.POSITIVE_INFINITY);
  }

  #countMatching(filter: Filter, atMost: number): number {
    let n = 0;
    for (const _ of find(this.#docs, filter as AnyObject).all()) if (++n >= atMost) break;
    return n;
  }
}

/** The driver refuses replacement documents in updateOne; so does the embedded store, so services cannot rely on it. */
function assertOperators(update: Update): void {
  const keys = Object.keys(update);
  if (keys.length === 0 || keys.some((k) => !k.startsWith('$'))) {
    throw new DocumentStoreError('Update document requires atomic operators', 9);
  }
}

function isOperatorObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && Object.keys(v).some((k) => k.startsWith('$'));
}

function idKey(id: unknown): string {
  return id instanceof Date ? `date:${id.getTime()}` : `${typeof id}:${JSON.stringify(id)}`;
}

let counter = randomBytes(3).readUIntBE(0, 3);
const processUnique = randomBytes(5).toString('hex');

/** 24 hex characters laid out like an ObjectId (seconds, process-unique bytes, counter), so ids sort by creation. */
function newObjectIdHex(): string {
  counter = (counter + 1) % 0xffffff;
  const seconds = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `${seconds}${processUnique}${counter.toString(16).padStart(6, '0')}`;
}
