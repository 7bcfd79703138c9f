import { randomBytes } from 'node:crypto';
import { BSON, Long, ObjectId, type Document } from 'bson';
import { aggregate, find as mingoFind } from 'mingo';
import type { AnyObject } from 'mingo/types';
import { cloneDeep, resolve, unique } from 'mingo/util';
import { DocumentStoreError } from '../document-store.ts';
import { DuplicateKeyError, EmbeddedStore, type EmbeddedCollection } from '../embedded-store.ts';
import type { IndexSpec, JournalEntry, JournalSink, StoredData } from './persistence.ts';
import { MAX_MESSAGE_SIZE_BYTES } from './wire.ts';

/**
 * The embedded MongoDB's command layer: MongoDB's commands over one `EmbeddedStore` per database (mingo for the
 * query, update, sort and aggregation semantics), with real cursors, unique indexes and journaled writes. It answers
 * as a standalone MongoDB 7.0 would, in MongoDB's reply and error shapes, so the official driver works unchanged.
 * No sockets here: `run(db, command)` is the whole interface, which the wire layer calls and the unit tests call.
 */

/** What the server reports as its version: the driver needs wire version 9 (4.4) or later; 21 is MongoDB 7.0. */
export const SERVER_VERSION = '7.0.0';
export const MIN_WIRE_VERSION = 0;
export const MAX_WIRE_VERSION = 21;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_WRITE_BATCH_SIZE = 100_000;
/** Sessions need a timeout to be advertised; nothing expires them here (they hold no state). */
const LOGICAL_SESSION_TIMEOUT_MINUTES = 30;
/** A find's or an aggregate's first batch when no batchSize is given, as mongod has it. */
const DEFAULT_FIRST_BATCH = 101;
/** A cursor nobody asked for in this long is closed, as mongod's `cursorTimeoutMillis`. */
const CURSOR_IDLE_MS = 10 * 60_000;

/** A command's failure in MongoDB's terms: `{ ok: 0, errmsg, code, codeName }`. */
export class CommandError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

const CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'InternalError',
  2: 'BadValue',
  6: 'HostUnreachable',
  9: 'FailedToParse',
  13: 'Unauthorized',
  14: 'TypeMismatch',
  20: 'IllegalOperation',
  26: 'NamespaceNotFound',
  27: 'IndexNotFound',
  43: 'CursorNotFound',
  48: 'NamespaceExists',
  59: 'CommandNotFound',
  66: 'ImmutableField',
  67: 'CannotCreateIndex',
  72: 'InvalidOptions',
  73: 'InvalidNamespace',
  85: 'IndexOptionsConflict',
  86: 'IndexKeySpecsConflict',
  11000: 'DuplicateKey',
};

/** The fields MongoDB puts in an error reply or a write error for `err`. */
function errorFields(err: unknown): { code: number; codeName: string; errmsg: string; keyPattern?: Document; keyValue?: Document } {
  if (err instanceof DuplicateKeyError) return { code: 11000, codeName: 'DuplicateKey', errmsg: err.message, keyPattern: err.keyPattern, keyValue: err.keyValue };
  if (err instanceof CommandError || err instanceof DocumentStoreError) return { code: err.code, codeName: CODE_NAMES[err.code] ?? 'UnknownError', errmsg: err.message };
  const message = err instanceof Error ? err.message : String(err);
  // mingo's messages for a bad operator, stage or projection: MongoDB calls those bad values or parse failures.
  if (/unknown update operator/i.test(message)) return { code: 9, codeName: 'FailedToParse', errmsg: message };
  if (/immutable field '_id'/.test(message)) return { code: 66, codeName: 'ImmutableField', errmsg: message };
  return { code: 2, codeName: 'BadValue', errmsg: message };
}

/** One command as a handler sees it. */
interface Invocation {
  readonly name: string;
  readonly db: string;
  readonly cmd: Document;
  readonly connectionId: number;
}

type Handler = (c: Invocation) => Document | Promise<Document>;

interface Database {
  readonly store: EmbeddedStore;
  /** Collection → its secondary indexes by name (`_id_` is implicit). */
  readonly indexes: Map<string, Map<string, IndexSpec>>;
}

interface OpenCursor {
  readonly ns: string;
  readonly docs: Document[];
  next: number;
  lastUsed: number;
}

/**
 * The server's state and its commands. `open` loads what the journal kept; `run` answers one command and, before
 * it resolves, hands the command's changes to the journal (one flush per command).
 */
export class MongoEngine {
  readonly #databases = new Map<string, Database>();
  readonly #cursors = new Map<bigint, OpenCursor>();
  readonly #journal: JournalSink | undefined;
  readonly #commands: ReadonlyMap<string, Handler>;
  #loading = false;

  private constructor(journal: JournalSink | undefined) {
    this.#journal = journal;
    this.#commands = this.#table();
  }

  /** An engine holding `data` (what a journal replayed), journaling its changes to `journal`. */
  static async open(opts: { journal?: JournalSink; data?: StoredData } = {}): Promise<MongoEngine> {
    const engine = new MongoEngine(opts.journal);
    if (opts.data) await engine.#load(opts.data);
    return engine;
  }

  /**
   * Answers one command with its reply document: `ok: 1` with the command's fields, or MongoDB's error shape.
   * Rejects only when the journal cannot be written (the caller must then stop, as mongod stops).
   */
  async run(db: string, cmd: Document, connectionId = 0): Promise<Document> {
    const name = Object.keys(cmd)[0] ?? '';
    try {
      const handler = this.#commands.get(name);
      if (!handler) throw new CommandError(59, `no such command: '${name}'`);
      refuseTransactions(cmd);
      return { ...(await handler({ name, db, cmd, connectionId })), ok: 1 };
    } catch (err) {
      const { code, codeName, errmsg, keyPattern, keyValue } = errorFields(err);
      return { ok: 0, errmsg, code, codeName, keyPattern, keyValue };
    } finally {
      this.#journal?.flush();
    }
  }

  #table(): ReadonlyMap<string, Handler> {
    const hello: Handler = (c) => this.#hello(c);
    return new Map<string, Handler>([
      ['hello', hello],
      ['isMaster', hello],
      ['ismaster', hello],
      ['ping', () => ({})],
      ['buildInfo', () => buildInfo()],
      ['buildinfo', () => buildInfo()],
      ['getParameter', (c) => getParameter(c.cmd)],
      ['getLog', (c) => getLog(c.cmd)],
      ['endSessions', () => ({})],
      ['insert', (c) => this.#insert(c)],
      ['find', (c) => this.#find(c)],
      ['getMore', (c) => this.#getMore(c)],
      ['killCursors', (c) => this.#killCursors(c)],
      ['update', (c) => this.#update(c)],
      ['delete', (c) => this.#delete(c)],
      ['findAndModify', (c) => this.#findAndModify(c)],
      ['count', (c) => this.#count(c)],
      ['distinct', (c) => this.#distinct(c)],
      ['aggregate', (c) => this.#aggregate(c)],
      ['create', (c) => this.#create(c)],
      ['drop', (c) => this.#drop(c)],
      ['dropDatabase', (c) => this.#dropDatabase(c)],
      ['createIndexes', (c) => this.#createIndexes(c)],
      ['listIndexes', (c) => this.#listIndexes(c)],
      ['dropIndexes', (c) => this.#dropIndexes(c)],
      ['listCollections', (c) => this.#listCollections(c)],
      ['listDatabases', (c) => this.#listDatabases(c)],
      ['collStats', (c) => this.#collStats(c)],
      ['dbStats', (c) => this.#dbStats(c)],
    ]);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Handshake and server information

  /** A standalone that takes writes. No `topologyVersion`: the driver polls rather than streams its monitoring. */
  #hello(c: Invocation): Document {
    const legacy = c.name !== 'hello';
    return {
      ...(c.cmd.helloOk !== undefined ? { helloOk: true } : {}),
      [legacy ? 'ismaster' : 'isWritablePrimary']: true,
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE_BYTES,
      maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES,
      connectionId: c.connectionId,
      minWireVersion: MIN_WIRE_VERSION,
      maxWireVersion: MAX_WIRE_VERSION,
      readOnly: false,
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Writes

  async #insert(c: Invocation): Promise<Document> {
    const coll = this.#writable(c.db, collectionArg(c));
    const docs = documentsArg(c.cmd.documents, 'documents');
    let n = 0;
    const writeErrors = await eachStatement(docs, c.cmd.ordered !== false, async (doc) => {
      await coll.insertOne(withIdFirst(doc));
      n++;
    });
    return { n, writeErrors: nonEmpty(writeErrors) };
  }

  async #update(c: Invocation): Promise<Document> {
    const name = collectionArg(c);
    const statements = documentsArg(c.cmd.updates, 'updates');
    // An update creates its collection only when it may upsert, as in MongoDB.
    const coll = statements.some((s) => s.upsert === true) ? this.#writable(c.db, name) : this.#existing(c.db, name);
    let n = 0;
    let nModified = 0;
    const upserted: Document[] = [];
    const writeErrors = await eachStatement(statements, c.cmd.ordered !== false, async (s, index) => {
      if (s.u === null || typeof s.u !== 'object') throw new CommandError(9, "the update statement's 'u' must be a document or an array");
      if (!coll) return;
      const r = await coll.update(filterArg(s.q), s.u as Document, { multi: s.multi === true, upsert: s.upsert === true, arrayFilters: arrayFiltersArg(s.arrayFilters) });
      n += r.matchedCount;
      nModified += r.modifiedCount;
      if (r.upsertedId !== null) {
        upserted.push({ index, _id: r.upsertedId });
        n++;
      }
    });
    return { n, nModified, upserted: nonEmpty(upserted), writeErrors: nonEmpty(writeErrors) };
  }

  async #delete(c: Invocation): Promise<Document> {
    const coll = this.#existing(c.db, collectionArg(c));
    const statements = documentsArg(c.cmd.deletes, 'deletes');
    let n = 0;
    const writeErrors = await eachStatement(statements, c.cmd.ordered !== false, async (s) => {
      const limit = Number(s.limit ?? 0);
      if (limit !== 0 && limit !== 1) throw new CommandError(9, `The limit field in delete objects must be 0 or 1. Got ${String(s.limit)}`);
      if (!coll) return;
      const filter = filterArg(s.q);
      n += (limit === 1 ? await coll.deleteOne(filter) : await coll.deleteMany(filter)).deletedCount;
    });
    return { n, writeErrors: nonEmpty(writeErrors) };
  }

  /** The first document in `sort` order is removed or updated; `new` returns it after the update, else before. */
  async #findAndModify(c: Invocation): Promise<Document> {
    const name = collectionArg(c);
    const { remove, update, upsert } = c.cmd;
    if (remove === true && update !== undefined) throw new CommandError(9, 'Cannot specify both an update and remove=true');
    if (remove !== true && update === undefined) throw new CommandError(9, 'Either an update or remove=true must be specified');
    if (remove === true && upsert === true) throw new CommandError(9, 'Cannot specify both upsert=true and remove=true');
    const query = filterArg(c.cmd.query);
    const fields = c.cmd.fields as Document | undefined;
    const shown = (doc: Document | null | undefined) => (doc && fields ? project([doc], query, fields)[0]! : (doc ?? null));
    const coll = upsert === true ? this.#writable(c.db, name) : this.#existing(c.db, name);
    const [target] = coll ? await coll.find(query, { sort: sortArg(c.cmd.sort), limit: 1 }) : [];
    if (remove === true) {
      if (target) await coll!.deleteOne({ _id: target._id });
      return { lastErrorObject: { n: target ? 1 : 0 }, value: shown(target) };
    }
    if (typeof update !== 'object' || update === null) throw new CommandError(9, "findAndModify's 'update' must be a document or an array");
    const arrayFilters = arrayFiltersArg(c.cmd.arrayFilters);
    if (target) {
      await coll!.update({ _id: target._id }, update as Document, { arrayFilters });
      const after = c.cmd.new === true ? await coll!.findOne({ _id: target._id }) : target;
      return { lastErrorObject: { n: 1, updatedExisting: true }, value: shown(after) };
    }
    if (upsert !== true || !coll) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
    const { upsertedId } = await coll.update(query, update as Document, { upsert: true, arrayFilters });
    const value = c.cmd.new === true ? shown(await coll.findOne({ _id: upsertedId })) : null;
    return { lastErrorObject: { n: 1, updatedExisting: false, upserted: upsertedId }, value };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reads and cursors

  async #find(c: Invocation): Promise<Document> {
    const name = collectionArg(c);
    const filter = filterArg(c.cmd.filter);
    const skip = nonNegative(c.cmd.skip, 'Skip');
    const limit = nonNegative(c.cmd.limit, 'Limit');
    const coll = this.#existing(c.db, name);
    const docs = coll ? await coll.find(filter, { sort: sortArg(c.cmd.sort), skip, limit }) : [];
    const projection = c.cmd.projection as Document | undefined;
    const results = projection && Object.keys(projection).length > 0 ? project(docs, filter, projection) : docs;
    return this.#firstBatch(`${c.db}.${name}`, results, c.cmd.batchSize, c.cmd.singleBatch === true);
  }

  async #getMore(c: Invocation): Promise<Document> {
    const id = cursorId(c.cmd.getMore);
    const collection = c.cmd.collection;
    if (typeof collection !== 'string') throw new CommandError(14, "getMore's 'collection' must be a string");
    const cursor = this.#cursors.get(id);
    if (!cursor) throw new CommandError(43, `cursor id ${id} not found`);
    const ns = `${c.db}.${collection}`;
    if (cursor.ns !== ns) throw new CommandError(13, `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`);
    const batch = this.#nextBatch(id, cursor, nonNegative(c.cmd.batchSize, 'BatchSize') || Number.POSITIVE_INFINITY);
    return { cursor: { nextBatch: batch, id: Long.fromBigInt(this.#cursors.has(id) ? id : 0n), ns } };
  }

  #killCursors(c: Invocation): Document {
    const ids = Array.isArray(c.cmd.cursors) ? c.cmd.cursors.map(cursorId) : [];
    const killed: Long[] = [];
    const notFound: Long[] = [];
    for (const id of ids) (this.#cursors.delete(id) ? killed : notFound).push(Long.fromBigInt(id));
    return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [] };
  }

  async #count(c: Invocation): Promise<Document> {
    const coll = this.#existing(c.db, collectionArg(c));
    const query = filterArg(c.cmd.query);
    const skip = nonNegative(c.cmd.skip, 'Skip');
    // count takes a negative limit as its absolute value (a legacy of the shell's count).
    const limit = Math.abs(Number(c.cmd.limit ?? 0)) || undefined;
    if (!coll) return { n: 0 };
    return { n: skip || limit ? (await coll.find(query, { skip, limit })).length : await coll.countDocuments(query) };
  }

  /** The distinct values of `key`; the elements of an array value count one by one, as in MongoDB. */
  async #distinct(c: Invocation): Promise<Document> {
    const coll = this.#existing(c.db, collectionArg(c));
    const key = c.cmd.key;
    if (typeof key !== 'string' || key === '') throw new CommandError(14, "distinct's 'key' must be a non-empty string");
    const docs = coll ? await coll.find(filterArg(c.cmd.query)) : [];
    const values = docs.flatMap((d) => {
      const v = resolve(d as AnyObject, key);
      return v === undefined ? [] : Array.isArray(v) ? v : [v];
    });
    return { values: unique(values) };
  }

  async #aggregate(c: Invocation): Promise<Document> {
    if (typeof c.cmd.aggregate !== 'string') throw new CommandError(2, 'the embedded MongoDB runs aggregate on a collection only ({ aggregate: <collection> })');
    const name = collectionArg(c);
    const pipeline = c.cmd.pipeline;
    if (!Array.isArray(pipeline)) throw new CommandError(14, "aggregate's 'pipeline' must be an array");
    if (c.cmd.explain === true) throw new CommandError(2, 'explain is not supported by the embedded MongoDB');
    if (typeof c.cmd.cursor !== 'object' || c.cmd.cursor === null) throw new CommandError(9, "The 'cursor' option is required, except for aggregate with the explain argument");
    for (const stage of pipeline as Document[]) {
      const op = Object.keys(stage)[0];
      if (op === '$out' || op === '$merge') throw new CommandError(2, `${op} is not supported by the embedded MongoDB: read the results and write them`);
    }
    const coll = this.#existing(c.db, name);
    // A leading $match runs as a find, so only the matching documents are copied out of the store.
    const [first, ...rest] = pipeline as Document[];
    const leadingMatch = first !== undefined && Object.keys(first)[0] === '$match';
    const input = coll ? await coll.find(leadingMatch ? filterArg(first.$match) : {}) : [];
    const others = await this.#lookupSources(c.db, pipeline as Document[]);
    const results = aggregate(input, (leadingMatch ? rest : pipeline) as AnyObject[], { collectionResolver: (n: string) => others.get(n) ?? [] });
    return this.#firstBatch(`${c.db}.${name}`, results as Document[], (c.cmd.cursor as Document).batchSize, false);
  }

  /** The collections `$lookup`, `$graphLookup` and `$unionWith` stages read (mingo resolves them synchronously). */
  async #lookupSources(db: string, pipeline: readonly Document[]): Promise<Map<string, Document[]>> {
    const out = new Map<string, Document[]>();
    for (const stage of pipeline) {
      const spec = stage.$lookup ?? stage.$graphLookup ?? stage.$unionWith;
      const from = typeof spec === 'string' ? spec : (spec?.from ?? spec?.coll);
      if (typeof from === 'string' && !out.has(from)) out.set(from, (await this.#existing(db, from)?.find({})) ?? []);
    }
    return out;
  }

  /** Opens a cursor over `docs` and returns its first batch (the cursor is closed at once if that is all). */
  #firstBatch(ns: string, docs: Document[], batchSize: unknown, singleBatch: boolean): Document {
    this.#expireIdleCursors();
    const id = newCursorId();
    const cursor: OpenCursor = { ns, docs, next: 0, lastUsed: Date.now() };
    this.#cursors.set(id, cursor);
    const batch = this.#nextBatch(id, cursor, nonNegative(batchSize, 'BatchSize') ?? DEFAULT_FIRST_BATCH);
    if (singleBatch) this.#cursors.delete(id);
    return { cursor: { firstBatch: batch, id: Long.fromBigInt(this.#cursors.has(id) ? id : 0n), ns } };
  }

  /** Up to `size` documents (and at most 16 MB of them, one at least); the cursor closes when it runs out. */
  #nextBatch(id: bigint, cursor: OpenCursor, size: number): Document[] {
    const batch: Document[] = [];
    let bytes = 0;
    while (cursor.next < cursor.docs.length && batch.length < size) {
      const doc = cursor.docs[cursor.next]!;
      bytes += BSON.calculateObjectSize(doc);
      if (batch.length > 0 && bytes > MAX_BSON_OBJECT_SIZE) break;
      batch.push(doc);
      cursor.next++;
    }
    cursor.lastUsed = Date.now();
    if (cursor.next >= cursor.docs.length) this.#cursors.delete(id);
    return batch;
  }

  #expireIdleCursors(): void {
    const before = Date.now() - CURSOR_IDLE_MS;
    for (const [id, cursor] of this.#cursors) if (cursor.lastUsed < before) this.#cursors.delete(id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Collections, databases and indexes

  #create(c: Invocation): Document {
    const name = collectionArg(c);
    for (const option of ['viewOn', 'capped', 'timeseries'] as const) {
      if (c.cmd[option] !== undefined && c.cmd[option] !== false) throw new CommandError(2, `create with '${option}' is not supported by the embedded MongoDB`);
    }
    if (this.#existing(c.db, name)) throw new CommandError(48, `Collection ${c.db}.${name} already exists.`);
    this.#writable(c.db, name);
    return {};
  }

  #drop(c: Invocation): Document {
    const name = collectionArg(c);
    const database = this.#databases.get(c.db);
    if (!database?.store.existing(name)) return { ns: `${c.db}.${name}` };
    const nIndexesWas = 1 + (database.indexes.get(name)?.size ?? 0);
    database.store.drop(name);
    database.indexes.delete(name);
    this.#record({ op: 'drop', db: c.db, coll: name });
    return { ns: `${c.db}.${name}`, nIndexesWas };
  }

  #dropDatabase(c: Invocation): Document {
    if (this.#databases.delete(c.db)) this.#record({ op: 'dropDatabase', db: c.db });
    return { dropped: c.db };
  }

  async #createIndexes(c: Invocation): Promise<Document> {
    const name = collectionArg(c);
    const specs = documentsArg(c.cmd.indexes, 'indexes');
    const createdCollectionAutomatically = !this.#existing(c.db, name);
    const coll = this.#writable(c.db, name);
    const indexes = this.#databases.get(c.db)!.indexes;
    const current = indexes.get(name) ?? new Map<string, IndexSpec>();
    indexes.set(name, current);
    const numIndexesBefore = 1 + current.size;
    for (const spec of specs) {
      const index = indexSpec(spec);
      if (isIdIndex(index)) continue;
      if (alreadyThere(current, index)) continue;
      if (index.unique === true) coll.addUniqueIndex({ name: index.name, fields: Object.keys(index.key), sparse: index.sparse === true });
      current.set(index.name, index);
      this.#record({ op: 'createIndex', db: c.db, coll: name, index });
    }
    const numIndexesAfter = 1 + current.size;
    return { numIndexesBefore, numIndexesAfter, createdCollectionAutomatically, ...(numIndexesAfter === numIndexesBefore ? { note: 'all indexes already exist' } : {}) };
  }

  #listIndexes(c: Invocation): Document {
    const name = collectionArg(c);
    if (!this.#existing(c.db, name)) throw new CommandError(26, `ns does not exist: ${c.db}.${name}`);
    const specs = [ID_INDEX, ...(this.#databases.get(c.db)!.indexes.get(name)?.values() ?? [])];
    return this.#firstBatch(`${c.db}.${name}`, specs, (c.cmd.cursor as Document | undefined)?.batchSize, false);
  }

  #dropIndexes(c: Invocation): Document {
    const name = collectionArg(c);
    const coll = this.#existing(c.db, name);
    if (!coll) throw new CommandError(26, `ns not found ${c.db}.${name}`);
    const current = this.#databases.get(c.db)!.indexes.get(name) ?? new Map<string, IndexSpec>();
    const nIndexesWas = 1 + current.size;
    for (const index of indexesToDrop(c.cmd.index, current)) {
      current.delete(index);
      coll.dropUniqueIndex(index);
      this.#record({ op: 'dropIndex', db: c.db, coll: name, name: index });
    }
    return { nIndexesWas };
  }

  #listCollections(c: Invocation): Document {
    const names = this.#databases.get(c.db)?.store.collectionNames() ?? [];
    const all = names.map((name) => ({ name, type: 'collection', options: {}, info: { readOnly: false }, idIndex: ID_INDEX }));
    const filtered = c.cmd.filter ? (mingoFind(all, filterArg(c.cmd.filter)).all() as typeof all) : all;
    const listed = c.cmd.nameOnly === true ? filtered.map(({ name, type }) => ({ name, type })) : filtered;
    return this.#firstBatch(`${c.db}.$cmd.listCollections`, listed, (c.cmd.cursor as Document | undefined)?.batchSize, false);
  }

  async #listDatabases(c: Invocation): Promise<Document> {
    if (c.db !== 'admin') throw new CommandError(13, 'listDatabases may only be run against the admin database.');
    const all: Document[] = [];
    for (const [name, database] of this.#databases) all.push({ name, sizeOnDisk: (await storeStats(database.store)).size, empty: false });
    const filtered = c.cmd.filter ? mingoFind(all, filterArg(c.cmd.filter)).all() : all;
    if (c.cmd.nameOnly === true) return { databases: filtered.map((d) => ({ name: d.name })) };
    const totalSize = filtered.reduce((n, d) => n + (d.sizeOnDisk as number), 0);
    return { databases: filtered, totalSize, totalSizeMb: Math.floor(totalSize / 1024 / 1024) };
  }

  async #collStats(c: Invocation): Promise<Document> {
    const name = collectionArg(c);
    const coll = this.#existing(c.db, name);
    if (!coll) throw new CommandError(26, `Collection [${c.db}.${name}] not found.`);
    const { count, size } = await collectionStats(coll);
    const nindexes = 1 + (this.#databases.get(c.db)!.indexes.get(name)?.size ?? 0);
    return { ns: `${c.db}.${name}`, count, size, avgObjSize: count ? Math.floor(size / count) : 0, storageSize: size, totalIndexSize: 0, totalSize: size, nindexes, indexSizes: {}, capped: false };
  }

  async #dbStats(c: Invocation): Promise<Document> {
    const database = this.#databases.get(c.db);
    const stats = database ? await storeStats(database.store) : { collections: 0, objects: 0, size: 0 };
    const indexes = database ? [...database.indexes.values()].reduce((n, m) => n + m.size, stats.collections) : 0;
    const { collections, objects, size } = stats;
    return { db: c.db, collections, views: 0, objects, avgObjSize: objects ? size / objects : 0, dataSize: size, storageSize: size, indexes, indexSize: 0, totalSize: size, scaleFactor: 1 };
  }

  // -------------------------------------------------------------------------------------------------------------
  // State

  #existing(db: string, name: string): EmbeddedCollection | undefined {
    return this.#databases.get(db)?.store.existing(name);
  }

  /** The collection, created (and journaled as created) on first write, with its database. */
  #writable(db: string, name: string): EmbeddedCollection {
    assertDatabaseName(db);
    let database = this.#databases.get(db);
    if (!database) {
      database = { store: this.#newStore(db), indexes: new Map() };
      this.#databases.set(db, database);
    }
    const existing = database.store.existing(name);
    if (existing) return existing;
    this.#record({ op: 'create', db, coll: name });
    return database.store.open(name);
  }

  /** A database's store: BSON values kept as they are, ObjectIds for new `_id`s, every change journaled. */
  #newStore(db: string): EmbeddedStore {
    return new EmbeddedStore({
      database: db,
      copy: cloneDeep,
      newId: () => new ObjectId(),
      onChange: (change) => this.#record('put' in change ? { op: 'put', db, coll: change.collection, doc: change.put } : { op: 'remove', db, coll: change.collection, id: change.removed }),
    });
  }

  #record(entry: JournalEntry): void {
    if (!this.#loading) this.#journal?.record(entry);
  }

  /** Rebuilds the state a journal kept, without journaling it again. */
  async #load(data: StoredData): Promise<void> {
    this.#loading = true;
    try {
      for (const [db, colls] of data) {
        for (const [name, stored] of colls) {
          const coll = this.#writable(db, name);
          const indexes = new Map(stored.indexes);
          this.#databases.get(db)!.indexes.set(name, indexes);
          for (const index of indexes.values()) {
            if (index.unique === true) coll.addUniqueIndex({ name: index.name, fields: Object.keys(index.key), sparse: index.sparse === true });
          }
          for (const doc of stored.docs.values()) await coll.insertOne(doc);
        }
      }
    } finally {
      this.#loading = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arguments

/** The collection a command names in its first field (`{ find: 'builds' }`). */
function collectionArg(c: Invocation): string {
  const name = c.cmd[c.name];
  if (typeof name !== 'string') throw new CommandError(73, `collection name has invalid type ${bsonTypeName(name)}`);
  if (name === '' || name.includes('$') || name.includes('\0')) throw new CommandError(73, `Invalid collection name: ${JSON.stringify(name)}`);
  return name;
}

function assertDatabaseName(db: string): void {
  if (db === '' || db.length >= 64 || /[/\\. "$*<>:|?\0]/.test(db)) throw new CommandError(73, `Invalid database name: '${db}'`);
}

function documentsArg(v: unknown, field: string): Document[] {
  if (!Array.isArray(v) || v.some((d) => d === null || typeof d !== 'object' || Array.isArray(d))) throw new CommandError(14, `'${field}' must be an array of documents`);
  if (v.length > MAX_WRITE_BATCH_SIZE) throw new CommandError(2, `Write batch sizes must be between 1 and ${MAX_WRITE_BATCH_SIZE}. Got ${v.length} operations.`);
  return v as Document[];
}

function filterArg(v: unknown): Document {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new CommandError(14, `a filter must be a document, not ${bsonTypeName(v)}`);
  return v as Document;
}

function arrayFiltersArg(v: unknown): Document[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new CommandError(14, "'arrayFilters' must be an array");
  return v as Document[];
}

/** A sort of 1/-1 per field (mingo sorts; MongoDB refuses other values). */
function sortArg(v: unknown): Record<string, 1 | -1> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new CommandError(14, `sort must be a document, not ${bsonTypeName(v)}`);
  const entries = Object.entries(v as Document);
  for (const [field, order] of entries) {
    if (order !== 1 && order !== -1) throw new CommandError(2, `$sort key ordering must be 1 (for ascending) or -1 (for descending) (field '${field}')`);
  }
  return entries.length > 0 ? (v as Record<string, 1 | -1>) : undefined;
}

function nonNegative(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new CommandError(14, `${what} value must be an integer, not ${bsonTypeName(v)}`);
  if (n < 0) throw new CommandError(2, `${what} value must be non-negative, but received: ${n}`);
  return n;
}

function cursorId(v: unknown): bigint {
  if (Long.isLong(v)) return v.toBigInt();
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'bigint') return v;
  throw new CommandError(14, `a cursor id must be a long, not ${bsonTypeName(v)}`);
}

/** Random and positive, as mongod's cursor ids (never 0, which means "no cursor"). */
function newCursorId(): bigint {
  const id = randomBytes(8).readBigUInt64LE() & 0x3fffffffffffffffn;
  return id === 0n ? 1n : id;
}

function bsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (typeof v === 'object') return v.constructor === Object ? 'object' : v.constructor.name.toLowerCase();
  return typeof v;
}

/** MongoDB keeps `_id` first, assigning an ObjectId when missing; an array or a regex is no `_id`. */
function withIdFirst(doc: Document): Document {
  const { _id, ...rest } = doc;
  if (Array.isArray(_id)) throw new CommandError(2, "can't use an array for _id");
  if (_id instanceof RegExp) throw new CommandError(2, "can't use a regex for _id");
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}

/** Transactions need a replica set; a standalone refuses them exactly so. */
function refuseTransactions(cmd: Document): void {
  if (cmd.txnNumber !== undefined || cmd.startTransaction !== undefined || cmd.autocommit !== undefined) {
    throw new CommandError(20, 'Transaction numbers are only allowed on a replica set member or mongos');
  }
}

/**
 * Runs a write command's statements in order; each failure becomes a write error at its index, and an ordered
 * command stops at the first one, as MongoDB's batch writes do.
 */
async function eachStatement<T>(statements: readonly T[], ordered: boolean, run: (s: T, index: number) => Promise<void>): Promise<Document[]> {
  const writeErrors: Document[] = [];
  for (const [index, s] of statements.entries()) {
    try {
      await run(s, index);
    } catch (err) {
      writeErrors.push(writeError(index, err));
      if (ordered) break;
    }
  }
  return writeErrors;
}

function writeError(index: number, err: unknown): Document {
  const { code, errmsg, keyPattern, keyValue } = errorFields(err);
  return { index, code, errmsg, keyPattern, keyValue };
}

/** Reply fields that MongoDB leaves out when empty (`upserted`, `writeErrors`): undefined is not serialized. */
function nonEmpty<T>(xs: T[]): T[] | undefined {
  return xs.length > 0 ? xs : undefined;
}

/** A projection (inclusion, exclusion, and mingo's operators), fields kept in the document's order as MongoDB keeps them. */
function project(docs: readonly Document[], filter: Document, projection: Document): Document[] {
  const projected = mingoFind(docs, filter, projection).all() as Document[];
  return projected.map((p, i) => inDocumentOrder(p, docs[i]!));
}

function inDocumentOrder(projected: Document, source: Document): Document {
  const out: Document = {};
  for (const k of Object.keys(source)) if (k in projected) out[k] = projected[k];
  for (const k of Object.keys(projected)) if (!(k in out)) out[k] = projected[k];
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Indexes

const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: '_id_' };

function indexSpec(spec: Document): IndexSpec {
  const { key, name } = spec;
  if (key === null || typeof key !== 'object' || Array.isArray(key) || Object.keys(key).length === 0) throw new CommandError(67, "an index needs a non-empty 'key' document");
  if (typeof name !== 'string' || name === '') throw new CommandError(9, "an index needs a 'name'");
  if (spec.unique === true && spec.partialFilterExpression !== undefined) throw new CommandError(67, 'unique indexes with a partialFilterExpression are not supported by the embedded MongoDB');
  return { v: 2, ...spec, key, name } as IndexSpec;
}

function isIdIndex(index: IndexSpec): boolean {
  const fields = Object.keys(index.key);
  return index.name === '_id_' || (fields.length === 1 && fields[0] === '_id');
}

/** True for an index identical to one there; a clash of name or key with a different index is MongoDB's error. */
function alreadyThere(current: ReadonlyMap<string, IndexSpec>, index: IndexSpec): boolean {
  const sameKey = (a: IndexSpec) => JSON.stringify(a.key) === JSON.stringify(index.key);
  const sameOptions = (a: IndexSpec) => (a.unique === true) === (index.unique === true) && (a.sparse === true) === (index.sparse === true);
  const named = current.get(index.name);
  if (named) {
    if (sameKey(named) && sameOptions(named)) return true;
    throw new CommandError(sameKey(named) ? 85 : 86, `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Requested index: ${JSON.stringify(index)}, existing index: ${JSON.stringify(named)}`);
  }
  for (const other of current.values()) {
    if (sameKey(other)) throw new CommandError(85, `Index already exists with a different name: ${other.name}`);
  }
  return false;
}

/** `index` of dropIndexes: a name, a key pattern, an array of names, or '*' (all but `_id_`). */
function indexesToDrop(index: unknown, current: ReadonlyMap<string, IndexSpec>): string[] {
  if (index === '*') return [...current.keys()];
  const names = Array.isArray(index) ? index : [index];
  return names.map((n) => {
    if (n === '_id_' || (typeof n === 'object' && n !== null && JSON.stringify(n) === JSON.stringify(ID_INDEX.key))) throw new CommandError(72, 'cannot drop _id index');
    const found = typeof n === 'string' ? current.get(n) : [...current.values()].find((s) => JSON.stringify(s.key) === JSON.stringify(n));
    if (!found) throw new CommandError(27, `index not found with name [${typeof n === 'string' ? n : JSON.stringify(n)}]`);
    return found.name;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics and server information

async function collectionStats(coll: EmbeddedCollection): Promise<{ count: number; size: number }> {
  const docs = await coll.find({});
  return { count: docs.length, size: docs.reduce((n, d) => n + BSON.calculateObjectSize(d), 0) };
}

async function storeStats(store: EmbeddedStore): Promise<{ collections: number; objects: number; size: number }> {
  const names = store.collectionNames();
  let objects = 0;
  let size = 0;
  for (const name of names) {
    const s = await collectionStats(store.open(name));
    objects += s.count;
    size += s.size;
  }
  return { collections: names.length, objects, size };
}

function buildInfo(): Document {
  return {
    version: SERVER_VERSION,
    gitVersion: 'circleci-server-twin embedded MongoDB (wire-protocol server over mingo)',
    versionArray: [...SERVER_VERSION.split('.').map(Number), 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    storageEngines: ['embedded'],
    javascriptEngine: 'none',
    modules: [],
    allocator: 'system',
    openssl: { running: 'disabled' },
    sysInfo: 'deprecated',
    buildEnvironment: {},
  };
}

const PARAMETERS: Readonly<Document> = {
  featureCompatibilityVersion: { version: SERVER_VERSION.split('.').slice(0, 2).join('.') },
  cursorTimeoutMillis: CURSOR_IDLE_MS,
  logicalSessionTimeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES,
};

/** `{ getParameter: '*' }` or `{ getParameter: 1, <name>: 1, ... }`, over the few parameters this server has. */
function getParameter(cmd: Document): Document {
  if (cmd.getParameter === '*' || (typeof cmd.getParameter === 'object' && cmd.getParameter?.allParameters === true)) return { ...PARAMETERS };
  const asked = Object.keys(cmd).filter((k) => k !== 'getParameter' && !k.startsWith('$') && k !== 'lsid' && k in PARAMETERS);
  if (asked.length === 0) throw new CommandError(72, 'no option found to get');
  return Object.fromEntries(asked.map((k) => [k, PARAMETERS[k]]));
}

/** The log names mongod has; this server logs nothing there. */
function getLog(cmd: Document): Document {
  if (cmd.getLog === '*') return { names: ['global', 'startupWarnings'] };
  if (cmd.getLog === 'global' || cmd.getLog === 'startupWarnings') return { totalLinesWritten: 0, log: [] };
  throw new CommandError(72, `no RecentEntries named: ${String(cmd.getLog)}`);
}
