import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BSON, EJSON, type Document } from 'bson';

/**
 * The embedded MongoDB's durability: an append-only journal in its data dir, one EJSON line per change, written
 * synchronously before the command's reply. Like a mongod with its data files, a SIGKILL and a restart keep every
 * acknowledged write: the write reached the kernel before the client heard of it. (No fsync: a kill of the process
 * is the fault the twin injects, not a power cut, and the data dir lives on tmpfs anyway.)
 *
 * On start the journal is replayed into the collections' last states and rewritten as that snapshot (compaction),
 * so it grows with the writes of one run only. A torn last line (a write cut short by a kill) was never
 * acknowledged and is dropped; a bad line anywhere else is corruption and stops the start.
 */

export const JOURNAL_FILE = 'journal.ejson';

/** An index as `createIndexes` gave it (`{ key, name, unique?, sparse?, ... }`), kept to be listed and re-created. */
export type IndexSpec = Document & { readonly name: string; readonly key: Document };

/** One change. `put` carries a document's whole new state (never an update to replay), so replay is exact. */
export type JournalEntry =
  | { readonly op: 'put'; readonly db: string; readonly coll: string; readonly doc: Document }
  | { readonly op: 'remove'; readonly db: string; readonly coll: string; readonly id: unknown }
  | { readonly op: 'create'; readonly db: string; readonly coll: string }
  | { readonly op: 'drop'; readonly db: string; readonly coll: string }
  | { readonly op: 'dropDatabase'; readonly db: string }
  | { readonly op: 'createIndex'; readonly db: string; readonly coll: string; readonly index: IndexSpec }
  | { readonly op: 'dropIndex'; readonly db: string; readonly coll: string; readonly name: string };

export interface StoredCollection {
  /** By `_id` (its canonical EJSON), in insertion order. */
  readonly docs: Map<string, Document>;
  readonly indexes: Map<string, IndexSpec>;
}

/** Databases → collections, as the journal leaves them. */
export type StoredData = Map<string, Map<string, StoredCollection>>;

/** Where the engine's changes go: `record` as they happen, `flush` once per command, before its reply. */
export interface JournalSink {
  record(entry: JournalEntry): void;
  flush(): void;
}

/** Folds entries into the state they leave. */
function replay(entries: Iterable<JournalEntry>): StoredData {
  const data: StoredData = new Map();
  const collection = (db: string, coll: string): StoredCollection => {
    let colls = data.get(db);
    if (!colls) data.set(db, (colls = new Map()));
    let c = colls.get(coll);
    if (!c) colls.set(coll, (c = { docs: new Map(), indexes: new Map() }));
    return c;
  };
  for (const e of entries) {
    switch (e.op) {
      case 'put':
        collection(e.db, e.coll).docs.set(idKey(e.doc._id), e.doc);
        break;
      case 'remove':
        collection(e.db, e.coll).docs.delete(idKey(e.id));
        break;
      case 'create':
        collection(e.db, e.coll);
        break;
      case 'drop':
        data.get(e.db)?.delete(e.coll);
        break;
      case 'dropDatabase':
        data.delete(e.db);
        break;
      case 'createIndex':
        collection(e.db, e.coll).indexes.set(e.index.name, e.index);
        break;
      case 'dropIndex':
        collection(e.db, e.coll).indexes.delete(e.name);
        break;
    }
  }
  return data;
}

/** The fewest entries that rebuild `data`: each collection, its indexes, its documents. */
function snapshot(data: StoredData): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const [db, colls] of data) {
    for (const [coll, c] of colls) {
      out.push({ op: 'create', db, coll });
      for (const index of c.indexes.values()) out.push({ op: 'createIndex', db, coll, index });
      for (const doc of c.docs.values()) out.push({ op: 'put', db, coll, doc });
    }
  }
  return out;
}

/** Canonical EJSON keeps every BSON type (int vs double, Long, ObjectId, Date) in a line of text. */
function encodeEntry(entry: JournalEntry): string {
  return EJSON.stringify(entry as Document, { relaxed: false });
}

/**
 * A line back to an entry with the values the wire decoder gives (a BSON round trip promotes numbers exactly as
 * a command's documents are promoted), so replayed documents equal the ones that were stored.
 */
function decodeEntry(line: string): JournalEntry {
  const parsed = EJSON.parse(line, { relaxed: false }) as Document;
  const entry = BSON.deserialize(BSON.serialize(parsed)) as JournalEntry;
  if (typeof entry.op !== 'string' || typeof entry.db !== 'string') throw new Error('not a journal entry');
  return entry;
}

function idKey(id: unknown): string {
  return EJSON.stringify({ id }, { relaxed: false });
}

/** The journal file of a data dir: replayed and compacted by `open`, then appended to. */
export class FileJournal implements JournalSink {
  #pending: string[] = [];
  #fd: number | undefined;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Replays the journal (if any), rewrites it as a snapshot, and opens it for appending. */
  static open(dataDir: string): { journal: FileJournal; data: StoredData; replayed: number } {
    const path = join(dataDir, JOURNAL_FILE);
    const entries = existsSync(path) ? readEntries(readFileSync(path, 'utf8'), path) : [];
    const data = replay(entries);
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, snapshot(data).map((e) => `${encodeEntry(e)}\n`).join(''));
    // A rename is atomic: a kill during compaction leaves the old journal or the new one, never half of one.
    renameSync(tmp, path);
    return { journal: new FileJournal(openSync(path, 'a')), data, replayed: entries.length };
  }

  record(entry: JournalEntry): void {
    this.#pending.push(encodeEntry(entry));
  }

  /** Writes what was recorded, in one write where the kernel allows. Throws if the journal cannot be written. */
  flush(): void {
    if (this.#pending.length === 0) return;
    if (this.#fd === undefined) throw new Error('the journal is closed');
    const bytes = Buffer.from(`${this.#pending.join('\n')}\n`, 'utf8');
    this.#pending = [];
    for (let written = 0; written < bytes.length; ) written += writeSync(this.#fd, bytes, written);
  }

  close(): void {
    if (this.#fd === undefined) return;
    this.flush();
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** The journal's entries; a torn last line is dropped, any other bad line throws. */
function readEntries(text: string, path: string): JournalEntry[] {
  // Every entry ends with a newline; what follows the last one ('' when nothing) is a write a kill cut short.
  const whole = text.split('\n').slice(0, -1);
  const entries: JournalEntry[] = [];
  whole.forEach((line, i) => {
    if (line === '') return;
    try {
      entries.push(decodeEntry(line));
    } catch (err) {
      throw new Error(`${path}: line ${i + 1} is not a journal entry (${err instanceof Error ? err.message : String(err)}): the data dir is corrupt`);
    }
  });
  return entries;
}
