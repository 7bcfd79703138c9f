import { describe, expect, it } from 'vitest';
import { locateJsonError, parseJsonBody } from './body.ts';
import { HttpError } from './http-error.ts';

function refusal(text: string): HttpError {
  try {
    parseJsonBody(text);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseJsonBody', () => {
  it('parses JSON, and takes an empty body as undefined', () => {
    expect(parseJsonBody('{"sha":"abc","n":[1,2.5e3,true,null]}')).toEqual({ sha: 'abc', n: [1, 2500, true, null] });
    expect(parseJsonBody('  \n')).toBeUndefined();
  });

  it('refuses malformed JSON with a 400 naming line, column and offset, and what was expected there', () => {
    const e = refusal('{\n  "sha": "abc",\n  "n": tru\n}');
    expect([e.status, e.code]).toEqual([400, 'MALFORMED_JSON']);
    expect(e.message).toBe('request body is not valid JSON: line 3 column 11 (offset 28): unexpected "\\n", expected a value');
    expect(e.details).toEqual({ position: 28, line: 3, column: 11 });
  });

  it('never echoes the body (V8 quotes it whole)', () => {
    const e = refusal(`{"a": "${'x'.repeat(100_000)}"`);
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).toContain('end of input, expected \',\' or \'}\'');
  });
});

describe('locateJsonError', () => {
  const cases: [string, number, string][] = [
    ['{"a":', 5, 'a value'],
    ['{"a" 1}', 5, "':'"],
    ['[1,]', 3, 'a value'],
    ['{"a":1,}', 7, 'a string key'],
    ['[01]', 2, "',' or ']'"],
    ['1 2', 2, 'end of input'],
    ['"ab\\qc"', 4, 'a closed string'],
    ['"a\u0001"', 2, 'a closed string'],
    ['"\\u12G4"', 2, 'a closed string'],
    ['nul', 3, 'a value'],
    ['-', 0, 'a value'],
    ['{"a":[{"b":}]}', 11, 'a value'],
  ];
  it.each(cases)('%j breaks at %i, expecting %s', (text, position, expected) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateJsonError(text)).toMatchObject({ position, expected });
  });

  it('walks valid JSON to its end', () => {
    for (const text of ['{"a":[1,-2.5E+3,{"b":null}],"c":"\\u00e9\\n"}', '[]', ' {} ', 'true', '"x"']) {
      expect(locateJsonError(text)).toEqual({ position: text.length, found: 'end of input', expected: 'end of input' });
    }
  });
});
