import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postgresVersion } from './local-postgres.ts';

const scratch = mkdtempSync(join(tmpdir(), 'twin-pg-version-test-'));
const cacheEnv = process.env.TWIN_CACHE_DIR;
afterEach(() => {
  if (cacheEnv === undefined) delete process.env.TWIN_CACHE_DIR;
  else process.env.TWIN_CACHE_DIR = cacheEnv;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in for a postgres binary: a script that prints what `postgres --version` prints. */
function fakePostgres(path: string, version: string): void {
  writeFileSync(path, `#!/bin/sh\necho "postgres (PostgreSQL) ${version}"\n`, { mode: 0o755 });
}

describe('postgresVersion', () => {
  it('asks the binary once and remembers the answer per binary (path, size, modification time) in the cache dir', () => {
    process.env.TWIN_CACHE_DIR = join(scratch, 'cache');
    const bin = join(scratch, 'postgres');
    fakePostgres(bin, '17.10');
    const mtime = 1_700_000_000;
    utimesSync(bin, mtime, mtime);
    expect(postgresVersion(bin)).toBe('17.10');
    const cached = JSON.parse(readFileSync(join(scratch, 'cache', 'postgres-versions.json'), 'utf8')) as Record<string, string>;
    expect(Object.values(cached)).toEqual(['17.10']);

    // The same size and modification time: the remembered answer, without running it.
    fakePostgres(bin, '99.99');
    utimesSync(bin, mtime, mtime);
    expect(postgresVersion(bin)).toBe('17.10');

    // Another binary in the same place (a new modification time): asked again.
    utimesSync(bin, mtime, mtime + 5);
    expect(postgresVersion(bin)).toBe('99.99');
  });

  it('says undefined for a binary that does not run or is not there, and remembers nothing for it', () => {
    process.env.TWIN_CACHE_DIR = join(scratch, 'cache-b');
    const broken = join(scratch, 'broken');
    writeFileSync(broken, '#!/bin/sh\nexit 127\n', { mode: 0o755 });
    expect(postgresVersion(broken)).toBeUndefined();
    expect(postgresVersion(join(scratch, 'missing'))).toBeUndefined();
    expect(() => readFileSync(join(scratch, 'cache-b', 'postgres-versions.json'))).toThrow();
  });
});
