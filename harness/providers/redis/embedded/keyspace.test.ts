import { describe, expect, it } from 'vitest';
import { globMatch } from './keyspace.ts';

describe('globMatch', () => {
  it.each([
    ['*', 'anything', true],
    ['job:*', 'job:', true],
    ['job:?', 'job:12', false],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyy', false],
    ['h[0-9]', 'h7', true],
    ['h[^0-9]', 'h7', false],
    ['h[9-0]', 'h5', true],
    ['h[ab]', 'hc', false],
    ['x\\*', 'x*', true],
    ['x\\*', 'xy', false],
    ['[\\]]', ']', true],
    ['a[bc', 'ab', true],
  ])('%j against %j is %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });
});
