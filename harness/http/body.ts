import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';

/** The default bound on a request body: the twin's servers take small forms and JSON documents. */
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

/** Codes of the errors the layer itself raises, so servers and tests match them by name. */
export const LAYER_ERROR_CODES = {
  notFound: 'NOT_FOUND',
  methodNotAllowed: 'METHOD_NOT_ALLOWED',
  tooLarge: 'PAYLOAD_TOO_LARGE',
  badJson: 'MALFORMED_JSON',
  badUrl: 'MALFORMED_URL',
  internal: 'INTERNAL_ERROR',
} as const;

/**
 * Reads a request body of at most `limitBytes`: a declared `Content-Length` beyond it is refused before a byte is
 * read, and a body that grows beyond it (chunked) is refused as soon as it does. Either way a 413, and the
 * connection is not reused (the rest of the body is never read).
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) return Promise.reject(tooLarge(limitBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      // The rest is discarded, not destroyed: the 413 still has to reach the client before the connection closes.
      req.off('data', onData);
      req.resume();
      reject(tooLarge(limitBytes));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, LAYER_ERROR_CODES.tooLarge, `request body is larger than ${limitBytes} bytes`, { headers: { connection: 'close' } });
}

/**
 * Parses a JSON request body; malformed JSON is the caller's mistake, a 400 naming where it broke (line, column
 * and offset) and what was expected there, never a 500, and never echoing the body (V8's own message quotes it
 * whole). An empty body is `undefined`: whether that is allowed is the route's to say.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const { position, found, expected } = locateJsonError(text);
    const { line, column } = lineAndColumn(text, position);
    throw new HttpError(400, LAYER_ERROR_CODES.badJson, `request body is not valid JSON: line ${line} column ${column} (offset ${position}): ${found}, expected ${expected}`, {
      details: { position, line, column },
      cause: err,
    });
  }
}

/** Where a JSON text first breaks the grammar, what stands there and what was expected (for texts `JSON.parse` refuses). */
export function locateJsonError(text: string): { position: number; found: string; expected: string } {
  const n = text.length;
  const closers: ('}' | ']')[] = [];
  let i = 0;
  let state: 'value' | 'key' | 'after' = 'value';
  const at = (expected: string) => ({ position: i, found: i >= n ? 'end of input' : `unexpected ${JSON.stringify(text[i])}`, expected });
  // Every turn consumes at least one character or returns, so n + 1 turns bound the walk.
  for (let turn = 0; turn <= n + 1; turn++) {
    i = skipSpace(text, i);
    const top = closers[closers.length - 1];
    if (state === 'after') {
      if (top === undefined) return at('end of input');
      if (text[i] === ',') {
        i++;
        state = top === '}' ? 'key' : 'value';
      } else if (text[i] === top) {
        i++;
        closers.pop();
      } else return at(`',' or '${top}'`);
      continue;
    }
    if (state === 'key') {
      if (text[i] !== '"') return at('a string key');
      const end = scanString(text, i);
      if (end < 0) {
        i = -end - 1;
        return at('a closed string');
      }
      i = end;
      i = skipSpace(text, i);
      if (text[i] !== ':') return at("':'");
      i++;
      state = 'value';
      continue;
    }
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      closers.push(c === '{' ? '}' : ']');
      i = skipSpace(text, i);
      if (text[i] === closers[closers.length - 1]) {
        i++;
        closers.pop();
        state = 'after';
      } else state = c === '{' ? 'key' : 'value';
      continue;
    }
    const end = c === '"' ? scanString(text, i) : scanLiteral(text, i);
    if (end < 0) {
      i = -end - 1;
      return at(c === '"' ? 'a closed string' : 'a value');
    }
    i = end;
    state = 'after';
  }
  return at('end of input');
}

function skipSpace(text: string, i: number): number {
  let k = i;
  while (k < text.length && (text[k] === ' ' || text[k] === '\t' || text[k] === '\n' || text[k] === '\r')) k++;
  return k;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The end of a number or `true`/`false`/`null` at `i`, or `-(p + 1)` where `p` is the first character that does not fit. */
function scanLiteral(text: string, i: number): number {
  for (const word of ['true', 'false', 'null']) {
    if (text[i] !== word[0]) continue;
    for (let k = 0; k < word.length; k++) if (text[i + k] !== word[k]) return -(i + k) - 1;
    return i + word.length;
  }
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(text);
  if (m === null || m[0] === '-') return -(i + (m?.[0].length ?? 0)) - 1;
  return i + m[0].length;
}

/** The end of the string opening at `i`, or `-(p + 1)` where `p` is a bad escape, a control character or the end. */
function scanString(text: string, i: number): number {
  for (let k = i + 1; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x22) return k + 1;
    if (c < 0x20) return -k - 1;
    if (c !== 0x5c) continue;
    const e = text[k + 1];
    if (e === 'u') {
      if (!/^[0-9a-fA-F]{4}$/.test(text.slice(k + 2, k + 6))) return -(k + 1) - 1;
      k += 5;
    } else if (e !== undefined && '"\\/bfnrt'.includes(e)) k++;
    else return -(k + 1) - 1;
  }
  return -text.length - 1;
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return { line, column: position - before.lastIndexOf('\n') };
}
