import { parseServiceUrl } from '../service-url.ts';
import { ProviderError } from '../types.ts';

/** An external LDAP server, validated. */
export interface LdapUrl {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The base DN from the URL's path (RFC 4516: `ldap://host/dc=…`), if it has one. */
  readonly baseDn: string | undefined;
  /** `ldap://host:port` or `ldaps://host:port`: what the client connects to. */
  readonly serverUrl: string;
  readonly redacted: string;
  readonly raw: string;
}

export const LDAP_URL_EXAMPLE = 'ldap://ldap.internal:389/dc=circleci,dc=example';

/**
 * Parses `ldap://host[:389][/baseDN]` (or `ldaps://`, port 636), naming what is wrong. LDAP URLs carry no
 * credentials (RFC 4516), and a DN full of `,` and `=` would not survive as URL user info anyway: the bind DN
 * and password are given with `withAdmin(dn, password)`.
 */
export function parseLdapUrl(raw: string): LdapUrl {
  const u = parseServiceUrl(raw, { component: 'ldap', schemes: ['ldap', 'ldaps'], defaultPort: 389, example: LDAP_URL_EXAMPLE });
  const fail = (what: string, hint = `expected a URL like ${LDAP_URL_EXAMPLE}`): never => {
    throw new ProviderError('BAD_URL', `ldap: URL '${u.redacted}' ${what}`, hint);
  };
  if (u.username !== '' || u.password !== '') fail('has user info: LDAP URLs carry no credentials', "drop 'user:password@' and give the bind DN and password with withAdmin('cn=admin,dc=circleci,dc=example', password)");
  if (/[?#]/.test(raw.trim())) fail("has '?…' or '#…': attributes, scope and filter are not used here; give only the base DN as the path");
  if (u.path !== '' && !isDn(u.path)) fail(`has path '/${u.path}', which is not a DN like dc=circleci,dc=example`);
  const tls = u.scheme === 'ldaps';
  const explicitPort = /^[^:]+:\/\/(?:\[[^\]]*\]|[^:/?#]*):\d/.test(raw.trim());
  const port = tls && !explicitPort ? 636 : u.port;
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  return { host: u.host, port, tls, baseDn: u.path === '' ? undefined : u.path, serverUrl: `${u.scheme}://${host}:${port}`, redacted: u.redacted, raw: raw.trim() };
}

/**
 * Whether `text` reads as a DN: `attr=value` pairs joined by commas, escapes allowed (`uid=a\,b`). A light check
 * that catches typos (a missing `=`, a stray quote) before anything starts; the server has the final word.
 */
export function isDn(text: string): boolean {
  const rdn = String.raw`[A-Za-z][A-Za-z0-9-]*\s*=\s*(?:[^,=\\"\n]|\\.)+`;
  return new RegExp(String.raw`^${rdn}(?:\s*,\s*${rdn})*$`).test(text.trim());
}
