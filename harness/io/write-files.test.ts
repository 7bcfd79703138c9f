import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFilesAtomically } from './write-files.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function fresh(): string {
  dir = mkdtempSync(join(tmpdir(), 'twin-write-'));
  return dir;
}

describe('writeFilesAtomically', () => {
  it('writes files in sub-directories in one call and leaves no staging directory', () => {
    const root = fresh();
    const out = join(root, 'out');
    writeFilesAtomically(out, { 'junit.xml': 'j', 'a/report.json': '{}', 'b/report.json': '[]' });
    expect(readFileSync(join(out, 'a', 'report.json'), 'utf8')).toBe('{}');
    expect(readFileSync(join(out, 'b', 'report.json'), 'utf8')).toBe('[]');
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('puts back every file it replaced when a move fails part-way, and removes a directory it created', () => {
    const root = fresh();
    const out = join(root, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'a.txt'), 'old a');
    writeFileSync(join(out, 'b'), 'a file where a directory is needed');
    expect(() => writeFilesAtomically(out, { 'a.txt': 'new a', 'b/c.txt': 'c' })).toThrow(/ENOTDIR|EEXIST/);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('old a');
    expect(readdirSync(out).sort()).toEqual(['a.txt', 'b']);
    expect(readdirSync(root)).toEqual(['out']);

    const created = join(root, 'created');
    mkdirSync(join(root, 'blocker'));
    expect(() => writeFilesAtomically(created, { 'x.txt': 'x', 'x.txt/y': 'y' })).toThrow();
    expect(readdirSync(root).sort()).toEqual(['blocker', 'out']);
  });

  it('refuses names outside the directory before writing anything', () => {
    const root = fresh();
    expect(() => writeFilesAtomically(join(root, 'out'), { 'ok.txt': 'x', '../escape.txt': 'y' })).toThrow(/not a path inside/);
    expect(readdirSync(root)).toEqual([]);
  });
});
