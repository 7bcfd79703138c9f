/**
 * RESP2 on the wire, for the embedded Redis (`resp-server.ts`): replies and their encoding, the errors commands
 * answer with, the request parser (pipelined multibulk frames, partial frames, inline commands) and numbers as
 * Redis reads them.
 */

// ---------------------------------------------------------------------------------------------------------------
// Replies

export type Reply =
  | { readonly kind: 'status'; readonly text: string }
  | { readonly kind: 'error'; readonly text: string }
  | { readonly kind: 'integer'; readonly value: number | bigint }
  | { readonly kind: 'bulk'; readonly value: Buffer | null }
  | { readonly kind: 'array'; readonly items: readonly Reply[] | null };

export const status = (text: string): Reply => ({ kind: 'status', text });
export const error = (text: string): Reply => ({ kind: 'error', text });
export const integer = (value: number | bigint): Reply => ({ kind: 'integer', value });
export const bulk = (value: Buffer | string | null): Reply => ({ kind: 'bulk', value: typeof value === 'string' ? Buffer.from(value, 'latin1') : value });
export const array = (items: readonly Reply[] | null): Reply => ({ kind: 'array', items });
export const bulks = (values: readonly (Buffer | string | null)[]): Reply => array(values.map(bulk));
export const OK = status('OK');
export const NIL = bulk(null);

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
export class CommandError extends Error {}

export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
export const SYNTAX = 'ERR syntax error';
export const OVERFLOW = 'ERR increment or decrement would overflow';

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

export const INT64_MAX = 2n ** 63n - 1n;
export const INT64_MIN = -(2n ** 63n);

export function parseInt64(b: Buffer): bigint | undefined {
  const s = b.toString('latin1');
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(s)) return undefined;
  const n = BigInt(s);
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

export function intArg(b: Buffer): bigint {
  const n = parseInt64(b);
  if (n === undefined) throw new CommandError(NOT_INTEGER);
  return n;
}

/** An integer argument used as an index or count: exact within ±2^53, which no list here comes near. */
export const indexArg = (b: Buffer): number => Number(intArg(b));

export function inInt64(n: bigint): boolean {
  return n >= INT64_MIN && n <= INT64_MAX;
}
