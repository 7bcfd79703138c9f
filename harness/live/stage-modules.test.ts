import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every module and package `entry` loads at once (static imports only, as the live bundle's chunks load them). */
async function staticClosure(entry: string): Promise<Set<string>> {
  const r = await build({ entryPoints: [join(ROOT, entry)], absWorkingDir: ROOT, bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, metafile: true, outdir: join(ROOT, 'dist', '.closure'), logLevel: 'silent' });
  const { inputs } = r.metafile;
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    for (const i of inputs[queue.shift()!]?.imports ?? []) {
      if (i.kind === 'dynamic-import' || seen.has(i.path)) continue;
      seen.add(i.path);
      queue.push(i.path);
    }
  }
  return seen;
}

describe("the pipeline stages' modules", () => {
  // Each stage's thread loads its modules at `twin up`'s start: the fixtures' reader (YAML parser, zod schemas) was
  // 0.1 CPU-s of each of four stage threads (and about as much of V8's background threads) before the object layout
  // took its profile from the bundle. picard-dispatcher parses build configs: it is not listed.
  it.each(['frontend', 'output-processor', 'schedulerer', 'workflows-conductor', 'audit-log-service', 'contexts', 'vm-service'])(
    '%s loads neither the YAML parser nor zod nor the fixtures reader',
    async (stage) => {
      const closure = await staticClosure(`harness/live/pipeline/${stage}.ts`);
      expect([...closure].filter((m) => m === 'yaml' || m === 'zod' || m === 'fixtures/load.ts')).toEqual([]);
    },
  );

  // What `twin up`'s supervisor loads before anything starts (live-stack.ts loads the fixtures' reader only for a
  // version the bundle does not carry, or with a scenario): 0.35 CPU-s with the pipeline's index and the scenario
  // reader, 0.14 without.
  it.each(['harness/live/backends.ts', 'harness/live/stack.ts'])('%s (the supervisor) loads no stage module, YAML parser, zod or fixtures reader', async (entry) => {
    const closure = await staticClosure(entry);
    expect([...closure].filter((m) => m === 'yaml' || m === 'zod' || m === 'fixtures/load.ts' || /^harness\/live\/pipeline\/(frontend|picard-dispatcher|output-processor|schedulerer)\.ts$/.test(m))).toEqual([]);
  });
});
