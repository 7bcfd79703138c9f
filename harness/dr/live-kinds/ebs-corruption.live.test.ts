/**
 * The corruption `ebs_corruption` does live, on a real PostgreSQL alone (seconds, not a whole rehearsal): after a
 * SIGKILL an intact data dir recovers (crash recovery replays the WAL), a garbled WAL does not (PANIC).
 */
import { describe, expect, it } from 'vitest';
import { PostgresProvider } from '../../providers/postgres/postgres-provider.ts';
import { garbleWal, startFailure } from './ebs-corruption.ts';

describe('ebs_corruption live: PostgreSQL on the corrupted volume', () => {
  it('recovers from a SIGKILL on intact files, and fails crash recovery once its WAL is garbled', async () => {
    await using pg = await new PostgresProvider().withBackend('local').withDatabases(['circle']).start();
    await pg.query('circle', 'CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2), (3)');
    // Killed with the write acknowledged and not checkpointed: an intact volume recovers it.
    process.kill(pg.pid!, 'SIGKILL');
    await pg.restart();
    expect((await pg.query<{ n: string }>('circle', 'SELECT count(*) AS n FROM t')).rows[0]!.n).toBe('3');
    await pg.query('circle', 'INSERT INTO t VALUES (4)');
    process.kill(pg.pid!, 'SIGKILL');
    const g = garbleWal(pg.dataDir!);
    expect(g.files).toBeGreaterThan(0);
    const failure = await pg.restart().then(
      () => 'started',
      (e: Error) => startFailure(e.message),
    );
    expect(failure).toMatch(/^PANIC: +could not locate a valid checkpoint record$/);
  }, 120_000);
});
