import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { privateDataRoot } from '../providers/temp-dir.ts';

/**
 * A live test file's own environment: the stores' data directories under a data root of its own (on the providers'
 * root: /dev/shm where it is writable), so that "empty after each drill" counts this file's only, and environment
 * variables set for the file. `restore` removes the root and puts the variables back (in `afterAll`). Call it before
 * anything is started, so child processes (a tmux server's panes) inherit it.
 */
export function ownLiveEnv(prefix: string, vars: Readonly<Record<string, string>> = {}): { dataRoot: string; restore(): void } {
  const dataRoot = mkdtempSync(join(privateDataRoot(), prefix));
  // The stores' own users (postgres runs as one when the tests run as root) must reach their directories under it.
  chmodSync(dataRoot, 0o755);
  const set = { TWIN_DATA_ROOT: dataRoot, ...vars };
  const previous = Object.keys(set).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, set);
  return {
    dataRoot,
    restore() {
      rmSync(dataRoot, { recursive: true, force: true });
      for (const [k, v] of previous) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}
