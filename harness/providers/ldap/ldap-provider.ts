import { drivers } from '../drivers.ts';
import { ProviderBuilder } from '../provider-builder.ts';
import { chooseBackend, type BackendDecision } from '../choose-backend.ts';
import type { BackendRunner } from '../runner.ts';
import { ProviderError, type BackendChoice } from '../types.ts';
import { Wait } from '../wait.ts';
import { findSlapd, localLdapAvailability, startLocalLdap, type SlapdBinary } from './local-ldap.ts';
import { LDAP_URL_EXAMPLE, isDn, parseLdapUrl, type LdapUrl } from './ldap-url.ts';
import type { LdapUser } from './seed-ldif.ts';
import { StartedLdap, ldapBind, type LdapAccount } from './started-ldap.ts';

/** The suffix of the private directory, CircleCI's example domain. */
export const DEFAULT_LDAP_BASE_DN = 'dc=circleci,dc=example';

/** The rootdn's password of a private slapd (it listens on 127.0.0.1 only, for this harness). */
export const DEFAULT_LDAP_ADMIN_PASSWORD = 'twin-ldap-admin';

/** The people a private directory holds unless `withUsers()` says otherwise: a developer and an admin. */
export const DEFAULT_LDAP_USERS: readonly LdapUser[] = [
  { uid: 'GERey', password: 'GERey-password', cn: 'Grace E. Rey', mail: 'gerey@circleci.example' },
  { uid: 'admin-user', password: 'admin-user-password', cn: 'Admin User', mail: 'admin-user@circleci.example' },
];

/** What a caller may set; defaults are applied once, in `settleLdapOptions`. */
export interface LdapProviderOptions {
  backend?: BackendChoice;
  url?: string;
  /** The directory holding slapd and slapadd. */
  binDir?: string;
  /** Refused: there is no container backend (kept so that `withImage()` fails loudly instead of doing nothing). */
  image?: string;
  startTimeoutMs?: number;
  baseDn?: string;
  admin?: LdapAccount;
  users?: readonly LdapUser[];
}

export interface SettledLdapOptions {
  readonly backend: BackendChoice;
  readonly url: string | undefined;
  /** The validated external URL, when one was given. */
  readonly external: LdapUrl | undefined;
  readonly binDir: string | undefined;
  readonly startTimeoutMs: number;
  readonly baseDn: string;
  /** The rootdn of a private slapd; for an external server, `withAdmin()`'s account or undefined (anonymous). */
  readonly admin: LdapAccount | undefined;
  readonly users: readonly LdapUser[];
}

/**
 * Settles the options: the URL is validated, the base DN comes from `withBaseDn()`, else the URL's path, else
 * `dc=circleci,dc=example`; a private server's admin is `cn=admin,<baseDn>`. Contradictions are errors, never
 * quietly resolved.
 */
export function settleLdapOptions(o: LdapProviderOptions): SettledLdapOptions {
  if (o.image !== undefined) throw new TypeError(`ldap: withImage('${o.image}') does not apply: LDAP has no container backend (see harness/providers/ldap/README.md)`);
  const external = o.url !== undefined ? parseLdapUrl(o.url) : undefined;
  if (o.baseDn !== undefined && !isDn(o.baseDn)) throw new TypeError(`ldap: base DN '${o.baseDn}' is not a DN; expected something like ${DEFAULT_LDAP_BASE_DN}`);
  if (o.baseDn !== undefined && external?.baseDn !== undefined && !sameDn(o.baseDn, external.baseDn)) {
    throw new ProviderError('BAD_URL', `ldap: URL '${external.redacted}' names base DN '${external.baseDn}', but withBaseDn() says '${o.baseDn}'`, 'give the base DN in one place only');
  }
  const baseDn = o.baseDn ?? external?.baseDn ?? DEFAULT_LDAP_BASE_DN;
  if (o.admin !== undefined && !isDn(o.admin.dn)) throw new TypeError(`ldap: admin DN '${o.admin.dn}' is not a DN; expected something like cn=admin,${baseDn}`);
  const users = o.users ?? DEFAULT_LDAP_USERS;
  const seen = new Set<string>();
  for (const u of users) {
    if (u.uid.trim() === '' || u.password === '') throw new TypeError(`ldap: every user needs a uid and a password (got uid '${u.uid}')`);
    if (seen.has(u.uid.toLowerCase())) throw new TypeError(`ldap: uid '${u.uid}' is given twice (uids are case-insensitive in LDAP)`);
    seen.add(u.uid.toLowerCase());
  }
  // Without a URL the server is private (external needs one, and there is no container backend).
  const privateServer = external === undefined;
  if (privateServer && !/^(dc|o|ou)=/i.test(baseDn)) {
    throw new TypeError(`ldap: base DN '${baseDn}' must start with dc=, o= or ou= for a private slapd to create its base entry (e.g. ${DEFAULT_LDAP_BASE_DN})`);
  }
  if (privateServer && o.admin !== undefined && !normDn(o.admin.dn).endsWith(`,${normDn(baseDn)}`)) {
    throw new TypeError(`ldap: admin DN '${o.admin.dn}' is not under the base DN '${baseDn}': a private slapd's rootdn lives in its suffix, e.g. cn=admin,${baseDn}`);
  }
  return {
    backend: o.backend ?? 'auto',
    url: o.url,
    external,
    binDir: o.binDir,
    startTimeoutMs: o.startTimeoutMs ?? 15_000,
    baseDn,
    admin: o.admin ?? (privateServer ? { dn: `cn=admin,${baseDn}`, password: DEFAULT_LDAP_ADMIN_PASSWORD } : undefined),
    users,
  };
}

/**
 * LDAP for the live stack (`auth: ldap`): a private `slapd` holding the users, or an external directory.
 * There is no testcontainers backend: slapd starts privately in well under a second wherever the Debian
 * package is, and a container image would need its users loaded through its own bootstrap scripts.
 *
 * ```ts
 * await using ldap = await new LdapProvider().withUsers([{ uid: 'GERey', password: 'pw' }]).start();
 * await ldap.authenticate('GERey', 'pw'); // true
 * ```
 */
export class LdapProvider extends ProviderBuilder<LdapProviderOptions, StartedLdap> {
  /** The directory holding slapd and slapadd, when they are not on PATH or in /usr/sbin. */
  withBinDir(binDir: string): this {
    return this.with({ binDir });
  }

  /** The suffix of the directory (default `dc=circleci,dc=example`). */
  withBaseDn(baseDn: string): this {
    return this.with({ baseDn });
  }

  /** The account services bind with: the rootdn of a private slapd, or an external directory's service account. */
  withAdmin(dn: string, password: string): this {
    return this.with({ admin: { dn, password } });
  }

  /** The people a private directory is seeded with (replacing the defaults); an external one is never written to. */
  withUsers(users: readonly LdapUser[]): this {
    return this.with({ users: [...users] });
  }

  async start(): Promise<StartedLdap> {
    const o = settleLdapOptions(this.opts);
    if (o.backend === 'testcontainers') {
      throw new ProviderError('UNAVAILABLE', 'ldap: backend testcontainers is not offered: the private slapd starts in well under a second', `choose withBackend('local') (Debian: apt-get install slapd ldap-utils) or an existing directory with withUrl('${LDAP_URL_EXAMPLE}')`);
    }
    let bin: SlapdBinary | undefined | null = null;
    const findBin = () => (bin === null ? (bin = findSlapd(o.binDir)) : bin);
    const decision = await chooseBackend({
      component: 'ldap',
      choice: o.backend,
      url: o.url,
      urlExample: LDAP_URL_EXAMPLE,
      local: () => localLdapAvailability(findBin()),
      localHint: 'install OpenLDAP (Debian: apt-get install slapd ldap-utils), or give the directory of slapd with withBinDir()',
      runtime: async () => ({ available: false, detail: 'no testcontainers backend for ldap' }),
    });
    const s = await startBackend(decision, o, findBin);
    return new StartedLdap({ name: 'ldap', backend: decision.kind, backendDetail: `${s.detail} (${decision.reason})`, url: s.serverUrl, host: s.host, port: s.port }, s.runner, {
      serverUrl: s.serverUrl,
      baseDn: o.baseDn,
      account: o.admin,
    });
  }
}

interface BackendStart {
  readonly runner: BackendRunner;
  readonly serverUrl: string;
  readonly host: string;
  readonly port: number;
  readonly detail: string;
}

async function startBackend(decision: BackendDecision, o: SettledLdapOptions, findBin: () => SlapdBinary | undefined): Promise<BackendStart> {
  switch (decision.kind) {
    case 'local': {
      const local = await startLocalLdap({ bin: findBin()!, startTimeoutMs: o.startTimeoutMs, baseDn: o.baseDn, admin: o.admin!, users: o.users });
      return { runner: local.runner, serverUrl: `ldap://127.0.0.1:${local.port}`, host: '127.0.0.1', port: local.port, detail: local.detail };
    }
    case 'external': {
      const e = o.external!;
      const account = o.admin;
      await Wait.forProbe(account ? `bind as ${account.dn}` : 'anonymous bind', () => ldapBind(e.serverUrl, account?.dn ?? '', account?.password ?? ''), (err) => err instanceof drivers.ldapts().InvalidCredentialsError).waitUntilReady({
        label: 'ldap',
        host: e.host,
        port: e.port,
        deadline: Date.now() + o.startTimeoutMs,
      });
      return { runner: { pid: undefined, dataDir: undefined, stop: async () => undefined }, serverUrl: e.serverUrl, host: e.host, port: e.port, detail: `external LDAP at ${e.redacted}, base DN ${o.baseDn}, ${account ? `bound as ${account.dn}` : 'anonymous binds'}` };
    }
    case 'testcontainers':
    case 'embedded':
      throw new TypeError(`ldap has no ${decision.kind} backend: chooseBackend never picks it`);
  }
}

function sameDn(a: string, b: string): boolean {
  return normDn(a) === normDn(b);
}

/** DNs compare case-insensitively and without spaces around separators (`DC=Example, DC=com` is `dc=example,dc=com`). */
function normDn(dn: string): string {
  return dn.toLowerCase().replace(/\s*([,=])\s*/g, '$1');
}
