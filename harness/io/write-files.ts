import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';

/**
 * Writes a set of files into `dir` all or nothing: they are written into a sibling temporary directory
 * first and moved into place only when every write succeeded, so a failure leaves nothing half-written.
 */
export function writeFilesAtomically(dir: string, files: Record<string, string>): string[] {
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.tmp-`));
  try {
    for (const [name, text] of Object.entries(files)) {
      const path = join(staging, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    mkdirSync(target, { recursive: true });
    const written: string[] = [];
    for (const name of Object.keys(files)) {
      const to = join(target, name);
      mkdirSync(dirname(to), { recursive: true });
      if (existsSync(to)) rmSync(to, { recursive: true, force: true });
      renameSync(join(staging, name), to);
      written.push(to);
    }
    return written;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
