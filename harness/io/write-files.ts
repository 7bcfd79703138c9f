import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve, basename, isAbsolute, normalize, sep } from 'node:path';

/**
 * Writes a set of files under `dir` all or nothing. Names may hold sub-directories (`baseline/report.json`), so one
 * call writes a command's whole output. Every file is written into a sibling staging directory first; only when
 * every write succeeded are they moved into place, and a file they replace is set aside until all moved, so a
 * failure at any point leaves `dir` as it was.
 */
export function writeFilesAtomically(dir: string, files: Record<string, string>): string[] {
  for (const name of Object.keys(files)) {
    const n = normalize(name);
    if (name === '' || isAbsolute(name) || n === '..' || n.startsWith(`..${sep}`)) throw new Error(`writeFilesAtomically: \`${name}\` is not a path inside ${dir}`);
  }
  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const staging = mkdtempSync(join(dirname(target), `.${basename(target)}.tmp-`));
  const createdTarget = !existsSync(target);
  const moved: string[] = [];
  const setAside: Array<{ from: string; to: string }> = [];
  try {
    const fresh = join(staging, 'new');
    const old = join(staging, 'old');
    for (const [name, text] of Object.entries(files)) {
      const path = join(fresh, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    mkdirSync(target, { recursive: true });
    for (const name of Object.keys(files)) {
      const to = join(target, name);
      mkdirSync(dirname(to), { recursive: true });
      if (existsSync(to)) {
        const aside = join(old, name);
        mkdirSync(dirname(aside), { recursive: true });
        renameSync(to, aside);
        setAside.push({ from: aside, to });
      }
      renameSync(join(fresh, name), to);
      moved.push(to);
    }
    return moved;
  } catch (e) {
    // Undo: remove what was moved in, put back what it replaced; a directory this call created goes too.
    for (const path of moved) rmSync(path, { force: true });
    for (const { from, to } of setAside) renameSync(from, to);
    if (createdTarget) rmSync(target, { recursive: true, force: true });
    throw e;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
