import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Profile } from '../../fixtures/schema.ts';
import { staleBundleReason } from '../../bin/bundle-check.mjs';

/** Defined (as `true`) by esbuild in the prebuilt bundle `dist/twin.mjs`; undeclared when the sources run through tsx. */
declare const TWIN_BUNDLED: boolean | undefined;
/** Defined by esbuild in the bundle: every version profile, read and checked from fixtures/ at build time. */
declare const TWIN_PROFILES: Record<string, Profile> | undefined;

/** Whether this code runs from the prebuilt bundle rather than from the TypeScript sources. */
export const BUNDLED = typeof TWIN_BUNDLED !== 'undefined' && TWIN_BUNDLED;

/** The bundle's version profiles (bin/twin.js runs the bundle only while the fixture files are unchanged). */
export const BUNDLED_PROFILES: Readonly<Record<string, Profile>> | undefined = typeof TWIN_PROFILES !== 'undefined' ? TWIN_PROFILES : undefined;

let typescriptLoader = false;

/**
 * The live stack stays outside the bundle: its workers and embedded servers start `.ts` entries through tsx, and
 * `twin up`/`run --mode live` take seconds anyway. From the bundle, tsx is registered once before the first of its
 * modules is imported; from the sources it already is.
 */
export async function beforeLiveImport(): Promise<void> {
  if (!BUNDLED || typescriptLoader) return;
  // Resolved from the project, not from the bundle's directory, which may be elsewhere (TWIN_DIST) with no
  // node_modules; its ES module, as its package's exports map names it for `import`.
  const pkg = createRequire(join(ROOT, 'package.json')).resolve('tsx/package.json');
  const api = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!.import.default;
  const { register } = (await import(pathToFileURL(join(dirname(pkg), api)).href)) as typeof import('tsx/esm/api');
  register();
  typescriptLoader = true;
}

/** The project's root (this module's source location: the bundle keeps it, bin/build.mjs). */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The path of the live bundle's module `name` (`dist/live/<name>.mjs`, bin/build.mjs) when the CLI runs from its bundle
 * and the live bundle is current, else undefined (then the sources run, through tsx).
 */
export function liveBundleModule(name: string): string | undefined {
  if (!BUNDLED) return undefined;
  // The CLI's bundle is dist/twin.mjs; the live bundle is built beside it, with a manifest of its own.
  const dir = join(import.meta.dirname, 'live');
  const stale = staleBundleReason(ROOT, dir);
  if (stale === undefined) return join(dir, `${name}.mjs`);
  if (process.env.TWIN_DEBUG === '1') process.stderr.write(`twin: ${name === 'live-stack' ? 'the live stack' : name} from its sources through tsx: ${stale}\n`);
  return undefined;
}

/**
 * The live bundle's module `name` when the CLI runs from its bundle and the live bundle is current, else
 * `fromSources()` (through tsx, registered first). From the live bundle, `twin up` boots without compiling a line:
 * its supervisor, stage workers and embedded servers all run prebuilt modules.
 */
export async function importLive<T>(name: 'live-stack', fromSources: () => Promise<T>): Promise<T> {
  const prebuilt = liveBundleModule(name);
  if (prebuilt !== undefined) return (await import(pathToFileURL(prebuilt).href)) as T;
  await beforeLiveImport();
  return fromSources();
}
