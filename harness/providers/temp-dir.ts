import { accessSync, constants, statSync } from 'node:fs';
import { chown, lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OsUser } from './os-user.ts';
import { owned } from './reaper/owned-records.ts';

/**
 * Where private instances keep their data: `TWIN_DATA_ROOT` if set; else `/dev/shm` where it is a writable
 * directory (Linux's memory-backed tmpfs: a PostgreSQL cluster is copied there in a tenth of the time it takes on
 * this machine's disk, and nothing of a private instance needs to outlive the machine); else the OS temp dir.
 */
export function privateDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TWIN_DATA_ROOT) return env.TWIN_DATA_ROOT;
  try {
    if (statSync(SHM).isDirectory()) {
      accessSync(SHM, constants.W_OK);
      return SHM;
    }
  } catch {
    // no tmpfs here
  }
  return tmpdir();
}

const SHM = '/dev/shm';

/**
 * A fresh private directory under `privateDataRoot()`, named for its component (`/dev/shm/twin-postgres-Ab12Cd`),
 * recorded as owned until `removeDir` removes it (the `twin-` prefix is what the reaper checks before removing).
 */
export async function makeTempDir(component: string): Promise<string> {
  const dir = await mkdtemp(join(privateDataRoot(), `twin-${component}-`));
  owned.dir(dir);
  return dir;
}

/** Hands a file or directory tree to the account the server runs as (a server that drops privileges must own its files). */
export async function chownTree(dir: string, user: OsUser | undefined): Promise<void> {
  if (!user) return;
  // The trees are the few files a provider just wrote: a bounded walk, no symlinks followed.
  await chown(dir, user.uid, user.gid);
  if (!(await lstat(dir)).isDirectory()) return;
  const stack = [dir];
  for (let visited = 0; stack.length > 0 && visited < 10_000; visited++) {
    const path = stack.pop()!;
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      await chown(child, user.uid, user.gid);
      if (entry.isDirectory()) stack.push(child);
    }
  }
}

/** Removes a directory tree; a directory already gone is fine (stop() is idempotent). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
  owned.forgetDir(dir);
}
