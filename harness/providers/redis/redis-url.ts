import { parseServiceUrl } from '../service-url.ts';
import { ProviderError } from '../types.ts';

/** An external Redis, validated. */
export interface RedisUrl {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly db: number;
  readonly tls: boolean;
  readonly redacted: string;
  readonly raw: string;
}

export const REDIS_URL_EXAMPLE = 'redis://:secret@cache.internal:6379/0';

/** Parses `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS), naming what is wrong. */
export function parseRedisUrl(raw: string): RedisUrl {
  const u = parseServiceUrl(raw, { component: 'redis', schemes: ['redis', 'rediss'], defaultPort: 6379, example: REDIS_URL_EXAMPLE });
  if (u.path !== '' && !/^\d{1,2}$/.test(u.path)) {
    throw new ProviderError('BAD_URL', `redis: URL '${u.redacted}' has path '/${u.path}': expected a database number like /0`, `expected a URL like ${REDIS_URL_EXAMPLE}`);
  }
  return { host: u.host, port: u.port, username: u.username, password: u.password, db: u.path === '' ? 0 : Number(u.path), tls: u.scheme === 'rediss', redacted: u.redacted, raw: raw.trim() };
}
