#!/usr/bin/env node
// Builds dist/twin.mjs, the CLI as one prebuilt ES module, and dist/manifest.json, the size and modification time of
// every file bundled into it. bin/twin.js runs the bundle only while every one of those files is unchanged, and the
// TypeScript sources through tsx otherwise, so stale code never runs. Runs from the `prepare` script (npm install,
// npm ci) and as `npm run build`; `node bin/build.mjs --outdir DIR` builds elsewhere (the tests do).
import { readdirSync, readFileSync, statSync, mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The live stack's entry modules, imported dynamically by the CLI and left out of the bundle: their workers and
 * embedded servers start `.ts` entries through tsx, and the CLI registers tsx before importing them. The
 * distributed queue's (`twin worker`, `--workers`) likewise: BullMQ and ioredis stay out of the simulation's bundle.
 */
const LIVE_ENTRIES = ['harness/cli/commands/live-stack.ts', 'harness/live/replay/run-live.ts', 'harness/live/backends.ts', 'harness/cli/commands/worker.ts', 'harness/distributed/connection.ts', 'harness/distributed/explore-tasks.ts', 'harness/distributed/submit.ts', 'harness/dr/live-rehearsal.ts'];

/** A path as an import specifier from `from`'s directory: forward slashes, always starting with `.`. */
function specifier(fromDir, to) {
  const rel = relative(fromDir, to).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** Keeps each module's `import.meta.url` pointing at its source file, so files found beside the sources still are. */
function sourceLocations(outdir) {
  return {
    name: 'twin-source-locations',
    setup(b) {
      b.onResolve({ filter: /\.ts$/ }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const abs = resolve(args.resolveDir, args.path);
        if (!LIVE_ENTRIES.some((entry) => abs === join(ROOT, entry))) return undefined;
        return { path: specifier(outdir, abs), external: true };
      });
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const here = `new URL(${JSON.stringify(specifier(outdir, args.path))}, import.meta.url).href`;
        return { contents: text.replaceAll('import.meta.url', here), loader: 'ts' };
      });
    },
  };
}

const COMMON = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
  // Bundled CommonJS packages call require() for Node's built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __twinRequire } from 'node:module'; const require = __twinRequire(import.meta.url);" },
};

/**
 * Every version profile, read and checked by fixtures/load.ts itself (bundled into a scratch module and run), and
 * the files it read: they join the manifest, so a changed fixture makes the bundle stale.
 */
async function versionProfiles(outdir) {
  const scratch = join(outdir, `.profiles-${process.pid}.mjs`);
  try {
    await build({ ...COMMON, entryPoints: [join(ROOT, 'fixtures', 'load.ts')], outfile: scratch, plugins: [sourceLocations(outdir)] });
    const { listProfiles, loadProfile } = await import(pathToFileURL(scratch).href);
    const profiles = {};
    const files = ['fixtures'];
    for (const version of listProfiles()) {
      profiles[version] = loadProfile(version);
      files.push(`fixtures/${version}`, ...readdirSync(join(ROOT, 'fixtures', version)).map((f) => `fixtures/${version}/${f}`));
    }
    return { profiles, files };
  } finally {
    rmSync(scratch, { force: true });
  }
}

/** Builds the bundle and its manifest into `outdir` (written beside, then renamed: never half-written). */
export async function buildBundle(outdir = join(ROOT, 'dist')) {
  const t0 = performance.now();
  outdir = resolve(outdir);
  mkdirSync(outdir, { recursive: true });
  const tmp = join(outdir, `.twin-${process.pid}.mjs`);
  try {
    const { profiles, files } = await versionProfiles(outdir);
    const result = await build({
      ...COMMON,
      entryPoints: [join(ROOT, 'bin', 'twin.ts')],
      outfile: tmp,
      external: ['tsx', 'tsx/*'],
      define: { TWIN_BUNDLED: 'true', TWIN_PROFILES: JSON.stringify(profiles) },
      plugins: [sourceLocations(outdir)],
    });
    const inputs = {};
    for (const file of [...new Set([...Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('<')), ...files, 'package.json'])].sort()) {
      const s = statSync(join(ROOT, file));
      inputs[file] = [s.mtimeMs, s.size];
    }
    renameSync(tmp, join(outdir, 'twin.mjs'));
    writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify({ inputs }, null, 1)}\n`);
    return { outdir, inputs: Object.keys(inputs).length, bytes: statSync(join(outdir, 'twin.mjs')).size, ms: Math.round(performance.now() - t0) };
  } finally {
    rmSync(tmp, { force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--outdir');
  const r = await buildBundle(i > 0 ? process.argv[i + 1] : undefined);
  process.stdout.write(`twin: built ${specifier(process.cwd(), join(r.outdir, 'twin.mjs'))} (${Math.round(r.bytes / 1024)} KiB from ${r.inputs} files) in ${r.ms} ms\n`);
}
