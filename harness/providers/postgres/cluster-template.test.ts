import { chownSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyTree, initCluster, templateCacheDir, type ClusterMaker, type ClusterTemplateKey } from './cluster-template.ts';

const scratch = mkdtempSync(join(tmpdir(), 'twin-template-test-'));
afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await rm(scratch, { recursive: true, force: true });
});

const KEY: ClusterTemplateKey = { binDir: '/opt/pg/bin', version: '17.10', initdbArgs: ['--auth=trust'], databases: ['circle', 'vms'] };

/** A maker that writes what a cluster would hold and counts its calls. */
function fakeMaker(): ClusterMaker & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async initdb(dir) {
      calls.push('initdb');
      mkdirSync(join(dir, 'base'), { recursive: true });
      writeFileSync(join(dir, 'PG_VERSION'), '17\n');
    },
    async createDatabases(dir, dbs) {
      calls.push(`create ${dbs.join(',')}`);
      for (const db of dbs) writeFileSync(join(dir, 'base', db), db);
    },
  };
}

describe('initCluster (the cached initdb template)', () => {
  it('makes the first cluster with initdb and the databases, and copies later ones from the template', async () => {
    const cache = join(scratch, 'cache-a');
    const maker = fakeMaker();
    expect(await initCluster(KEY, join(scratch, 'one'), maker, cache)).toBe('initdb');
    expect(maker.calls).toEqual(['initdb', 'create circle,vms']);
    expect(await initCluster(KEY, join(scratch, 'two'), maker, cache)).toBe('template');
    expect(maker.calls).toHaveLength(2);
    expect(readdirSync(join(scratch, 'two', 'base')).sort()).toEqual(['circle', 'vms']);
    expect(readFileSync(join(scratch, 'two', 'PG_VERSION'), 'utf8')).toBe('17\n');
    // One template, no staging dirs left behind.
    expect(readdirSync(cache)).toHaveLength(1);
  });

  it('keeps one template per installation, initdb options and database list', async () => {
    const cache = join(scratch, 'cache-b');
    const maker = fakeMaker();
    await initCluster(KEY, join(scratch, 'b1'), maker, cache);
    await initCluster({ ...KEY, databases: ['circle'] }, join(scratch, 'b2'), maker, cache);
    await initCluster({ ...KEY, version: '15.20' }, join(scratch, 'b3'), maker, cache);
    expect(maker.calls.filter((c) => c === 'initdb')).toHaveLength(3);
    expect(readdirSync(cache).sort()).toEqual([expect.stringMatching(/^15\.20-/), expect.stringMatching(/^17\.10-/), expect.stringMatching(/^17\.10-/)]);
  });

  it('a failed initdb leaves no template; a cache that cannot be written only costs the speed', async () => {
    const cache = join(scratch, 'cache-c');
    const failing: ClusterMaker = { initdb: async () => Promise.reject(new Error('initdb: could not create directory')), createDatabases: async () => undefined };
    await expect(initCluster(KEY, join(scratch, 'c1'), failing, cache)).rejects.toThrow(/could not create directory/);
    expect(() => readdirSync(cache)).toThrow();

    const notADir = join(scratch, 'a-file');
    writeFileSync(notADir, 'x');
    const maker = fakeMaker();
    expect(await initCluster(KEY, join(scratch, 'c2'), maker, notADir)).toBe('initdb');
    expect(await initCluster(KEY, join(scratch, 'c3'), maker, notADir)).toBe('initdb');
  });

  it('lives in node_modules/.cache unless TWIN_CACHE_DIR says otherwise', () => {
    expect(templateCacheDir({})).toMatch(/node_modules\/\.cache\/circleci-server-twin\/postgres-templates$/);
    expect(templateCacheDir({ TWIN_CACHE_DIR: '/var/cache/twin' })).toBe('/var/cache/twin/postgres-templates');
  });

  // A template made by the server's account is copied with its owners kept: the copy needs no chown of each file.
  // Only root can give files to another account, so elsewhere there is nothing to check (and the harness chowns nothing).
  it.skipIf(process.getuid?.() !== 0)('copies a tree with its owners, modes and contents kept, into a directory whose parent it makes', async () => {
    const from = join(scratch, 'owned');
    mkdirSync(join(from, 'base', '1'), { recursive: true });
    writeFileSync(join(from, 'base', '1', '1259'), 'pg_class');
    writeFileSync(join(from, 'PG_VERSION'), '17\n', { mode: 0o600 });
    for (const f of [from, join(from, 'base'), join(from, 'base', '1'), join(from, 'base', '1', '1259'), join(from, 'PG_VERSION')]) chownSync(f, 4242, 4343);
    const to = join(scratch, 'copies', 'deeper', 'data');
    await copyTree(from, to);
    for (const f of ['', 'base/1', 'base/1/1259', 'PG_VERSION']) expect(statSync(join(to, f)), f).toMatchObject({ uid: 4242, gid: 4343 });
    expect(statSync(join(to, 'PG_VERSION')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(to, 'base', '1', '1259'), 'utf8')).toBe('pg_class');
  });
});
