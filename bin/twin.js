#!/usr/bin/env node
// `npx twin` entry. Runs the prebuilt bundle (dist/twin.mjs, built by `npm install` or `npm run build`) when every
// file it was built from is unchanged (size and modification time, listed in dist/manifest.json); otherwise, or
// with TWIN_NO_BUNDLE=1, registers tsx's loader and runs the TypeScript sources as they are. Stale code never runs.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { staleBundleReason } from './bundle-check.mjs';

// The AWS SDK warns on every thread that its releases after January 2027 will need Node 22. The twin pins its SDK
// (package-lock.json) and runs on Node 20, so the warning speaks of versions the twin does not use: it is off unless
// the user set the SDK's own variable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = process.env.TWIN_DIST ? resolve(process.env.TWIN_DIST) : join(root, 'dist');
const stale = process.env.TWIN_NO_BUNDLE === '1' ? 'TWIN_NO_BUNDLE=1' : staleBundleReason(root, dist);

if (process.env.TWIN_DEBUG === '1') {
  process.setSourceMapsEnabled(true);
  process.stderr.write(`twin: ${stale === undefined ? `running the bundle ${join(dist, 'twin.mjs')}` : `running the sources through tsx: ${stale}`}\n`);
} else if (stale !== undefined && process.stderr.isTTY && existsSync(join(dist, 'manifest.json'))) {
  // Someone who built the bundle and then edited or pulled sources: say why start-up is slow again, on a terminal only.
  process.stderr.write(`twin: ${stale}; running the sources through tsx (npm run build makes start-up fast again)\n`);
}
if (stale === undefined) {
  await import(pathToFileURL(join(dist, 'twin.mjs')).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./twin.ts');
}
