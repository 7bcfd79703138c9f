import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { loadProfile } from '../../fixtures/load.ts';
import { containerNames, findContainer } from '../../fixtures/lookup.ts';
import type { Profile } from '../../fixtures/schema.ts';
import { parseScenario, ScenarioError, type ScenarioContext } from '../../sim/scenario/parse.ts';
import { LIMITS, overLimitMessage, truncateEcho, type Limit } from '../../sim/scenario/limits.ts';
import type { SettledResourceClass, SettledScenario } from '../../sim/scenario/settled.ts';
import { faultSupport } from '../../sim/faults/injector.ts';
import { profileResourceClasses } from './profile-classes.ts';

export { profileResourceClasses };

/** A scenario context backed by the fixtures on disk. */
export function fixtureContext(readFile?: (path: string) => string, command?: 'run' | 'dr' | 'tune'): ScenarioContext {
  const profile = (v: string) => loadProfile(v);
  return {
    resolveContainer: (v, name) => findContainer(profile(v), name)?.name,
    containerNames: (v) => containerNames(profile(v)),
    resourceClasses: (v) => profileResourceClasses(profile(v)),
    defaultResourceClass: (v) => profile(v).resource_classes.default.name,
    faultSupport,
    ...(command ? { command } : {}),
    ...(readFile ? { readFile } : {}),
  };
}

/** A file the scenario loader will not read: why, and what to do instead. Never carries the file's contents. */
export class InputFileError extends Error {
  readonly code = 'INPUT_FILE';
  override readonly name = 'InputFileError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a regular file of at most `limit.value` bytes as UTF-8: reads at most one byte more, so a huge or
 * endless file (`/dev/zero`) costs nothing, and opens without blocking so a FIFO is refused, not waited on.
 */
export function readBoundedFile(path: string, limit: Limit): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputFileError('no such file', 'check the path');
    if (code === 'EACCES') throw new InputFileError('permission denied', 'make the file readable');
    throw new InputFileError(`cannot open (${code ?? 'error'})`, 'check the path');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputFileError(`is ${kindOf(st)}, not a regular file`, 'name a file');
    if (st.size > limit.value) throw new InputFileError(overLimitMessage(limit, `the file (${st.size} bytes)`), limit.hint);
    // The size may change while reading, or be 0 for a file of /proc: read until the end, never past the limit plus one byte.
    const buf = Buffer.allocUnsafe(limit.value + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > limit.value) throw new InputFileError(overLimitMessage(limit, `the file (more than ${limit.value} bytes)`), limit.hint);
    }
    return buf.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a trace named by a scenario: relative to the scenario's directory and inside its tree (a scenario must
 * not read any file of the machine, e.g. `../../etc/shadow`, or echo it in an error), regular, and bounded.
 */
export function readTraceBeside(scenarioFile: string, relativePath: string): string {
  const base = dirname(resolve(scenarioFile));
  const target = resolve(base, relativePath);
  const escapes = (from: string, to: string): boolean => {
    const rel = relative(from, to);
    return rel === '..' || rel.startsWith('../') || isAbsolute(rel);
  };
  const hint = 'put the trace beside the scenario file (or in a folder below it) and name it relative to the scenario';
  if (escapes(base, target)) throw new InputFileError('the path leads outside the scenario file\'s folder', hint);
  let real: string;
  try {
    real = realpathSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InputFileError('no such file', 'the path is relative to the scenario file');
    throw new InputFileError(`cannot resolve (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'the path is relative to the scenario file');
  }
  if (escapes(realpathSync(base), real)) throw new InputFileError('the path is a link to a file outside the scenario file\'s folder', hint);
  return readBoundedFile(real, LIMITS.traceFileBytes);
}

/** Reads, validates and settles a scenario file; `seed` overrides the file's seed. Throws ScenarioError. */
export function loadScenarioFile(file: string, overrides: { seed?: number | undefined; mode?: 'sim' | 'live' | undefined; command?: 'run' | 'dr' | 'tune' } = {}): SettledScenario {
  let text: string;
  try {
    text = readBoundedFile(file, LIMITS.scenarioFileBytes);
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    throw new ScenarioError([{ file: truncateEcho(file), line: 1, column: 1, field: '', message: e.message, hint: e.message === 'no such file' ? 'check the path (relative to the current directory)' : e.hint }]);
  }
  const settled = parseScenario(text, file, fixtureContext((p) => readTraceBeside(file, p), overrides.command));
  if (overrides.seed !== undefined) settled.seed = overrides.seed;
  if (overrides.mode !== undefined) settled.mode = overrides.mode;
  return settled;
}
