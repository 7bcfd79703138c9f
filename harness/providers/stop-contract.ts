import { existsSync } from 'node:fs';
import { expect } from 'vitest';
import type { StartedComponent } from './types.ts';
import { isPortOpen } from './wait.ts';

/**
 * What `stop()` and `await using` promise for a local backend, asserted the same way for every provider's live test:
 * `stop()` is idempotent, closes the port and removes `dir` (the temp dir, or the data dir inside it); a handle
 * leaving an `await using` scope has removed its dir. `whileInScope` checks the scoped handle while it runs.
 */
export async function expectCleanStop<S extends StartedComponent>(started: S, dir: string, startScoped: () => Promise<S>, whileInScope: (scoped: S) => Promise<void> = async () => undefined): Promise<void> {
  await started.stop();
  await started.stop();
  expect(existsSync(dir)).toBe(false);
  expect(await isPortOpen(started.host, started.port)).toBe(false);

  let disposedDir: string | undefined;
  {
    await using scoped = await startScoped();
    disposedDir = scoped.dataDir;
    expect(existsSync(disposedDir!)).toBe(true);
    await whileInScope(scoped);
  }
  expect(existsSync(disposedDir!)).toBe(false);
}
