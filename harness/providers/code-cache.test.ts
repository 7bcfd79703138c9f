import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CODE_CACHE = fileURLToPath(new URL('./code-cache.ts', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'twin-code-cache-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A package under node_modules that requires a file of its own and resolves one, as drivers do. */
function makePackage(): string {
  const pkg = join(scratch, 'node_modules', 'fake-driver');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'helper.js'), 'exports.twice = (x) => 2 * x;\n');
  writeFileSync(join(pkg, 'index.js'), "const { twice } = require('./helper');\nmodule.exports = { answer: twice(21), resolved: require.resolve('./helper'), file: __filename, self: module.exports === exports };\n");
  return pkg;
}

/** Requires the package in a fresh process with the cache in `dir` installed; what it exported. */
function requireThrough(dir: string, pkg: string): Record<string, unknown> {
  const script = `import { installCodeCache } from ${JSON.stringify(CODE_CACHE)}; import { createRequire } from 'node:module';
installCodeCache(${JSON.stringify(dir)}); console.log(JSON.stringify(createRequire(${JSON.stringify(join(scratch, 'x.js'))})(${JSON.stringify(pkg)})));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, unknown>;
}

describe('installCodeCache', () => {
  it("keeps each required package file's compiled code, and the module runs the same from it", () => {
    const pkg = makePackage();
    const dir = join(scratch, 'cache');
    const expected = { answer: 42, resolved: join(pkg, 'helper.js'), file: join(pkg, 'index.js'), self: true };
    expect(requireThrough(dir, pkg)).toEqual(expected);
    expect(readdirSync(dir)).toHaveLength(2);
    const written = readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs);
    // From the cache: the same exports, and V8 took it (a refused one is rewritten).
    expect(requireThrough(dir, pkg)).toEqual(expected);
    expect(readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs)).toEqual(written);
  });

  it('compiles anew, and rewrites, a cache V8 refuses', () => {
    const pkg = makePackage();
    const dir = join(scratch, 'bad-cache');
    requireThrough(dir, pkg);
    for (const f of readdirSync(dir)) writeFileSync(join(dir, f), 'not V8 code');
    expect(requireThrough(dir, pkg)).toMatchObject({ answer: 42 });
    expect(readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8') === 'not V8 code')).toEqual([false, false]);
  });
});
