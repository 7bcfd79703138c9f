import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Defined by esbuild in the live bundle (`dist/live/`, bin/build.mjs): each source entry a thread or a child process
 * runs (`harness/live/stage-worker.ts`, `harness/providers/redis/embedded/embedded-redis-main.ts`, …), by its path
 * from the project's root, and its prebuilt module beside the bundle. Undeclared when the sources run.
 */
declare const TWIN_LIVE_ENTRIES: Readonly<Record<string, string>> | undefined;

/**
 * The prebuilt module of a TypeScript entry when this code runs from the live bundle, else undefined (then the entry
 * runs through tsx). Prebuilt, a child process or a worker starts in a tenth of the time and CPU: tsx compiling the
 * sources in every child was most of an embedded boot (see harness/README.md, "How `twin up` boots fast").
 */
export function prebuiltEntry(source: URL): string | undefined {
  if (typeof TWIN_LIVE_ENTRIES === 'undefined') return undefined;
  const path = fileURLToPath(source);
  for (const [src, out] of Object.entries(TWIN_LIVE_ENTRIES)) {
    // Every module of the bundle is one file beside the entries, so this module's own directory is the bundle's.
    if (path.endsWith(`/${src}`)) return join(import.meta.dirname, out);
  }
  return undefined;
}
