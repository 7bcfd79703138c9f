import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** Defined by esbuild in the live bundle (see prebuilt-entry.ts); undeclared when the sources run. */
declare const TWIN_LIVE_ENTRIES: Readonly<Record<string, string>> | undefined;

/** Where the compiled packages are kept: node_modules/.cache, as other tools keep theirs. */
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/twin-code-cache/', import.meta.url));

type Compile = (this: Module, content: string, filename: string) => unknown;
interface ModuleInternals {
  prototype: { _compile: Compile; require(id: string): unknown };
  wrap(script: string): string;
  _resolveFilename(request: string, parent: Module, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: Module): string[] | null;
  _extensions: unknown;
  _cache: unknown;
}

let enabled = false;

/**
 * Keeps V8's compiled code of the packages a thread requires (CommonJS files under node_modules: the MongoDB driver,
 * the AWS SDK, pg, ioredis, amqplib), one file each, and compiles from it on the next start, the way Node 22's
 * `module.enableCompileCache()` does (Node 20 has none). `twin up` loads the same packages in each of its stage
 * threads and its supervisor on every start. Only from the live bundle (the sources run through tsx, whose own
 * loader compiles them), and never with TWIN_CODE_CACHE=0. A file V8 refuses (another Node) is compiled anew and
 * its cache rewritten; a cache that cannot be read or written is compiled without.
 */
export function enableCodeCache(): void {
  if (typeof TWIN_LIVE_ENTRIES !== 'undefined' && process.env.TWIN_CODE_CACHE !== '0') installCodeCache(CACHE_DIR);
}

/** Compiles the CommonJS files under node_modules this process's thread requires from then on through `dir` (once per thread). */
export function installCodeCache(dir: string): void {
  if (enabled) return;
  enabled = true;
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    return;
  }
  const M = Module as unknown as ModuleInternals;
  const compile = M.prototype._compile;
  M.prototype._compile = function (this: Module, content: string, filename: string) {
    if (!filename.includes('/node_modules/') || !filename.endsWith('.js')) return compile.call(this, content, filename);
    // Keyed by the file and its text: V8 itself checks only the text's length, its own version and its flags.
    const file = join(dir, createHash('sha1').update(filename).update('\0').update(content).digest('hex'));
    let cached: Buffer | undefined;
    try {
      cached = readFileSync(file);
    } catch {
      cached = undefined;
    }
    let script: vm.Script;
    try {
      script = new vm.Script(M.wrap(content), { filename, cachedData: cached, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
    } catch {
      // Whatever V8 rejects here, Node's own compile reports as it would have.
      return compile.call(this, content, filename);
    }
    const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const result = fn.call(this.exports, this.exports, requireOf(M, this), this, filename, dirname(filename));
    if (cached === undefined || script.cachedDataRejected === true) {
      try {
        // After it ran: the functions its loading compiled are in the cache too. Written whole, then renamed in.
        const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, file);
      } catch {
        // A read-only or full disk: the next start compiles again.
      }
    }
    return result;
  };
}

/** The `require` a module's code is given, as Node makes it. */
function requireOf(M: ModuleInternals, mod: Module): NodeJS.Require {
  const req = ((id: string) => M.prototype.require.call(mod, id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => M._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => M._resolveLookupPaths(request, mod);
  req.resolve = resolve;
  req.main = process.mainModule;
  req.extensions = M._extensions as NodeJS.Require['extensions'];
  req.cache = M._cache as NodeJS.Require['cache'];
  return req;
}
