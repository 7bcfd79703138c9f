// Whether the prebuilt bundle may run: it was built from exactly the files now on disk. Plain JavaScript, imported by
// bin/twin.js before anything else, so it costs a stat per file listed in the manifest and nothing more.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A reason the bundle in `dist` must not run (no manifest, a file changed, added or removed since the build), or
 * undefined when every file it was built from has the size and modification time it had then.
 */
export function staleBundleReason(root, dist) {
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')).inputs;
  } catch {
    return `no bundle manifest in ${dist} (npm run build makes one)`;
  }
  for (const [file, [mtimeMs, size]] of Object.entries(inputs)) {
    const s = statSync(join(root, file), { throwIfNoEntry: false });
    if (s === undefined) return `${file} was removed since the bundle was built`;
    if (s.mtimeMs !== mtimeMs || (s.isFile() && s.size !== size)) return `${file} changed since the bundle was built`;
  }
  return undefined;
}
