import type { Profile } from '../../fixtures/schema.ts';

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
  const { register } = await import('tsx/esm/api');
  register();
  typescriptLoader = true;
}
