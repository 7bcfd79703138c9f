import { parseServiceUrl } from '../service-url.ts';
import { ProviderError } from '../types.ts';

/** An external PostgreSQL, validated. */
export interface PostgresUrl {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The database the URL names (default `postgres`): where the requested databases are created from. */
  readonly database: string;
  /** The URL with the password hidden. */
  readonly redacted: string;
  /** The URL as given (trimmed), for the pg client. */
  readonly raw: string;
}

export const POSTGRES_URL_EXAMPLE = 'postgres://circle:secret@db.internal:5432/postgres';

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** Parses `postgres://user:password@host:port/database?sslmode=…`, naming what is wrong in a BAD_URL error. */
export function parsePostgresUrl(raw: string): PostgresUrl {
  const u = parseServiceUrl(raw, { component: 'postgres', schemes: ['postgres', 'postgresql'], defaultPort: 5432, example: POSTGRES_URL_EXAMPLE });
  const bad = (what: string): never => {
    throw new ProviderError('BAD_URL', `postgres: URL '${u.redacted}' ${what}`, `expected a URL like ${POSTGRES_URL_EXAMPLE}`);
  };
  if (u.path.includes('/')) bad(`has path '/${u.path}': expected at most one database name`);
  const sslmode = u.params.get('sslmode');
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) bad(`has sslmode '${sslmode}', expected one of ${SSL_MODES.join(', ')}`);
  return {
    host: u.host,
    port: u.port,
    user: u.username === '' ? 'postgres' : u.username,
    password: u.password,
    database: u.path === '' ? 'postgres' : u.path,
    redacted: u.redacted,
    raw: raw.trim(),
  };
}
