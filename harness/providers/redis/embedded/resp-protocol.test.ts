import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, RequestParser, splitInlineArgs } from './resp-protocol.ts';

/** Every request the parser yields for these chunks, in order. */
function parseAll(chunks: Buffer[]): string[][] {
  const parser = new RequestParser();
  const requests: string[][] = [];
  for (const chunk of chunks) {
    parser.push(chunk);
    for (let r = parser.next(); r !== undefined; r = parser.next()) requests.push(r.map((a) => a.toString('latin1')));
  }
  return requests;
}

/** The multibulk frame a client sends for these arguments. */
const frame = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;

describe('RequestParser', () => {
  it('yields pipelined frames one by one, with CR LF inside values kept, and waits for a frame that has not fully arrived', () => {
    const stream = frame('SET', 'k', 'a\r\nb') + frame('GET', 'k') + frame('PING');
    expect(parseAll([Buffer.from(stream)])).toEqual([['SET', 'k', 'a\r\nb'], ['GET', 'k'], ['PING']]);
    const parser = new RequestParser();
    parser.push(Buffer.from(frame('GET', 'key').slice(0, -3)));
    expect(parser.next()).toBeUndefined();
    parser.push(Buffer.from('y\r\n'));
    expect(parser.next()?.map(String)).toEqual(['GET', 'key']);
  });

  it('gives the same requests however the byte stream is cut', () => {
    const stream = Buffer.from(frame('RPUSH', 'l', 'x', '', 'yz') + 'PING hi\r\n' + frame('DEL', 'a', 'b') + '\r\n' + '*0\r\n', 'latin1');
    const whole = parseAll([stream]);
    expect(whole).toEqual([['RPUSH', 'l', 'x', '', 'yz'], ['PING', 'hi'], ['DEL', 'a', 'b'], [], []]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), stream.length];
        expect(parseAll(at.slice(1).map((end, i) => stream.subarray(at[i], end)))).toEqual(whole);
      }),
    );
  });

  it.each([
    ['*x\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n+PING\r\n', "ERR Protocol error: expected '$', got '+'"],
    ['*1\r\n$-5\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$abc\r\n', 'ERR Protocol error: invalid bulk length'],
    ['GET "unterminated\r\n', 'ERR Protocol error: unbalanced quotes in request'],
  ])('refuses %j with %j', (bytes, message) => {
    const parser = new RequestParser();
    parser.push(Buffer.from(bytes));
    expect(() => parser.next()).toThrow(new ProtocolError(message));
  });

  it('refuses an inline request or a length line that runs past 64 KB without ending', () => {
    const inline = new RequestParser();
    inline.push(Buffer.from('A'.repeat(70_000)));
    expect(() => inline.next()).toThrow(new ProtocolError('ERR Protocol error: too big inline request'));
    const bulkLength = new RequestParser();
    bulkLength.push(Buffer.from(`*1\r\n$${'9'.repeat(70_000)}`));
    expect(() => bulkLength.next()).toThrow(new ProtocolError('ERR Protocol error: too big bulk count string'));
  });
});

describe('splitInlineArgs', () => {
  it('splits on whitespace and reads double quotes with escapes and single quotes literally', () => {
    expect(splitInlineArgs('  set   k  v ')).toEqual(['set', 'k', 'v']);
    expect(splitInlineArgs(`set "a b" 'c d'`)).toEqual(['set', 'a b', 'c d']);
    expect(splitInlineArgs(String.raw`x "\x41\n\t\"q\"" 'it\'s' "\\"`)).toEqual(['x', 'A\n\t"q"', "it's", '\\']);
    expect(splitInlineArgs('')).toEqual([]);
  });

  it('refuses a closing quote that does not end the word', () => {
    expect(() => splitInlineArgs('"a"b')).toThrow(/unbalanced quotes/);
    expect(() => splitInlineArgs("'open")).toThrow(/unbalanced quotes/);
  });
});
