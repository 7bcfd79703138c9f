import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * For a test file: a maker of temp dirs named `prefix` + random, each removed after the file's tests (CI found
 * hundreds of them left in /tmp by the unit project). Call it at the file's top level.
 */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
