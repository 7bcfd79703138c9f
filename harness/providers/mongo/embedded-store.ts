import { randomBytes } from 'node:crypto';
import { find } from 'mingo';
import type { AnyObject } from 'mingo/types';
import { update as applyUpdate } from 'mingo/updater';
import { resolve } from 'mingo/util';
import { DocumentStoreError, type DeleteResult, type Doc, type DocumentCollection, type DocumentStore, type Filter, type FindOptions, type InsertOneResult, type Update, type UpdateResult, type WithId } from './document-store.ts';

/** How an `EmbeddedStore` copies, names and reports; every field has the in-process default. */
export interface EmbeddedStoreOptions {
  /** The database the store holds, for error messages (`E11000 ... collection: circle.builds`). */
  readonly database?: string;
  /**
   * Copies documents in and out. The default, structuredClone, suits plain data; the wire server passes a copy
   * that keeps BSON values (ObjectId, Long, Binary) as they are, which structuredClone turns into plain objects.
   */
  readonly copy?: <T>(value: T) => T;
  /** The `_id` of a document inserted without one (default: ObjectId-shaped hex strings; the wire server makes ObjectIds). */
  readonly newId?: () => unknown;
  /**
   * Told of every stored change, synchronously, before the write resolves: the wire server journals here. `put` is
   * the stored document itself (a new object for every change); a listener must not mutate it.
   */
  readonly onChange?: (change: StoreChange) => void;
}

/** One document's new state, or its removal. */
export type StoreChange = { readonly collection: string; readonly put: WithId<Doc> } | { readonly collection: string; readonly removed: unknown };

/** How `EmbeddedCollection.update` applies an update: MongoDB's `update` command statement options. */
export interface UpdateSpec {
  /** Every matching document (else the first). Not with a replacement document, as in MongoDB. */
  readonly multi?: boolean;
  readonly upsert?: boolean;
  /** The filters of `$[<identifier>]` positional operators. */
  readonly arrayFilters?: readonly Doc[];
}

/** A unique secondary index: no two documents may share the values of `fields` (a missing field counts as null). */
export interface UniqueIndexSpec {
  readonly name: string;
  readonly fields: readonly string[];
  /** Documents missing every field are not indexed (so they never collide). */
  readonly sparse?: boolean;
}

/**
 * The embedded document store: MongoDB's query and update language (through mingo) over documents held in memory.
 * In this process it is a `DocumentStore` for tests; the twin's MongoDB wire-protocol server (`embedded/`) keeps one
 * per database and journals its changes (`onChange`). Documents are copied in and out, so a caller can never change
 * stored state by mutating an object.
 */
export class EmbeddedStore implements DocumentStore {
  readonly kind = 'embedded' as const;
  readonly #collections = new Map<string, EmbeddedCollection>();
  readonly #context: CollectionContext;
  #down = false;

  constructor(options: EmbeddedStoreOptions = {}) {
    this.#context = {
      database: options.database,
      copy: options.copy ?? structuredClone,
      newId: options.newId ?? newObjectIdHex,
      onChange: options.onChange ?? (() => undefined),
      isDown: () => this.#down,
    };
  }

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
    return this.open(name) as unknown as DocumentCollection<T>;
  }

  /** The collection with the operations beyond `DocumentCollection` (multi and replacement updates, unique indexes); created if missing. */
  open(name: string): EmbeddedCollection {
    let c = this.#collections.get(name);
    if (!c) {
      c = new EmbeddedCollection(name, this.#context);
      this.#collections.set(name, c);
    }
    return c;
  }

  /** The collection if it was created (a read must not create one, as in MongoDB). */
  existing(name: string): EmbeddedCollection | undefined {
    return this.#collections.get(name);
  }

  /** Removes a collection with its documents and indexes; false if there was none. Reports no per-document changes. */
  drop(name: string): boolean {
    return this.#collections.delete(name);
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

interface CollectionContext {
  readonly database: string | undefined;
  readonly copy: <T>(value: T) => T;
  readonly newId: () => unknown;
  readonly onChange: (change: StoreChange) => void;
  readonly isDown: () => boolean;
}

interface UniqueIndex {
  readonly spec: UniqueIndexSpec;
  /** Index key → the document holding it. */
  readonly owners: Map<string, WithId<Doc>>;
}

/** A duplicate key (code 11000), with the index and the values that collided, as MongoDB reports them. */
export class DuplicateKeyError extends DocumentStoreError {
  constructor(
    namespace: string,
    readonly index: string,
    readonly keyValue: Doc,
  ) {
    const shown = Object.entries(keyValue)
      .map(([k, v]) => `${k}: ${JSON.stringify(v) ?? 'undefined'}`)
      .join(', ');
    super(`E11000 duplicate key error collection: ${namespace} index: ${index} dup key: { ${shown} }`, 11000);
  }

  /** The index's key pattern (`{ _id: 1 }`). */
  get keyPattern(): Doc {
    return Object.fromEntries(Object.keys(this.keyValue).map((k) => [k, 1]));
  }
}

/**
 * One collection: documents in insertion order, keyed by `_id` (a Map, so a lookup, a replacement and a removal by
 * `_id` cost O(1)), plus the unique indexes. Every change goes through `#store`/`#replace`/`#remove`, which keep
 * the indexes and report to `onChange`.
 */
export class EmbeddedCollection implements DocumentCollection<Doc> {
  readonly #docs = new Map<string, WithId<Doc>>();
  readonly #unique = new Map<string, UniqueIndex>();

  constructor(
    readonly name: string,
    private readonly context: CollectionContext,
  ) {}

  get #namespace(): string {
    return this.context.database !== undefined ? `${this.context.database}.${this.name}` : this.name;
  }

  /** MongoDB's HostUnreachable (6), what the driver reports when the server is gone. */
  #reachable(): void {
    if (this.context.isDown()) throw new DocumentStoreError(`connect ECONNREFUSED: mongo is down (collection ${this.name})`, 6);
  }

  async insertOne(doc: Doc): Promise<InsertOneResult> {
    this.#reachable();
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new TypeError(`insertOne into ${this.name}: a document must be an object`);
    const copy = this.context.copy(doc);
    // MongoDB keeps `_id` first, and so do we for the ids we assign.
    const stored = (copy._id === undefined ? { _id: this.context.newId(), ...copy } : copy) as WithId<Doc>;
    this.#store(stored);
    return { insertedId: this.context.copy(stored._id) };
  }

  async find(filter: Filter = {}, options: FindOptions = {}): Promise<WithId<Doc>[]> {
    this.#reachable();
    const unordered = !options.sort && !options.skip;
    if (unordered && idEquality(filter)) return this.#matching(filter, options.limit || Number.POSITIVE_INFINITY).map((d) => this.context.copy(d));
    let cursor = find<WithId<Doc>>(this.#docs.values(), filter as AnyObject);
    if (options.sort) cursor = cursor.sort({ ...options.sort });
    if (options.skip !== undefined) cursor = cursor.skip(options.skip);
    if (options.limit !== undefined && options.limit > 0) cursor = cursor.limit(options.limit);
    return cursor.all().map((d) => this.context.copy(d));
  }

  async findOne(filter: Filter = {}): Promise<WithId<Doc> | null> {
    return (await this.find(filter, { limit: 1 }))[0] ?? null;
  }

  /** Operators only (the driver refuses replacement documents in updateOne; so does this, so services cannot rely on them). */
  async updateOne(filter: Filter, update: Update, options: { readonly upsert?: boolean } = {}): Promise<UpdateResult> {
    assertOperators(update);
    return this.update(filter, update, { upsert: options.upsert });
  }

  /**
   * MongoDB's update statement: operators (`$set`, `$inc`, `$setOnInsert` on insert only, ...) or a replacement
   * document, on the first or every (`multi`) matching document, and an upsert built as MongoDB builds it (the
   * filter's equality fields, then the update). `_id` cannot change (code 66). Pipeline updates are refused (code 9).
   */
  async update(filter: Filter, update: Update, spec: UpdateSpec = {}): Promise<UpdateResult> {
    this.#reachable();
    const replacement = isReplacement(update);
    if (replacement && spec.multi) throw new DocumentStoreError('multi update is not supported for replacement-style update', 9);
    const { $setOnInsert, ...operators } = replacement ? {} : (update as Update & { $setOnInsert?: Doc });
    const targets = this.#matching(filter, spec.multi ? Number.POSITIVE_INFINITY : 1);
    let modifiedCount = 0;
    for (const current of targets) {
      const next = replacement ? this.#replacementFor(current, update) : this.#updated(current, operators, spec.arrayFilters);
      if (next === undefined) continue;
      this.#replace(current, next);
      modifiedCount++;
    }
    if (targets.length > 0 || !spec.upsert) return { matchedCount: targets.length, modifiedCount, upsertedId: null };
    const inserted = replacement ? this.#upsertReplacement(filter, update) : this.#upsertOperators(filter, operators, $setOnInsert, spec.arrayFilters);
    this.#store(inserted);
    return { matchedCount: 0, modifiedCount: 0, upsertedId: this.context.copy(inserted._id) };
  }

  async deleteMany(filter: Filter): Promise<DeleteResult> {
    return this.#delete(filter, Number.POSITIVE_INFINITY);
  }

  async deleteOne(filter: Filter): Promise<DeleteResult> {
    return this.#delete(filter, 1);
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    this.#reachable();
    return Object.keys(filter).length === 0 ? this.#docs.size : this.#matching(filter, Number.POSITIVE_INFINITY).length;
  }

  /**
   * Adds a unique index over the documents already stored; a collision there rejects it (code 11000) and nothing
   * changes. An index of the same name is replaced.
   */
  addUniqueIndex(spec: UniqueIndexSpec): void {
    const index: UniqueIndex = { spec: { ...spec, fields: [...spec.fields] }, owners: new Map() };
    for (const doc of this.#docs.values()) {
      const key = indexKey(index.spec, doc);
      if (key === undefined) continue;
      if (index.owners.has(key)) throw new DuplicateKeyError(this.#namespace, spec.name, keyValueOf(index.spec, doc));
      index.owners.set(key, doc);
    }
    this.#unique.set(spec.name, index);
  }

  dropUniqueIndex(name: string): boolean {
    return this.#unique.delete(name);
  }

  async #delete(filter: Filter, atMost: number): Promise<DeleteResult> {
    this.#reachable();
    const doomed = this.#matching(filter, atMost);
    for (const d of doomed) this.#remove(d);
    return { deletedCount: doomed.length };
  }

  /** The stored documents matching `filter`, at most `atMost`: by `_id` directly when the filter is just that. */
  #matching(filter: Filter, atMost: number): WithId<Doc>[] {
    if (idEquality(filter)) {
      const doc = this.#docs.get(valueKey(filter._id));
      return doc && atMost > 0 ? [doc] : [];
    }
    const cursor = find<WithId<Doc>>(this.#docs.values(), filter as AnyObject);
    return (Number.isFinite(atMost) ? cursor.limit(atMost) : cursor).all();
  }

  /** `current` with the operators applied, on a copy; undefined if nothing changed. */
  #updated(current: WithId<Doc>, operators: Update, arrayFilters: readonly Doc[] | undefined): WithId<Doc> | undefined {
    if (Object.keys(operators).length === 0) return undefined;
    const next = this.context.copy(current);
    const changed = applyUpdate(next as AnyObject, operators as AnyObject, arrayFilters as AnyObject[] | undefined, undefined, { cloneMode: 'deep' });
    if (changed.length === 0) return undefined;
    if (valueKey(next._id) !== valueKey(current._id)) throw immutableId(next._id);
    return next;
  }

  /** The replacement document under `current`'s `_id`; undefined if it equals `current`. */
  #replacementFor(current: WithId<Doc>, replacement: Update): WithId<Doc> | undefined {
    if (replacement._id !== undefined && valueKey(replacement._id) !== valueKey(current._id)) throw immutableId(replacement._id);
    const { _id: _ignored, ...fields } = this.context.copy(replacement);
    const next = { _id: current._id, ...fields };
    return valueKey(next) === valueKey(current) ? undefined : next;
  }

  /** An upserted replacement: the replacement, under its own `_id`, else the filter's, else a new one. */
  #upsertReplacement(filter: Filter, replacement: Update): WithId<Doc> {
    const { _id, ...fields } = this.context.copy(replacement);
    const fromFilter = equalities(filter).find(([path]) => path === '_id')?.[1];
    return { _id: _id ?? (fromFilter !== undefined ? this.context.copy(fromFilter) : this.context.newId()), ...fields };
  }

  /**
   * An upserted document: `_id` from the filter or `$setOnInsert` (else a new one) first, then the filter's other
   * equality fields (dotted paths nested), `$setOnInsert`, and the operators. (mingo refuses `$set` of `_id`, so
   * `_id` is placed directly.)
   */
  #upsertOperators(filter: Filter, operators: Update, setOnInsert: Doc | undefined, arrayFilters: readonly Doc[] | undefined): WithId<Doc> {
    const fields = equalities(filter);
    const { _id: insertId, ...onInsert } = setOnInsert ?? {};
    const id = fields.find(([path]) => path === '_id')?.[1] ?? insertId;
    const seed: Doc = {};
    const others = fields.filter(([path]) => path !== '_id' && !path.startsWith('_id.'));
    if (others.length > 0) applyUpdate(seed as AnyObject, { $set: this.context.copy(Object.fromEntries(others)) } as AnyObject);
    if (Object.keys(onInsert).length > 0) applyUpdate(seed as AnyObject, { $set: this.context.copy(onInsert) } as AnyObject);
    if (Object.keys(operators).length > 0) applyUpdate(seed as AnyObject, operators as AnyObject, arrayFilters as AnyObject[] | undefined, undefined, { cloneMode: 'deep' });
    return { _id: id !== undefined ? this.context.copy(id) : this.context.newId(), ...seed };
  }

  #store(doc: WithId<Doc>): void {
    this.#admit(doc, undefined);
    this.#docs.set(valueKey(doc._id), doc);
    this.#index(doc);
    this.context.onChange({ collection: this.name, put: doc });
  }

  /** Swaps in `next` (same `_id`) where `current` was: its place in the insertion order is kept. */
  #replace(current: WithId<Doc>, next: WithId<Doc>): void {
    this.#admit(next, current);
    this.#unindex(current);
    this.#docs.set(valueKey(next._id), next);
    this.#index(next);
    this.context.onChange({ collection: this.name, put: next });
  }

  #remove(doc: WithId<Doc>): void {
    this.#docs.delete(valueKey(doc._id));
    this.#unindex(doc);
    this.context.onChange({ collection: this.name, removed: doc._id });
  }

  /** Throws the duplicate key error MongoDB gives if `doc` (replacing `replacing`, if any) collides on `_id` or a unique index. */
  #admit(doc: WithId<Doc>, replacing: WithId<Doc> | undefined): void {
    if (replacing === undefined && this.#docs.has(valueKey(doc._id))) throw new DuplicateKeyError(this.#namespace, '_id_', { _id: doc._id });
    for (const index of this.#unique.values()) {
      const key = indexKey(index.spec, doc);
      const owner = key === undefined ? undefined : index.owners.get(key);
      if (owner !== undefined && owner !== replacing) throw new DuplicateKeyError(this.#namespace, index.spec.name, keyValueOf(index.spec, doc));
    }
  }

  #index(doc: WithId<Doc>): void {
    for (const index of this.#unique.values()) {
      const key = indexKey(index.spec, doc);
      if (key !== undefined) index.owners.set(key, doc);
    }
  }

  #unindex(doc: WithId<Doc>): void {
    for (const index of this.#unique.values()) {
      const key = indexKey(index.spec, doc);
      if (key !== undefined && index.owners.get(key) === doc) index.owners.delete(key);
    }
  }
}

function assertOperators(update: Update): void {
  const keys = Object.keys(update);
  if (keys.length === 0 || keys.some((k) => !k.startsWith('$'))) {
    throw new DocumentStoreError('Update document requires atomic operators', 9);
  }
}

/** A replacement document (no `$` keys, `{}` included) or operators; a mix, or a pipeline, is refused as MongoDB refuses it. */
function isReplacement(update: Update): boolean {
  if (Array.isArray(update)) throw new DocumentStoreError('pipeline-style updates are not supported by the embedded store: use update operators', 9);
  const keys = Object.keys(update);
  const operators = keys.filter((k) => k.startsWith('$'));
  if (operators.length > 0 && operators.length < keys.length) {
    const field = keys.find((k) => !k.startsWith('$'));
    throw new DocumentStoreError(`Unknown modifier: ${field}. Expected a valid update modifier or pipeline-style update specified as an array`, 9);
  }
  return operators.length === 0;
}

function immutableId(id: unknown): DocumentStoreError {
  return new DocumentStoreError(`After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${JSON.stringify(id)}`, 66);
}

/** The filter is `{ _id: <value> }` with a value compared by equality alone (no operators, regex, array or subdocument). */
function idEquality(filter: Filter): boolean {
  const keys = Object.keys(filter);
  if (keys.length !== 1 || keys[0] !== '_id') return false;
  const id = filter._id;
  if (id === null || typeof id !== 'object') return id !== undefined;
  return !(id instanceof RegExp) && !Array.isArray(id) && id.constructor !== Object;
}

/** The fields a filter fixes by equality (`{ a: 1 }`, `{ a: { $eq: 1 } }`, inside `$and`), as MongoDB seeds an upsert from them. */
function equalities(filter: Filter): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const clause of value) out.push(...equalities(clause as Filter));
    } else if (key.startsWith('$') || value instanceof RegExp) {
      continue;
    } else if (isOperatorObject(value)) {
      if ('$eq' in (value as Doc)) out.push([key, (value as Doc).$eq]);
    } else {
      out.push([key, value]);
    }
  }
  return out;
}

function isOperatorObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && Object.keys(v).some((k) => k.startsWith('$'));
}

/** The index key of `doc`, or undefined when a sparse index skips it. */
function indexKey(spec: UniqueIndexSpec, doc: Doc): string | undefined {
  const values = spec.fields.map((f) => resolve(doc as AnyObject, f));
  if (spec.sparse && values.every((v) => v === undefined)) return undefined;
  return valueKey(values.map((v) => v ?? null));
}

function keyValueOf(spec: UniqueIndexSpec, doc: Doc): Doc {
  return Object.fromEntries(spec.fields.map((f) => [f, resolve(doc as AnyObject, f) ?? null]));
}

/**
 * A string equal for equal values and different for different ones, types included (`1` and `'1'` differ; dates
 * by instant; BSON values such as ObjectId by class and JSON form); subdocuments compare field by field in order,
 * as MongoDB compares them.
 */
function valueKey(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return `date:${v.getTime()}`;
  if (Array.isArray(v)) return `[${v.map(valueKey).join(',')}]`;
  if (typeof v === 'object') {
    if (v.constructor === Object || v.constructor === undefined) {
      return `{${Object.entries(v)
        .map(([k, x]) => `${JSON.stringify(k)}:${valueKey(x)}`)
        .join(',')}}`;
    }
    return `${v.constructor.name}:${JSON.stringify(v) ?? String(v)}`;
  }
  return `${typeof v}:${JSON.stringify(v) ?? String(v)}`;
}

let counter = randomBytes(3).readUIntBE(0, 3);
const processUnique = randomBytes(5).toString('hex');

/** 24 hex characters laid out like an ObjectId (seconds, process-unique bytes, counter), so ids sort by creation. */
function newObjectIdHex(): string {
  counter = (counter + 1) % 0xffffff;
  const seconds = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `${seconds}${processUnique}${counter.toString(16).padStart(6, '0')}`;
}
