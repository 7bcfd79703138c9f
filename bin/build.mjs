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
 * The live stack's entry modules, imported dynamically by the CLI and left out of the CLI's bundle (they load the
 * drivers, the SDKs and the providers, which the simulation's commands never need). From the CLI's bundle they
 * resolve to their sources, imported through tsx when the live bundle below is stale (or, for the others, always).
 * The distributed queue's (`twin worker`, `--workers`) likewise: BullMQ and ioredis stay out of the simulation's bundle.
 */
const LIVE_ENTRIES = ['harness/cli/commands/live-stack.ts', 'harness/live/replay/run-live.ts', 'harness/live/backends.ts', 'harness/cli/commands/worker.ts', 'harness/distributed/connection.ts', 'harness/distributed/explore-tasks.ts', 'harness/distributed/submit.ts', 'harness/dr/live-rehearsal.ts', 'harness/dr/tarball-rehearsal.ts', 'harness/dr/live-interactive.ts', 'harness/train/real-nomad-cli.ts', 'harness/train/live-drill.ts'];

/**
 * The live bundle (`dist/live/`): `twin up`'s supervisor (live-stack) and what it starts in other threads and
 * processes (the pipeline stages' worker, the health-only services' thread, the embedded servers' child processes, s3rver's thread), `twin tune`'s worker threads and `twin worker`'s task threads, prebuilt so that none of them pays
 * for tsx compiling the sources at start-up. One build with shared chunks, so a module the supervisor and a stage both
 * use is parsed from one file. Output name => source.
 */
export const LIVE_BUNDLE_ENTRIES = {
  'live-stack': 'harness/cli/commands/live-stack.ts',
  supervisor: 'harness/cli/commands/supervisor-main.ts',
  'stage-worker': 'harness/live/stage-worker.ts',
  'service-worker': 'harness/live/service-worker.mjs',
  'embedded-redis-main': 'harness/providers/redis/embedded/embedded-redis-main.ts',
  'embedded-rabbitmq-main': 'harness/providers/rabbitmq/embedded/embedded-rabbitmq-main.ts',
  'embedded-mongo-main': 'harness/providers/mongo/embedded/embedded-mongo-main.ts',
  's3rver-worker': 'harness/providers/s3/s3rver-worker.ts',
  'tune-worker': 'harness/tune/tune-worker.ts',
  'task-thread-main': 'harness/distributed/task-thread-main.ts',
};


/** A path as an import specifier from `from`'s directory: forward slashes, always starting with `.`. */
function specifier(fromDir, to) {
  const rel = relative(fromDir, to).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/**
 * Keeps each module's `import.meta.url` pointing at its source file, so files found beside the sources still are;
 * in the CLI's bundle (`liveExternal`), the live stack's entries stay outside it.
 */
function sourceLocations(outdir, liveExternal) {
  return {
    name: 'twin-source-locations',
    setup(b) {
      b.onResolve({ filter: /\.ts$/ }, (args) => {
        if (!liveExternal) return undefined;
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
    await build({ ...COMMON, entryPoints: [join(ROOT, 'fixtures', 'load.ts')], outfile: scratch, plugins: [sourceLocations(outdir, true)] });
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

/** The manifest of a build: the size and modification time of every file it read, and package.json. */
function manifestOf(metafile, extra = []) {
  const inputs = {};
  for (const file of [...new Set([...Object.keys(metafile.inputs).filter((f) => !f.startsWith('<')), ...extra, 'package.json'])].sort()) {
    const s = statSync(join(ROOT, file));
    inputs[file] = [s.mtimeMs, s.size];
  }
  return inputs;
}

/**
 * Builds the live bundle into `<outdir>/live` (built in a sibling directory, then swapped in: never half-written),
 * with its own manifest: an edited live-stack source makes only it stale, and `twin --help` keeps its bundle.
 */
async function buildLiveBundle(outdir, { profiles, files }) {
  const dir = join(outdir, 'live');
  const tmp = join(outdir, `.live-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    const result = await build({
      ...COMMON,
      entryPoints: Object.fromEntries(Object.entries(LIVE_BUNDLE_ENTRIES).map(([name, src]) => [name, join(ROOT, src)])),
      outdir: tmp,
      splitting: true,
      // Every chunk beside the entries: each module's rewritten import.meta.url is relative to this one directory.
      chunkNames: '[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      // Every package stays Node's to load, exactly as from the sources (CommonJS interop included): the bundle is
      // the twin's own code, compiled once.
      packages: 'external',
      define: { TWIN_PROFILES: JSON.stringify(profiles), TWIN_LIVE_ENTRIES: JSON.stringify(Object.fromEntries(Object.entries(LIVE_BUNDLE_ENTRIES).map(([name, src]) => [src, `${name}.mjs`]))) },
      plugins: [sourceLocations(dir, false)],
    });
    writeFileSync(join(tmp, 'manifest.json'), `${JSON.stringify({ inputs: manifestOf(result.metafile, files) }, null, 1)}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Builds the bundles and their manifests into `outdir` (written beside, then renamed: never half-written). */
export async function buildBundle(outdir = join(ROOT, 'dist')) {
  const t0 = performance.now();
  outdir = resolve(outdir);
  mkdirSync(outdir, { recursive: true });
  const tmp = join(outdir, `.twin-${process.pid}.mjs`);
  try {
    const fixtures = await versionProfiles(outdir);
    const { profiles, files } = fixtures;
    const result = await build({
      ...COMMON,
      entryPoints: [join(ROOT, 'bin', 'twin.ts')],
      outfile: tmp,
      external: ['tsx', 'tsx/*'],
      define: { TWIN_BUNDLED: 'true', TWIN_PROFILES: JSON.stringify(profiles) },
      plugins: [sourceLocations(outdir, true)],
    });
    const inputs = manifestOf(result.metafile, files);
    renameSync(tmp, join(outdir, 'twin.mjs'));
    writeFileSync(join(outdir, 'manifest.json'), `${JSON.stringify({ inputs }, null, 1)}\n`);
    const liveBytes = await buildLiveBundle(outdir, fixtures);
    return { outdir, inputs: Object.keys(inputs).length, bytes: statSync(join(outdir, 'twin.mjs')).size, liveBytes, ms: Math.round(performance.now() - t0) };
  } finally {
    rmSync(tmp, { force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--outdir');
  const r = await buildBundle(i > 0 ? process.argv[i + 1] : undefined);
  process.stdout.write(`twin: built ${specifier(process.cwd(), join(r.outdir, 'twin.mjs'))} (${Math.round(r.bytes / 1024)} KiB from ${r.inputs} files) and ${specifier(process.cwd(), join(r.outdir, 'live'))}/ (${Math.round(r.liveBytes / 1024)} KiB) in ${r.ms} ms\n`);
}
