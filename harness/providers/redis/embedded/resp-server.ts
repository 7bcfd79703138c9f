import { createServer, type Server, type Socket } from 'node:net';

/**
 * The twin's own small Redis: RESP2 over TCP with an in-memory keyspace of 16 databases, answering the commands the
 * services use with Redis 7's replies and error texts. It runs in a child process (`embedded-redis-main.ts`), so a
 * live stack can boot without a `redis-server` binary while SIGKILL, SIGSTOP and restarts stay real faults.
 *
 * Layers, each testable on its own: replies and their encoding, the request parser (pipelined multibulk frames,
 * partial frames, inline commands), the keyspace (`Database`, with a clock passed in), the command table,
 * `RedisEngine` (sessions, MULTI/EXEC), `RespConnection` (bytes in, bytes out) and finally the socket glue.
 */

/** The Redis version this server answers like: replies, error texts and option rules follow Redis 7.0. */
const EMBEDDED_REDIS_VERSION = '7.0.0';

const DATABASES = 16;
/** How often expired keys that nobody reads are removed (Redis's default `hz` is 10). */
const SWEEP_INTERVAL_MS = 100;

// ---------------------------------------------------------------------------------------------------------------
// Replies

export type Reply =
  | { readonly kind: 'status'; readonly text: string }
  | { readonly kind: 'error'; readonly text: string }
  | { readonly kind: 'integer'; readonly value: number | bigint }
  | { readonly kind: 'bulk'; readonly value: Buffer | null }
  | { readonly kind: 'array'; readonly items: readonly Reply[] | null };

const status = (text: string): Reply => ({ kind: 'status', text });
const error = (text: string): Reply => ({ kind: 'error', text });
const integer = (value: number | bigint): Reply => ({ kind: 'integer', value });
const bulk = (value: Buffer | string | null): Reply => ({ kind: 'bulk', value: typeof value === 'string' ? Buffer.from(value, 'latin1') : value });
const array = (items: readonly Reply[] | null): Reply => ({ kind: 'array', items });
const bulks = (values: readonly (Buffer | string | null)[]): Reply => array(values.map(bulk));
const OK = status('OK');
const NIL = bulk(null);

const CRLF = Buffer.from('\r\n');

/** Appends the RESP2 encoding of `r` to `out`. Status and error lines cannot hold CR or LF: Redis turns them into spaces. */
export function encodeReply(r: Reply, out: Buffer[]): void {
  switch (r.kind) {
    case 'status':
      out.push(Buffer.from(`+${oneLine(r.text)}\r\n`, 'latin1'));
      return;
    case 'error':
      out.push(Buffer.from(`-${oneLine(r.text)}\r\n`, 'latin1'));
      return;
    case 'integer':
      out.push(Buffer.from(`:${r.value}\r\n`));
      return;
    case 'bulk':
      if (r.value === null) out.push(Buffer.from('$-1\r\n'));
      else out.push(Buffer.from(`$${r.value.length}\r\n`), r.value, CRLF);
      return;
    case 'array':
      if (r.items === null) {
        out.push(Buffer.from('*-1\r\n'));
        return;
      }
      out.push(Buffer.from(`*${r.items.length}\r\n`));
      for (const item of r.items) encodeReply(item, out);
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]/g, ' ');
}

/** A command's failure, thrown by argument and type checks and answered as an error reply. */
class CommandError extends Error {}

const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const NOT_INTEGER = 'ERR value is not an integer or out of range';
const SYNTAX = 'ERR syntax error';
const OVERFLOW = 'ERR increment or decrement would overflow';

// ---------------------------------------------------------------------------------------------------------------
// Requests

/** A malformed request; Redis answers it with an error and then closes the connection. */
export class ProtocolError extends Error {}

/** Redis's limits: an inline request or a length line without its end, a multibulk count, and one bulk argument. */
const MAX_INLINE_BYTES = 64 * 1024;
const MAX_MULTIBULK_COUNT = 1024 * 1024;
const MAX_BULK_BYTES = 512 * 1024 * 1024;

/**
 * Splits a byte stream into requests: multibulk frames (`*<n>\r\n` then n × `$<len>\r\n<bytes>\r\n`) and inline
 * commands (a line of words, quoted as redis-cli does). Bytes arrive in any slices: a frame split across chunks
 * waits for the rest, and many frames in one chunk (pipelining) come out one by one.
 */
export class RequestParser {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  /** The arguments read so far of a multibulk frame whose remaining arguments have not all arrived. */
  #partial: { readonly count: number; readonly args: Buffer[] } | undefined;

  push(chunk: Buffer): void {
    this.#buf = this.#pos < this.#buf.length ? Buffer.concat([this.#buf.subarray(this.#pos), chunk]) : chunk;
    this.#pos = 0;
  }

  /** The next request (an empty one for a blank line or `*0`), or undefined until more bytes arrive. */
  next(): Buffer[] | undefined {
    if (this.#partial) return this.#multibulkArgs();
    if (this.#pos >= this.#buf.length) return undefined;
    return this.#buf[this.#pos] === 0x2a /* '*' */ ? this.#multibulk() : this.#inline();
  }

  #multibulk(): Buffer[] | undefined {
    const line = this.#line('mbulk');
    if (line === undefined) return undefined;
    const count = parseInt64(line.text.subarray(1));
    if (count === undefined || count > MAX_MULTIBULK_COUNT) throw new ProtocolError('ERR Protocol error: invalid multibulk length');
    this.#pos = line.next;
    if (count <= 0n) return [];
    this.#partial = { count: Number(count), args: [] };
    return this.#multibulkArgs();
  }

  #multibulkArgs(): Buffer[] | undefined {
    const p = this.#partial!;
    while (p.args.length < p.count) {
      const arg = this.#bulkArg();
      if (arg === undefined) return undefined;
      p.args.push(arg);
    }
    this.#partial = undefined;
    return p.args;
  }

  /** One `$<len>\r\n<bytes>\r\n`, consumed only once it has fully arrived. */
  #bulkArg(): Buffer | undefined {
    const line = this.#line('bulk');
    if (line === undefined) return undefined;
    if (line.text[0] !== 0x24 /* '$' */) throw new ProtocolError(`ERR Protocol error: expected '$', got '${String.fromCharCode(line.text[0] ?? 0x20)}'`);
    const length = parseInt64(line.text.subarray(1));
    if (length === undefined || length < 0n || length > MAX_BULK_BYTES) throw new ProtocolError('ERR Protocol error: invalid bulk length');
    const end = line.next + Number(length);
    if (end + 2 > this.#buf.length) return undefined;
    // A copy: the value outlives the chunk it arrived in, which may be much larger.
    const arg = Buffer.from(this.#buf.subarray(line.next, end));
    this.#pos = end + 2;
    return arg;
  }

  /** The CRLF-terminated line at the read position (without consuming it), or undefined if it has not ended yet. */
  #line(what: 'mbulk' | 'bulk'): { text: Buffer; next: number } | undefined {
    const cr = this.#buf.indexOf('\r\n', this.#pos, 'latin1');
    if (cr === -1) {
      if (this.#buf.length - this.#pos > MAX_INLINE_BYTES) throw new ProtocolError(`ERR Protocol error: too big ${what} count string`);
      return undefined;
    }
    return { text: this.#buf.subarray(this.#pos, cr), next: cr + 2 };
  }

  #inline(): Buffer[] | undefined {
    const lf = this.#buf.indexOf(0x0a, this.#pos);
    if (lf === -1) {
      if (this.#buf.length - this.#pos > MAX_INLINE_BYTES) throw new ProtocolError('ERR Protocol error: too big inline request');
      return undefined;
    }
    const end = lf > this.#pos && this.#buf[lf - 1] === 0x0d ? lf - 1 : lf;
    const line = this.#buf.toString('latin1', this.#pos, end);
    this.#pos = lf + 1;
    return splitInlineArgs(line).map((a) => Buffer.from(a, 'latin1'));
  }
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };

/**
 * The words of an inline command: separated by whitespace; "double quotes" take \n \r \t \b \a \xHH and \<char>
 * escapes, 'single quotes' only \'. A closing quote must end the word, as in redis-cli.
 */
export function splitInlineArgs(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const unbalanced = () => new ProtocolError('ERR Protocol error: unbalanced quotes in request');
  for (;;) {
    while (i < line.length && isSpace(line[i]!)) i++;
    if (i >= line.length) return words;
    let word = '';
    let quote: '"' | "'" | undefined;
    for (;;) {
      const c = line[i];
      if (quote === undefined) {
        if (c === undefined || isSpace(c)) break;
        if (c === '"' || c === "'") quote = c;
        else word += c;
        i++;
        continue;
      }
      if (c === undefined) throw unbalanced();
      if (c === quote) {
        i++;
        if (i < line.length && !isSpace(line[i]!)) throw unbalanced();
        break;
      }
      if (c === '\\' && quote === '"' && i + 1 < line.length) {
        const hex = line.slice(i + 2, i + 4);
        if (line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(hex)) {
          word += String.fromCharCode(parseInt(hex, 16));
          i += 4;
        } else {
          word += ESCAPES[line[i + 1]!] ?? line[i + 1];
          i += 2;
        }
      } else if (c === '\\' && quote === "'" && line[i + 1] === "'") {
        word += "'";
        i += 2;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers, as Redis reads them: a 64-bit signed integer in canonical form (no '+', spaces or leading zeros).

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function parseInt64(b: Buffer): bigint | undefined {
  const s = b.toString('latin1');
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(s)) return undefined;
  const n = BigInt(s);
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

function intArg(b: Buffer): bigint {
  const n = parseInt64(b);
  if (n === undefined) throw new CommandError(NOT_INTEGER);
  return n;
}

/** An integer argument used as an index or count: exact within ±2^53, which no list here comes near. */
const indexArg = (b: Buffer): number => Number(intArg(b));

function inInt64(n: bigint): boolean {
  return n >= INT64_MIN && n <= INT64_MAX;
}

// ---------------------------------------------------------------------------------------------------------------
// The keyspace

/** Keys, set members and hash fields are binary: held as latin1 strings, one char per byte, so they map back exactly. */
const str = (b: Buffer): string => b.toString('latin1');
const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

type Value =
  | { readonly type: 'string'; data: Buffer }
  | { readonly type: 'list'; items: Buffer[] }
  | { readonly type: 'set'; readonly members: Set<string> }
  | { readonly type: 'hash'; readonly fields: Map<string, Buffer> };

type ValueType = Value['type'];
type ValueOf<T extends ValueType> = Extract<Value, { type: T }>;

interface Entry {
  value: Value;
  /** Epoch milliseconds, or undefined for a key that does not expire. */
  expiresAt: number | undefined;
  /** Creation order: SCAN's cursor. Kept when the value is overwritten, renewed when the key is created again. */
  readonly seq: number;
}

/**
 * One of the 16 databases. Expired keys vanish on access (`lookup`) and in `sweep`, like Redis's lazy and active
 * expiry. Entries stay in creation order (a re-created key moves to the end), which makes SCAN's cursor simple: the
 * creation number of the last key visited.
 */
class Database {
  readonly #entries = new Map<string, Entry>();
  readonly #volatile = new Set<string>();
  #seq = 0;

  /** The live entry of `key`, removing it first if it has expired. */
  lookup(key: string, now: number): Entry | undefined {
    const e = this.#entries.get(key);
    if (e?.expiresAt !== undefined && e.expiresAt <= now) {
      this.remove(key);
      return undefined;
    }
    return e;
  }

  /** The value of `key` if it has type `type`, undefined if there is none; WRONGTYPE if it holds another type. */
  read<T extends ValueType>(key: string, type: T, now: number): ValueOf<T> | undefined {
    const e = this.lookup(key, now);
    if (e === undefined) return undefined;
    if (e.value.type !== type) throw new CommandError(WRONGTYPE);
    return e.value as ValueOf<T>;
  }

  /** Like `read`, but creates the key with `empty()` when it does not exist. */
  readOrCreate<T extends ValueType>(key: string, type: T, now: number, empty: () => ValueOf<T>): ValueOf<T> {
    const existing = this.read(key, type, now);
    if (existing !== undefined) return existing;
    const created = empty();
    this.put(key, created, undefined, now);
    return created;
  }

  /** Stores `value` under `key` with the given expiry, keeping the key's place if it exists. */
  put(key: string, value: Value, expiresAt: number | undefined, now: number): void {
    const e = this.lookup(key, now);
    if (e) {
      e.value = value;
      this.setExpiry(key, e, expiresAt);
    } else {
      const created: Entry = { value, expiresAt: undefined, seq: ++this.#seq };
      this.#entries.set(key, created);
      this.setExpiry(key, created, expiresAt);
    }
  }

  setExpiry(key: string, e: Entry, expiresAt: number | undefined): void {
    e.expiresAt = expiresAt;
    if (expiresAt === undefined) this.#volatile.delete(key);
    else this.#volatile.add(key);
  }

  remove(key: string): boolean {
    this.#volatile.delete(key);
    return this.#entries.delete(key);
  }

  /** Removes a collection key once its last element is gone: Redis never keeps empty lists, sets or hashes. */
  removeIfEmpty(key: string, v: Value): void {
    const size = v.type === 'list' ? v.items.length : v.type === 'set' ? v.members.size : v.type === 'hash' ? v.fields.size : 1;
    if (size === 0) this.remove(key);
  }

  /** The live keys, in creation order. */
  *keys(now: number): Generator<[string, Entry]> {
    for (const [key, e] of this.#entries) {
      if (e.expiresAt === undefined || e.expiresAt > now) yield [key, e];
    }
  }

  /**
   * Visits up to `count` keys created after `cursor`; returns those passing `keep` and the cursor to continue
   * from (0 when the end was reached). Keys that exist throughout an iteration are returned at least once.
   */
  scan(cursor: bigint, count: number, now: number, keep: (key: string, e: Entry) => boolean): { cursor: bigint; keys: string[] } {
    const keys: string[] = [];
    let visited = 0;
    let last = 0;
    for (const [key, e] of this.keys(now)) {
      if (BigInt(e.seq) <= cursor) continue;
      if (visited === count) return { cursor: BigInt(last), keys };
      visited++;
      last = e.seq;
      if (keep(key, e)) keys.push(key);
    }
    return { cursor: 0n, keys };
  }

  /** Removes every expired key (Redis samples; a twin's keyspace is small enough to look at every volatile key). */
  sweep(now: number): void {
    for (const key of this.#volatile) this.lookup(key, now);
  }

  get size(): number {
    return this.#entries.size;
  }
  get volatileCount(): number {
    return this.#volatile.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#volatile.clear();
  }
}

/**
 * Redis's glob: `*`, `?`, `[abc]`, `[^a]`, `[a-z]` and `\` escaping the next character, over bytes (latin1 chars).
 * `*` backtracks to its last position only, which is enough because a later `*` can absorb anything an earlier one could.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    if (pattern[p] === '*') {
      star = ++p;
      starText = t;
      continue;
    }
    const next = p < pattern.length ? matchOne(pattern, p, text[t]!) : -1;
    if (next !== -1) {
      p = next;
      t++;
    } else if (star !== -1) {
      p = star;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether the pattern element at `p` matches `c`: the position after the element, or -1. */
function matchOne(pattern: string, p: number, c: string): number {
  const token = pattern[p];
  if (token === '?') return p + 1;
  if (token === '[') return matchClass(pattern, p, c);
  if (token === '\\' && p + 1 < pattern.length) return pattern[p + 1] === c ? p + 2 : -1;
  return token === c ? p + 1 : -1;
}

function matchClass(pattern: string, open: number, c: string): number {
  let i = open + 1;
  const negated = pattern[i] === '^';
  if (negated) i++;
  let matched = false;
  while (i < pattern.length && pattern[i] !== ']') {
    if (pattern[i] === '\\' && i + 1 < pattern.length) {
      matched ||= pattern[i + 1] === c;
      i += 2;
    } else if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      const [lo, hi] = [pattern[i]!, pattern[i + 2]!].sort();
      matched ||= c >= lo! && c <= hi!;
      i += 3;
    } else {
      matched ||= pattern[i] === c;
      i++;
    }
  }
  // An unclosed class runs to the end of the pattern.
  const after = i < pattern.length ? i + 1 : i;
  return matched !== negated ? after : -1;
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions and the command table

/** One client connection's state. */
export interface Session {
  readonly id: number;
  db: number;
  name: Buffer | undefined;
  /** Commands queued since MULTI; `dirty` once one was refused, so that EXEC aborts. */
  multi: { readonly queued: Buffer[][]; dirty: boolean } | undefined;
  /** Set by QUIT: the connection closes once the reply is written. */
  closing: boolean;
}

/** What a command runs against. */
interface Call {
  /** The arguments after the command name. */
  readonly args: readonly Buffer[];
  readonly session: Session;
  readonly db: Database;
  readonly engine: RedisEngine;
  readonly now: number;
}

interface CommandSpec {
  /** Redis's arity, counting the name: n means exactly n, -n at least n. */
  readonly arity: number;
  /** Runs at once even inside MULTI (the transaction commands themselves, and QUIT). */
  readonly immediate?: boolean;
  readonly run: (c: Call) => Reply;
}

const arityOk = (arity: number, argc: number): boolean => (arity >= 0 ? argc === arity : argc >= -arity);
const wrongArgs = (name: string): string => `ERR wrong number of arguments for '${name}' command`;

/** `ERR unknown command 'x', with args beginning with: 'a' 'b' `, with Redis's cut at 128 characters. */
function unknownCommand(argv: readonly Buffer[]): string {
  let args = '';
  for (const a of argv.slice(1)) {
    if (args.length >= 128) break;
    args += `'${str(a).slice(0, 128 - args.length)}' `;
  }
  return `ERR unknown command '${str(argv[0]!).slice(0, 128)}', with args beginning with: ${args}`;
}

const upper = (b: Buffer | undefined): string => (b === undefined ? '' : str(b).toUpperCase());

// -- connection and server

/** Client names (and library tags) are printable ASCII without spaces, as Redis requires. */
function validName(b: Buffer): boolean {
  return b.every((byte) => byte > 0x20 && byte < 0x7f);
}

function setClientName(s: Session, name: Buffer): void {
  if (!validName(name)) throw new CommandError('ERR Client names cannot contain spaces, newlines or special characters.');
  s.name = name.length === 0 ? undefined : name;
}

/** AUTH with no password configured: the default user takes any password, every other user is refused. */
function authenticate(user: Buffer): void {
  if (str(user) !== 'default') throw new CommandError('WRONGPASS invalid username-password pair or user is disabled.');
}

/** HELLO as a RESP2-only server answers it: protocol 3 is refused with NOPROTO, which makes clients (ioredis) fall back. */
function hello(c: Call): Reply {
  const [version, ...opts] = c.args;
  if (version !== undefined) {
    const v = parseInt64(version);
    if (v === undefined) throw new CommandError('ERR Protocol version is not an integer or out of range');
    if (v !== 2n) throw new CommandError('NOPROTO unsupported protocol version');
  }
  let auth: Buffer | undefined;
  let name: Buffer | undefined;
  for (let i = 0; i < opts.length; i++) {
    const opt = upper(opts[i]);
    if (opt === 'AUTH' && i + 2 < opts.length) {
      auth = opts[i + 1];
      i += 2;
    } else if (opt === 'SETNAME' && i + 1 < opts.length) {
      name = opts[++i];
    } else {
      throw new CommandError(`ERR Syntax error in HELLO option '${str(opts[i]!)}'`);
    }
  }
  if (auth !== undefined) authenticate(auth);
  if (name !== undefined) setClientName(c.session, name);
  return array([
    ...[bulk('server'), bulk('redis'), bulk('version'), bulk(EMBEDDED_REDIS_VERSION), bulk('proto'), integer(2)],
    ...[bulk('id'), integer(c.session.id), bulk('mode'), bulk('standalone'), bulk('role'), bulk('master'), bulk('modules'), array([])],
  ]);
}

/** CLIENT's subcommands, each with its own arity (named `client|x` in errors, as Redis names them). */
const CLIENT_SUBCOMMANDS: Readonly<Record<string, CommandSpec>> = {
  SETNAME: {
    arity: 3,
    run: (c) => {
      setClientName(c.session, c.args[1]!);
      return OK;
    },
  },
  GETNAME: { arity: 2, run: (c) => bulk(c.session.name ?? null) },
  ID: { arity: 2, run: (c) => integer(c.session.id) },
  // Redis 7.2's library tags (ioredis sends them on connect); stored nowhere, since nothing here lists clients.
  SETINFO: {
    arity: 4,
    run: (c) => {
      const attr = upper(c.args[1]);
      if (attr !== 'LIB-NAME' && attr !== 'LIB-VER') throw new CommandError(`ERR Unrecognized option '${str(c.args[1]!)}'`);
      if (!validName(c.args[2]!)) throw new CommandError(`ERR ${str(c.args[1]!)} cannot contain spaces, newlines or special characters.`);
      return OK;
    },
  },
};

function client(c: Call): Reply {
  const sub = upper(c.args[0]);
  const spec = CLIENT_SUBCOMMANDS[sub];
  if (spec === undefined) throw new CommandError(`ERR unknown subcommand '${str(c.args[0]!)}'. Try CLIENT HELP.`);
  if (!arityOk(spec.arity, c.args.length + 1)) throw new CommandError(wrongArgs(`client|${sub.toLowerCase()}`));
  return spec.run(c);
}

function select(c: Call): Reply {
  const index = intArg(c.args[0]!);
  if (index < 0n || index >= BigInt(DATABASES)) throw new CommandError('ERR DB index is out of range');
  c.session.db = Number(index);
  return OK;
}

/** FLUSHDB/FLUSHALL's optional ASYNC or SYNC (both synchronous here). */
function flushMode(args: readonly Buffer[]): void {
  if (args.length > 1 || (args.length === 1 && !['ASYNC', 'SYNC'].includes(upper(args[0])))) throw new CommandError(SYNTAX);
}

/** COMMAND, minimal: COUNT, the names and arities through INFO, and no docs. */
function command(c: Call): Reply {
  const sub = upper(c.args[0]);
  const info = (name: string): Reply => {
    const spec = COMMANDS[name];
    return spec === undefined ? NIL : array([bulk(name), integer(spec.arity), array([]), integer(0), integer(0), integer(0), array([]), array([]), array([]), array([])]);
  };
  const names = c.args.slice(1).map((a) => str(a).toLowerCase());
  switch (sub) {
    case '':
      return array(Object.keys(COMMANDS).map(info));
    case 'COUNT':
      return integer(Object.keys(COMMANDS).length);
    case 'INFO':
      return array((names.length > 0 ? names : Object.keys(COMMANDS)).map(info));
    case 'DOCS':
      return array([]);
    default:
      throw new CommandError(`ERR unknown subcommand '${str(c.args[0]!)}'. Try COMMAND HELP.`);
  }
}

function time(c: Call): Reply {
  return bulks([String(Math.floor(c.now / 1000)), String((c.now % 1000) * 1000)]);
}

// -- keys

/**
 * An absolute expiry in epoch ms from an EX/PX/EXAT/PXAT or EXPIRE/PEXPIRE argument. Redis refuses values whose
 * millisecond deadline would leave the 64-bit range, and (`positive`) zero or negative times in SET.
 */
function deadline(raw: Buffer, unit: 's' | 'ms', relative: boolean, now: number, command: string, positive: boolean): number {
  const n = intArg(raw);
  const invalid = () => new CommandError(`ERR invalid expire time in '${command}' command`);
  if (positive && n <= 0n) throw invalid();
  if (unit === 's' && (n > INT64_MAX / 1000n || n < INT64_MIN / 1000n)) throw invalid();
  const at = (unit === 's' ? n * 1000n : n) + (relative ? BigInt(now) : 0n);
  if (!inInt64(at)) throw invalid();
  return Number(at);
}

function expire(c: Call, unit: 's' | 'ms', command: string): Reply {
  const [rawKey, rawTime, ...opts] = c.args;
  const flags = new Set<string>();
  for (const o of opts) {
    const f = upper(o);
    if (!['NX', 'XX', 'GT', 'LT'].includes(f)) throw new CommandError(`ERR Unsupported option ${str(o)}`);
    flags.add(f);
  }
  if (flags.has('NX') && flags.size > 1) throw new CommandError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (flags.has('GT') && flags.has('LT')) throw new CommandError('ERR GT and LT options at the same time are not compatible');
  const at = deadline(rawTime!, unit, true, c.now, command, false);
  const key = str(rawKey!);
  const e = c.db.lookup(key, c.now);
  if (e === undefined) return integer(0);
  // A key without an expiry counts as expiring never: GT can never beat it, LT always does.
  const current = e.expiresAt ?? Infinity;
  const refused =
    (flags.has('NX') && e.expiresAt !== undefined) || (flags.has('XX') && e.expiresAt === undefined) || (flags.has('GT') && at <= current) || (flags.has('LT') && at >= current);
  if (refused) return integer(0);
  if (at <= c.now) c.db.remove(key);
  else c.db.setExpiry(key, e, at);
  return integer(1);
}

function ttl(c: Call, unit: 's' | 'ms'): Reply {
  const e = c.db.lookup(str(c.args[0]!), c.now);
  if (e === undefined) return integer(-2);
  if (e.expiresAt === undefined) return integer(-1);
  const ms = e.expiresAt - c.now;
  return integer(unit === 'ms' ? ms : Math.floor((ms + 500) / 1000));
}

function scan(c: Call): Reply {
  const rawCursor = str(c.args[0]!);
  // Redis reads the cursor as an unsigned 64-bit number; a negative one wraps around, past every real cursor.
  if (!/^-?[0-9]+$/.test(rawCursor) || BigInt(rawCursor.replace('-', '')) > 2n ** 64n - 1n) throw new CommandError('ERR invalid cursor');
  const cursor = rawCursor.startsWith('-') ? 2n ** 64n : BigInt(rawCursor);
  let pattern: string | undefined;
  let type: string | undefined;
  let count = 10;
  for (let i = 1; i < c.args.length; i += 2) {
    const opt = upper(c.args[i]);
    const value = c.args[i + 1];
    if (value === undefined) throw new CommandError(SYNTAX);
    if (opt === 'MATCH') pattern = str(value);
    else if (opt === 'TYPE') type = str(value).toLowerCase();
    else if (opt === 'COUNT') {
      count = indexArg(value);
      if (count < 1) throw new CommandError(SYNTAX);
    } else throw new CommandError(SYNTAX);
  }
  const page = c.db.scan(cursor, count, c.now, (key, e) => (pattern === undefined || globMatch(pattern, key)) && (type === undefined || e.value.type === type));
  return array([bulk(String(page.cursor)), bulks(page.keys.map(buf))]);
}

function del(c: Call): Reply {
  return integer(c.args.filter((k) => c.db.lookup(str(k), c.now) !== undefined && c.db.remove(str(k))).length);
}

function rename(c: Call): Reply {
  const [from, to] = [str(c.args[0]!), str(c.args[1]!)];
  const e = c.db.lookup(from, c.now);
  if (e === undefined) throw new CommandError('ERR no such key');
  if (from === to) return OK;
  c.db.remove(from);
  c.db.remove(to);
  c.db.put(to, e.value, e.expiresAt, c.now);
  return OK;
}

// -- strings

function get(c: Call): Reply {
  return bulk(c.db.read(str(c.args[0]!), 'string', c.now)?.data ?? null);
}

/** SET's expiry options: the unit, and whether the time counts from now (EX, PX) or is absolute (EXAT, PXAT). */
const SET_EXPIRIES: Readonly<Record<string, { unit: 's' | 'ms'; relative: boolean }>> = {
  EX: { unit: 's', relative: true },
  PX: { unit: 'ms', relative: true },
  EXAT: { unit: 's', relative: false },
  PXAT: { unit: 'ms', relative: false },
};

/** SET's options as Redis 7.0 checks them: NX/XX exclusive, one kind of expiry (the last one wins), KEEPTTL alone. */
function set(c: Call): Reply {
  const [rawKey, value, ...opts] = c.args;
  let condition: 'NX' | 'XX' | undefined;
  let returnOld = false;
  let keepTtl = false;
  let expiry: { unit: 's' | 'ms'; relative: boolean; raw: Buffer } | undefined;
  for (let i = 0; i < opts.length; i++) {
    const opt = upper(opts[i]);
    const kind = SET_EXPIRIES[opt];
    if ((opt === 'NX' || opt === 'XX') && condition !== (opt === 'NX' ? 'XX' : 'NX')) condition = opt;
    else if (opt === 'GET') returnOld = true;
    else if (opt === 'KEEPTTL' && expiry === undefined) keepTtl = true;
    else if (kind !== undefined && !keepTtl && i + 1 < opts.length && (expiry === undefined || (expiry.unit === kind.unit && expiry.relative === kind.relative))) expiry = { ...kind, raw: opts[++i]! };
    else throw new CommandError(SYNTAX);
  }
  const expiresAt = expiry === undefined ? undefined : deadline(expiry.raw, expiry.unit, expiry.relative, c.now, 'set', true);
  const key = str(rawKey!);
  const existing = c.db.lookup(key, c.now);
  if (returnOld && existing !== undefined && existing.value.type !== 'string') throw new CommandError(WRONGTYPE);
  const old = returnOld ? bulk(existing?.value.type === 'string' ? existing.value.data : null) : undefined;
  if ((condition === 'NX' && existing) || (condition === 'XX' && !existing)) return old ?? NIL;
  c.db.put(key, { type: 'string', data: value! }, keepTtl ? existing?.expiresAt : expiresAt, c.now);
  return old ?? OK;
}

function mset(c: Call): Reply {
  if (c.args.length % 2 !== 0) throw new CommandError(wrongArgs('mset'));
  for (let i = 0; i < c.args.length; i += 2) c.db.put(str(c.args[i]!), { type: 'string', data: c.args[i + 1]! }, undefined, c.now);
  return OK;
}

/** INCRBY and friends: a string holding a 64-bit integer (a missing key counts as 0), keeping the key's expiry. */
function incrementBy(c: Call, delta: bigint): Reply {
  const key = str(c.args[0]!);
  const v = c.db.read(key, 'string', c.now);
  const current = v === undefined ? 0n : parseInt64(v.data);
  if (current === undefined) throw new CommandError(NOT_INTEGER);
  const next = current + delta;
  if (!inInt64(next)) throw new CommandError(OVERFLOW);
  const data = Buffer.from(String(next));
  if (v) v.data = data;
  else c.db.put(key, { type: 'string', data }, undefined, c.now);
  return integer(next);
}

function decrementBy(c: Call): Reply {
  const delta = intArg(c.args[1]!);
  if (delta === INT64_MIN) throw new CommandError('ERR decrement would overflow');
  return incrementBy(c, -delta);
}

function append(c: Call): Reply {
  const key = str(c.args[0]!);
  const v = c.db.read(key, 'string', c.now);
  if (v === undefined) {
    c.db.put(key, { type: 'string', data: c.args[1]! }, undefined, c.now);
    return integer(c.args[1]!.length);
  }
  v.data = Buffer.concat([v.data, c.args[1]!]);
  return integer(v.data.length);
}

// -- lists

const newList = (): ValueOf<'list'> => ({ type: 'list', items: [] });

function push(c: Call, end: 'head' | 'tail'): Reply {
  const list = c.db.readOrCreate(str(c.args[0]!), 'list', c.now, newList);
  for (const v of c.args.slice(1)) {
    if (end === 'head') list.items.unshift(v);
    else list.items.push(v);
  }
  return integer(list.items.length);
}

/** LPOP/RPOP: one element (a bulk), or with a count up to that many (an array; a null array for a missing key). */
function pop(c: Call, end: 'head' | 'tail', name: string): Reply {
  if (c.args.length > 2) throw new CommandError(wrongArgs(name));
  let count: number | undefined;
  if (c.args[1] !== undefined) {
    const n = parseInt64(c.args[1]);
    if (n === undefined || n < 0n) throw new CommandError('ERR value is out of range, must be positive');
    count = Number(n);
  }
  const key = str(c.args[0]!);
  const list = c.db.read(key, 'list', c.now);
  if (list === undefined) return count === undefined ? NIL : array(null);
  const taken = end === 'head' ? list.items.splice(0, count ?? 1) : list.items.splice(Math.max(0, list.items.length - (count ?? 1))).reverse();
  c.db.removeIfEmpty(key, list);
  return count === undefined ? bulk(taken[0] ?? null) : bulks(taken);
}

/**
 * The elements LRANGE returns and LTRIM keeps, by Redis's rule: negative indexes count from the end, the range is
 * clamped to the list, and a start past the stop is empty. The indexes are read before the key, as Redis does.
 */
function listSlice(c: Call): { key: string; list: ValueOf<'list'> | undefined; slice: Buffer[] } {
  let start = indexArg(c.args[1]!);
  let stop = indexArg(c.args[2]!);
  const key = str(c.args[0]!);
  const list = c.db.read(key, 'list', c.now);
  const length = list?.items.length ?? 0;
  if (start < 0) start = Math.max(0, start + length);
  if (stop < 0) stop += length;
  if (stop >= length) stop = length - 1;
  return { key, list, slice: start > stop || start >= length ? [] : list!.items.slice(start, stop + 1) };
}

function ltrim(c: Call): Reply {
  const { key, list, slice } = listSlice(c);
  if (list === undefined) return OK;
  list.items = slice;
  c.db.removeIfEmpty(key, list);
  return OK;
}

function lindex(c: Call): Reply {
  const items = c.db.read(str(c.args[0]!), 'list', c.now)?.items ?? [];
  const i = indexArg(c.args[1]!);
  return bulk(items[i < 0 ? i + items.length : i] ?? null);
}

/** LREM: removes up to |count| elements equal to `element`, from the head (count > 0), the tail (< 0) or all (0). */
function lrem(c: Call): Reply {
  const key = str(c.args[0]!);
  const count = indexArg(c.args[1]!);
  const list = c.db.read(key, 'list', c.now);
  if (list === undefined) return integer(0);
  const matching = list.items.flatMap((item, i) => (item.equals(c.args[2]!) ? [i] : []));
  if (count < 0) matching.reverse();
  const doomed = new Set(count === 0 ? matching : matching.slice(0, Math.abs(count)));
  list.items = list.items.filter((_, i) => !doomed.has(i));
  c.db.removeIfEmpty(key, list);
  return integer(doomed.size);
}

// -- sets

function sadd(c: Call): Reply {
  const members = c.db.readOrCreate(str(c.args[0]!), 'set', c.now, () => ({ type: 'set', members: new Set() })).members;
  let added = 0;
  for (const m of c.args.slice(1)) {
    if (!members.has(str(m))) added++;
    members.add(str(m));
  }
  return integer(added);
}

function srem(c: Call): Reply {
  const key = str(c.args[0]!);
  const set = c.db.read(key, 'set', c.now);
  if (set === undefined) return integer(0);
  const removed = c.args.slice(1).filter((m) => set.members.delete(str(m))).length;
  c.db.removeIfEmpty(key, set);
  return integer(removed);
}

// -- hashes

function hset(c: Call): Reply {
  if (c.args.length % 2 !== 1) throw new CommandError(wrongArgs('hset'));
  const fields = c.db.readOrCreate(str(c.args[0]!), 'hash', c.now, () => ({ type: 'hash', fields: new Map() })).fields;
  let created = 0;
  for (let i = 1; i < c.args.length; i += 2) {
    if (!fields.has(str(c.args[i]!))) created++;
    fields.set(str(c.args[i]!), c.args[i + 1]!);
  }
  return integer(created);
}

const hashFields = (c: Call): Map<string, Buffer> | undefined => c.db.read(str(c.args[0]!), 'hash', c.now)?.fields;

function hdel(c: Call): Reply {
  const key = str(c.args[0]!);
  const hash = c.db.read(key, 'hash', c.now);
  if (hash === undefined) return integer(0);
  const removed = c.args.slice(1).filter((f) => hash.fields.delete(str(f))).length;
  c.db.removeIfEmpty(key, hash);
  return integer(removed);
}

function hincrby(c: Call): Reply {
  const delta = intArg(c.args[2]!);
  const fields = c.db.readOrCreate(str(c.args[0]!), 'hash', c.now, () => ({ type: 'hash', fields: new Map() })).fields;
  const field = str(c.args[1]!);
  const stored = fields.get(field);
  const current = stored === undefined ? 0n : parseInt64(stored);
  if (current === undefined) throw new CommandError('ERR hash value is not an integer');
  const next = current + delta;
  if (!inInt64(next)) throw new CommandError(OVERFLOW);
  fields.set(field, Buffer.from(String(next)));
  return integer(next);
}

// -- INFO

function info(c: Call): Reply {
  const wanted = c.args.map((a) => str(a).toLowerCase());
  const all = wanted.length === 0 || wanted.some((w) => w === 'all' || w === 'everything' || w === 'default');
  const sections = c.engine.infoSections(c.now).filter((s) => all || wanted.includes(s.name.toLowerCase()));
  return bulk(sections.map((s) => [`# ${s.name}`, ...s.lines].map((l) => `${l}\r\n`).join('')).join('\r\n'));
}

// -- the table

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  // connection and server
  ping: {
    arity: -1,
    run: (c) => {
      if (c.args.length > 1) throw new CommandError(wrongArgs('ping'));
      return c.args[0] === undefined ? status('PONG') : bulk(c.args[0]);
    },
  },
  echo: { arity: 2, run: (c) => bulk(c.args[0]!) },
  select: { arity: 2, run: select },
  quit: {
    arity: -1,
    immediate: true,
    run: (c) => {
      c.session.closing = true;
      return OK;
    },
  },
  auth: {
    arity: -2,
    run: (c) => {
      if (c.args.length > 2) throw new CommandError(SYNTAX);
      if (c.args.length === 1) throw new CommandError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
      authenticate(c.args[0]!);
      return OK;
    },
  },
  hello: { arity: -1, run: hello },
  client: { arity: -2, run: client },
  info: { arity: -1, run: info },
  command: { arity: -1, run: command },
  dbsize: { arity: 1, run: (c) => integer(c.db.size) },
  flushdb: {
    arity: -1,
    run: (c) => {
      flushMode(c.args);
      c.db.clear();
      return OK;
    },
  },
  flushall: {
    arity: -1,
    run: (c) => {
      flushMode(c.args);
      c.engine.flushAll();
      return OK;
    },
  },
  time: { arity: 1, run: time },
  // keys
  del: { arity: -2, run: del },
  // Redis frees the memory in the background; here there is nothing to defer.
  unlink: { arity: -2, run: del },
  exists: { arity: -2, run: (c) => integer(c.args.filter((k) => c.db.lookup(str(k), c.now)).length) },
  expire: { arity: -3, run: (c) => expire(c, 's', 'expire') },
  pexpire: { arity: -3, run: (c) => expire(c, 'ms', 'pexpire') },
  ttl: { arity: 2, run: (c) => ttl(c, 's') },
  pttl: { arity: 2, run: (c) => ttl(c, 'ms') },
  persist: {
    arity: 2,
    run: (c) => {
      const key = str(c.args[0]!);
      const e = c.db.lookup(key, c.now);
      if (e?.expiresAt === undefined) return integer(0);
      c.db.setExpiry(key, e, undefined);
      return integer(1);
    },
  },
  type: { arity: 2, run: (c) => status(c.db.lookup(str(c.args[0]!), c.now)?.value.type ?? 'none') },
  keys: { arity: 2, run: (c) => bulks([...c.db.keys(c.now)].filter(([k]) => globMatch(str(c.args[0]!), k)).map(([k]) => buf(k))) },
  scan: { arity: -2, run: scan },
  rename: { arity: 3, run: rename },
  // strings
  get: { arity: 2, run: get },
  set: { arity: -3, run: set },
  setnx: {
    arity: 3,
    run: (c) => {
      if (c.db.lookup(str(c.args[0]!), c.now)) return integer(0);
      c.db.put(str(c.args[0]!), { type: 'string', data: c.args[1]! }, undefined, c.now);
      return integer(1);
    },
  },
  // MGET answers nil for keys of another type, never WRONGTYPE.
  mget: { arity: -2, run: (c) => bulks(c.args.map((k) => c.db.lookup(str(k), c.now)?.value).map((v) => (v?.type === 'string' ? v.data : null))) },
  mset: { arity: -3, run: mset },
  incr: { arity: 2, run: (c) => incrementBy(c, 1n) },
  incrby: { arity: 3, run: (c) => incrementBy(c, intArg(c.args[1]!)) },
  decr: { arity: 2, run: (c) => incrementBy(c, -1n) },
  decrby: { arity: 3, run: decrementBy },
  append: { arity: 3, run: append },
  strlen: { arity: 2, run: (c) => integer(c.db.read(str(c.args[0]!), 'string', c.now)?.data.length ?? 0) },
  // lists
  lpush: { arity: -3, run: (c) => push(c, 'head') },
  rpush: { arity: -3, run: (c) => push(c, 'tail') },
  lpop: { arity: -2, run: (c) => pop(c, 'head', 'lpop') },
  rpop: { arity: -2, run: (c) => pop(c, 'tail', 'rpop') },
  lrange: { arity: 4, run: (c) => bulks(listSlice(c).slice) },
  llen: { arity: 2, run: (c) => integer(c.db.read(str(c.args[0]!), 'list', c.now)?.items.length ?? 0) },
  lindex: { arity: 3, run: lindex },
  lrem: { arity: 4, run: lrem },
  ltrim: { arity: 4, run: ltrim },
  // sets
  sadd: { arity: -3, run: sadd },
  srem: { arity: -3, run: srem },
  scard: { arity: 2, run: (c) => integer(c.db.read(str(c.args[0]!), 'set', c.now)?.members.size ?? 0) },
  smembers: { arity: 2, run: (c) => bulks([...(c.db.read(str(c.args[0]!), 'set', c.now)?.members ?? [])].map(buf)) },
  sismember: { arity: 3, run: (c) => integer(c.db.read(str(c.args[0]!), 'set', c.now)?.members.has(str(c.args[1]!)) ? 1 : 0) },
  // hashes
  hset: { arity: -4, run: hset },
  hget: { arity: 3, run: (c) => bulk(hashFields(c)?.get(str(c.args[1]!)) ?? null) },
  hmget: { arity: -3, run: (c) => bulks(c.args.slice(1).map((f) => hashFields(c)?.get(str(f)) ?? null)) },
  hgetall: { arity: 2, run: (c) => bulks([...(hashFields(c) ?? [])].flatMap(([f, v]) => [buf(f), v])) },
  hdel: { arity: -3, run: hdel },
  hincrby: { arity: 4, run: hincrby },
  hlen: { arity: 2, run: (c) => integer(hashFields(c)?.size ?? 0) },
  hexists: { arity: 3, run: (c) => integer(hashFields(c)?.has(str(c.args[1]!)) ? 1 : 0) },
  // transactions: handled by the engine, which owns the session's queue
  multi: { arity: 1, immediate: true, run: (c) => c.engine.multi(c.session) },
  exec: { arity: 1, immediate: true, run: (c) => c.engine.exec(c.session) },
  discard: { arity: 1, immediate: true, run: (c) => c.engine.discard(c.session) },
};

// ---------------------------------------------------------------------------------------------------------------
// The engine: the databases and the sessions, without sockets

export interface EngineOptions {
  /** The clock, in epoch ms (a fake one in unit tests). */
  readonly now?: () => number;
  /** Reported in INFO. */
  readonly port?: number;
}

export class RedisEngine {
  readonly #dbs = Array.from({ length: DATABASES }, () => new Database());
  readonly #now: () => number;
  readonly #port: number;
  readonly #startedAt: number;
  readonly #sessions = new Set<Session>();
  #nextClientId = 1;

  constructor(opts: EngineOptions = {}) {
    this.#now = opts.now ?? Date.now;
    this.#port = opts.port ?? 0;
    this.#startedAt = this.#now();
  }

  openSession(): Session {
    const s: Session = { id: this.#nextClientId++, db: 0, name: undefined, multi: undefined, closing: false };
    this.#sessions.add(s);
    return s;
  }

  closeSession(s: Session): void {
    this.#sessions.delete(s);
  }

  /**
   * Runs one request (`argv[0]` is the command) for a session. Inside MULTI, commands are checked (known, right
   * arity) and queued; a refused one makes EXEC abort, as in Redis.
   */
  execute(s: Session, argv: readonly Buffer[]): Reply {
    const name = str(argv[0]!).toLowerCase();
    const spec = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    const refuse = (message: string): Reply => {
      if (s.multi) s.multi.dirty = true;
      return error(message);
    };
    if (spec === undefined) return refuse(unknownCommand(argv));
    if (!arityOk(spec.arity, argv.length)) {
      if (name === 'exec' && s.multi) {
        // EXEC with the wrong arguments ends the transaction it was meant to run.
        s.multi = undefined;
        return error(`EXECABORT Transaction discarded because of: ${wrongArgs(name).slice('ERR '.length)}`);
      }
      return refuse(wrongArgs(name));
    }
    if (s.multi && !spec.immediate) {
      s.multi.queued.push([...argv]);
      return status('QUEUED');
    }
    return this.#run(spec, s, argv);
  }

  #run(spec: CommandSpec, s: Session, argv: readonly Buffer[]): Reply {
    try {
      return spec.run({ args: argv.slice(1), session: s, db: this.#dbs[s.db]!, engine: this, now: this.#now() });
    } catch (err) {
      if (err instanceof CommandError) return error(err.message);
      throw err;
    }
  }

  multi(s: Session): Reply {
    if (s.multi) return error('ERR MULTI calls can not be nested');
    s.multi = { queued: [], dirty: false };
    return OK;
  }

  exec(s: Session): Reply {
    if (!s.multi) return error('ERR EXEC without MULTI');
    const { queued, dirty } = s.multi;
    s.multi = undefined;
    if (dirty) return error('EXECABORT Transaction discarded because of previous errors.');
    return array(queued.map((argv) => this.#run(COMMANDS[str(argv[0]!).toLowerCase()]!, s, argv)));
  }

  discard(s: Session): Reply {
    if (!s.multi) return error('ERR DISCARD without MULTI');
    s.multi = undefined;
    return OK;
  }

  flushAll(): void {
    for (const db of this.#dbs) db.clear();
  }

  /** Removes expired keys nobody has read since they expired. */
  sweepExpired(): void {
    const now = this.#now();
    for (const db of this.#dbs) db.sweep(now);
  }

  /** INFO's sections: enough for clients' ready checks (`loading:0`) and for people (version, keyspace). */
  infoSections(now: number): { name: string; lines: string[] }[] {
    const uptime = Math.floor((now - this.#startedAt) / 1000);
    return [
      {
        name: 'Server',
        lines: [`redis_version:${EMBEDDED_REDIS_VERSION}`, 'redis_mode:standalone', `process_id:${process.pid}`, `tcp_port:${this.#port}`, `uptime_in_seconds:${uptime}`, `uptime_in_days:${Math.floor(uptime / 86_400)}`, 'executable:embedded (circleci-server-twin)'],
      },
      { name: 'Clients', lines: [`connected_clients:${this.#sessions.size}`] },
      { name: 'Persistence', lines: ['loading:0', 'async_loading:0', 'rdb_bgsave_in_progress:0', 'aof_enabled:0'] },
      {
        name: 'Keyspace',
        lines: this.#dbs.flatMap((db, i) => (db.size > 0 ? [`db${i}:keys=${db.size},expires=${db.volatileCount},avg_ttl=0`] : [])),
      },
    ];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A connection: bytes in, bytes out

/** One client connection without its socket: feed it what arrived, write what it answers. */
export class RespConnection {
  readonly #parser = new RequestParser();
  readonly #session: Session;

  constructor(private readonly engine: RedisEngine) {
    this.#session = engine.openSession();
  }

  /** The replies to every complete request in what has arrived so far, and whether to close after writing them. */
  receive(chunk: Buffer): { output: Buffer; close: boolean } {
    this.#parser.push(chunk);
    const out: Buffer[] = [];
    while (!this.#session.closing) {
      let request: Buffer[] | undefined;
      try {
        request = this.#parser.next();
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        encodeReply(error(err.message), out);
        this.#session.closing = true;
        break;
      }
      if (request === undefined) break;
      if (request.length > 0) encodeReply(this.engine.execute(this.#session, request), out);
    }
    return { output: Buffer.concat(out), close: this.#session.closing };
  }

  close(): void {
    this.engine.closeSession(this.#session);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The socket

export interface RespServer {
  readonly port: number;
  /** Stops listening and drops every connection (what a graceful shutdown of a memory-only Redis amounts to). */
  close(): Promise<void>;
}

/** Listens on host:port (0 for any free port) and serves RESP2 until closed; rejects if the port cannot be bound. */
export async function startRespServer(opts: { host: string; port: number }): Promise<RespServer> {
  const sockets = new Set<Socket>();
  // Made once the port is known (INFO reports it); no connection can arrive before that.
  let engine: RedisEngine | undefined;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, new RespConnection(engine!));
  });
  await listen(server, opts.host, opts.port);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  engine = new RedisEngine({ port });
  const sweeper = setInterval(() => engine.sweepExpired(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  return {
    port,
    close: async () => {
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Pipes a socket through a connection; reading pauses while the client is slow to take our replies. */
function serve(socket: Socket, conn: RespConnection): void {
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    const { output, close } = conn.receive(chunk);
    const flushed = output.length === 0 || socket.write(output);
    if (close) {
      socket.end();
      socket.removeAllListeners('data');
    } else if (!flushed) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
  // A client that vanishes mid-request is its own business; nothing here needs to know.
  socket.on('error', () => undefined);
  socket.once('close', () => conn.close());
}
