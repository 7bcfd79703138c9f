import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyFilters, matchesFilters, matchesWildcard, wildcardToRegExp, type FilterTable } from './filters.ts';

/** A reference matcher written the slow, obvious way (recursion over the pattern), to check the regex against. */
function reference(value: string, pattern: string): boolean {
  const tokens: ({ kind: 'star' } | { kind: 'one' } | { kind: 'lit'; c: string })[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length && '*?\\'.includes(pattern[i + 1]!)) tokens.push({ kind: 'lit', c: pattern[++i]! });
    else if (c === '*') tokens.push({ kind: 'star' });
    else if (c === '?') tokens.push({ kind: 'one' });
    else tokens.push({ kind: 'lit', c });
  }
  const memo = new Map<string, boolean>();
  const go = (ti: number, vi: number): boolean => {
    const key = `${ti},${vi}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    const t = tokens[ti];
    if (t === undefined) r = vi === value.length;
    else if (t.kind === 'star') r = go(ti + 1, vi) || (vi < value.length && go(ti, vi + 1));
    else if (t.kind === 'one') r = vi < value.length && go(ti + 1, vi + 1);
    else r = vi < value.length && value[vi] === t.c && go(ti + 1, vi + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

const escape = (s: string) => s.replace(/[*?\\]/g, '\\$&');

describe('EC2 wildcards', () => {
  it('match as EC2 documents them: * any run, ? one character, case-sensitive, whole value', () => {
    expect(matchesWildcard('CircleCI Services box Backup taken at Thu Jan 21 08:48:33 EST 2016', 'CircleCI*')).toBe(true);
    expect(matchesWildcard('circleci services box', 'CircleCI*')).toBe(false);
    expect(matchesWildcard('xCircleCI', 'CircleCI*')).toBe(false);
    expect(matchesWildcard('circleci_services', 'circleci_services')).toBe(true);
    expect(matchesWildcard('circleci_services', 'circleci')).toBe(false);
    expect(matchesWildcard('nomad-client-1', 'nomad-client-?')).toBe(true);
    expect(matchesWildcard('nomad-client-10', 'nomad-client-?')).toBe(false);
    expect(matchesWildcard('', '*')).toBe(true);
    expect(matchesWildcard('', '?')).toBe(false);
    expect(matchesWildcard('a.b', 'a?b')).toBe(true);
    expect(matchesWildcard('axb', 'a.b')).toBe(false);
    expect(matchesWildcard('line\nbreak', 'line*')).toBe(true);
    expect(matchesWildcard('ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64', 'ubuntu/images/hvm-ssd/ubuntu-xenial-16.04*')).toBe(true);
  });

  it('take \\* and \\? literally', () => {
    expect(matchesWildcard('a*b', 'a\\*b')).toBe(true);
    expect(matchesWildcard('axb', 'a\\*b')).toBe(false);
    expect(matchesWildcard('what?', 'what\\?')).toBe(true);
    expect(matchesWildcard('whatX', 'what\\?')).toBe(false);
    expect(matchesWildcard('a\\b', 'a\\\\b')).toBe(true);
  });

  it('compile regular-expression syntax characters as plain text', () => {
    for (const s of ['(a)', '[x]', 'a+b', '^$', '{1}', 'a|b', 'a/b-c', 'x.y']) expect(wildcardToRegExp(s).test(s)).toBe(true);
  });

  it('agree with a reference matcher on random patterns (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '*', '?', '\\', '.', '-');
    const text = fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(text, text, (value, pattern) => {
        expect(matchesWildcard(value, pattern)).toBe(reference(value, pattern));
      }),
      { numRuns: 2000 },
    );
  });

  it('escaped text matches itself and nothing else; a lone * matches everything (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(matchesWildcard(a, escape(a))).toBe(true);
        expect(matchesWildcard(b, escape(a))).toBe(a === b);
        expect(matchesWildcard(a, '*')).toBe(true);
        expect(matchesWildcard(a + b, `${escape(a)}*`)).toBe(true);
      }),
    );
  });
});

interface Box {
  id: string;
  state: string;
  ips: string[];
  tags: Map<string, string>;
}

const table: FilterTable<Box> = {
  resource: 'box',
  tags: (b) => b.tags,
  fields: { 'box-id': (b) => b.id, state: (b) => b.state, ip: (b) => b.ips },
};

const boxes: Box[] = [
  { id: 'b-1', state: 'running', ips: ['10.0.0.5', '10.0.0.6'], tags: new Map([['Name', 'circleci_services']]) },
  { id: 'b-2', state: 'stopped', ips: ['10.0.0.7'], tags: new Map([['Name', 'nomad-client-1'], ['Role', 'builder']]) },
  { id: 'b-3', state: 'running', ips: [], tags: new Map() },
];
const ids = (filters: { name: string; values: string[] }[]) => applyFilters(boxes, filters, table).map((b) => b.id);

describe('filters', () => {
  it('AND across filters, OR across the values of one filter', () => {
    expect(ids([{ name: 'state', values: ['running'] }])).toEqual(['b-1', 'b-3']);
    expect(ids([{ name: 'state', values: ['running', 'stopped'] }])).toEqual(['b-1', 'b-2', 'b-3']);
    expect(ids([{ name: 'state', values: ['running'] }, { name: 'tag:Name', values: ['circleci_*'] }])).toEqual(['b-1']);
    expect(ids([])).toEqual(['b-1', 'b-2', 'b-3']);
  });

  it('match any of several values of a field', () => {
    expect(ids([{ name: 'ip', values: ['10.0.0.6'] }])).toEqual(['b-1']);
    expect(ids([{ name: 'ip', values: ['10.0.0.*'] }])).toEqual(['b-1', 'b-2']);
  });

  it('read tags through tag:<key>, tag-key and tag-value; a missing tag matches nothing', () => {
    expect(ids([{ name: 'tag:Name', values: ['*'] }])).toEqual(['b-1', 'b-2']);
    expect(ids([{ name: 'tag-key', values: ['Role'] }])).toEqual(['b-2']);
    expect(ids([{ name: 'tag-value', values: ['nomad-*'] }])).toEqual(['b-2']);
    expect(ids([{ name: 'tag:name', values: ['*'] }])).toEqual([]);
  });

  it('reject an unknown filter name and a filter without values with InvalidParameterValue', () => {
    expect(() => ids([{ name: 'colour', values: ['red'] }])).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue', message: "The filter 'colour' is invalid" }));
    expect(() => ids([{ name: 'state', values: [] }])).toThrowError(expect.objectContaining({ code: 'InvalidParameterValue' }));
  });

  it('matchesFilters is the per-item predicate applyFilters uses', () => {
    for (const b of boxes) {
      expect(matchesFilters(b, [{ name: 'state', values: ['running'] }], table)).toBe(b.state === 'running');
    }
  });
});
