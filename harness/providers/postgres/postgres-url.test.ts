import { describe, expect, it } from 'vitest';
import { ProviderError } from '../types.ts';
import { parsePostgresUrl } from './postgres-url.ts';
import { postgresUrlFor } from './started-postgres.ts';
import { PostgresProvider, settlePostgresOptions } from './postgres-provider.ts';

describe('parsePostgresUrl', () => {
  it('reads host, port, user, password and the maintenance database, with defaults', () => {
    expect(parsePostgresUrl('postgres://circle:pw@db.internal:6543/ops')).toMatchObject({ host: 'db.internal', port: 6543, user: 'circle', password: 'pw', database: 'ops' });
    expect(parsePostgresUrl('postgresql://db.internal')).toMatchObject({ port: 5432, user: 'postgres', password: '', database: 'postgres' });
  });

  it.each([
    ['http://db/circle', /scheme 'http'/],
    ['postgres://db/a/b', /has path '\/a\/b': expected at most one database name/],
    ['postgres://db/circle?sslmode=maybe', /sslmode 'maybe', expected one of disable/],
    ['postgres://db:65536/circle', /port '65536'/],
  ])('rejects %j with BAD_URL naming the problem and a hint', (url, message) => {
    let caught: unknown;
    try {
      parsePostgresUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProviderError);
    expect((caught as ProviderError).code).toBe('BAD_URL');
    expect((caught as ProviderError).message).toMatch(message);
    expect((caught as ProviderError).hint).toMatch(/postgres:\/\//);
  });
});

describe('postgresUrlFor', () => {
  it('swaps the database and keeps credentials and parameters', () => {
    expect(postgresUrlFor('postgres://circle:pw@db:5432/postgres?sslmode=require', 'vms')).toBe('postgres://circle:pw@db:5432/vms?sslmode=require');
  });
});

describe('PostgresProvider options', () => {
  it('settles defaults once: auto, no databases, the pinned image, 30 s', () => {
    expect(settlePostgresOptions({})).toMatchObject({ backend: 'auto', databases: [], image: 'postgres:15-alpine', startTimeoutMs: 30_000 });
    expect(settlePostgresOptions({ version: '16' }).image).toBe('postgres:16-alpine');
  });

  it('refuses database names that are not plain identifiers', () => {
    expect(() => settlePostgresOptions({ databases: ['circle; DROP'] })).toThrow(/not a plain identifier/);
  });

  it('an external backend without a URL is a BAD_URL error before anything starts', async () => {
    await expect(new PostgresProvider().withBackend('external').start()).rejects.toMatchObject({ code: 'BAD_URL', message: expect.stringMatching(/needs a URL/) });
  });

  it('a bad URL fails start() with BAD_URL before anything starts', async () => {
    await expect(new PostgresProvider().withUrl('postgres://db:notaport/x').start()).rejects.toMatchObject({ code: 'BAD_URL' });
  });
});
