import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { garbleWal, startFailure } from './ebs-corruption.ts';
import { tempDirs } from '../../test-temp.ts';

const tempDir = tempDirs('twin-garble-');

describe('ebs_corruption live: the garbled volume', () => {
  it('overwrites every WAL segment in place with the pattern, sizes kept, and nothing else', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'pg_wal', 'archive_status'), { recursive: true });
    const segment = Buffer.alloc(200_003, 7);
    writeFileSync(join(dir, 'pg_wal', '000000010000000000000001'), segment);
    writeFileSync(join(dir, 'pg_wal', '000000010000000000000002'), segment);
    writeFileSync(join(dir, 'pg_wal', '000000010000000000000001.partial'), 'keep');
    writeFileSync(join(dir, 'pg_wal', 'archive_status', '000000010000000000000001.done'), 'keep');
    writeFileSync(join(dir, 'PG_VERSION'), '16\n');
    expect(garbleWal(dir)).toEqual({ files: 2, bytes: 400_006 });
    for (const n of ['000000010000000000000001', '000000010000000000000002']) {
      const after = readFileSync(join(dir, 'pg_wal', n));
      expect(after.length).toBe(200_003);
      // Every byte of it garbled (the last partial block too), none of the old content left.
      expect(after.subarray(0, 8)).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef]));
      expect(after.includes(7)).toBe(false);
    }
    expect(readFileSync(join(dir, 'pg_wal', '000000010000000000000001.partial'), 'utf8')).toBe('keep');
    expect(readFileSync(join(dir, 'pg_wal', 'archive_status', '000000010000000000000001.done'), 'utf8')).toBe('keep');
    expect(readFileSync(join(dir, 'PG_VERSION'), 'utf8')).toBe('16\n');
  });

  it("names PostgreSQL's PANIC from its log, else the error's first line", () => {
    const log = 'postgres: did not start (exit code 1):\nLOG:  invalid primary checkpoint record\nPANIC:  could not locate a valid checkpoint record\nLOG:  startup process was terminated by signal 6';
    expect(startFailure(log)).toBe('PANIC:  could not locate a valid checkpoint record');
    expect(startFailure(`FATAL:  the database system is starting up\n${log}`)).toBe('PANIC:  could not locate a valid checkpoint record');
    expect(startFailure('FATAL:  the database system is starting up\nFATAL:  could not open file "global/pg_control"')).toBe('FATAL:  could not open file "global/pg_control"');
    expect(startFailure('postgres: did not listen in 15000 ms\nmore')).toBe('postgres: did not listen in 15000 ms');
  });
});
