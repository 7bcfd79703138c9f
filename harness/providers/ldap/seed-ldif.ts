import { createHash, randomBytes } from 'node:crypto';

/** A person in the directory, as `withUsers()` takes it. */
export interface LdapUser {
  readonly uid: string;
  readonly password: string;
  /** Full name; defaults to the uid. */
  readonly cn?: string;
  readonly mail?: string;
}

/** Where people live under the base DN (federation-service searches there for `(uid=…)`). */
export const PEOPLE_OU = 'people';

/** One directory entry: its DN and its attributes, each with one or more values. */
export interface LdapEntry {
  readonly dn: string;
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/** The DN of a person: `uid=<uid>,ou=people,<baseDn>`, with the uid escaped as RFC 4514 requires. */
export function userDnOf(baseDn: string, uid: string): string {
  return `uid=${escapeDnValue(uid)},ou=${PEOPLE_OU},${baseDn}`;
}

/**
 * The entries a fresh directory is seeded with: the base entry, `ou=people`, and one `inetOrgPerson` per user
 * with an `{SSHA}` password (never the clear text: the LDIF stays in the temp dir, and slapd verifies SSHA).
 */
export function seedEntries(baseDn: string, users: readonly LdapUser[]): LdapEntry[] {
  const entries: LdapEntry[] = [baseEntry(baseDn), { dn: `ou=${PEOPLE_OU},${baseDn}`, attributes: { objectClass: ['organizationalUnit'], ou: [PEOPLE_OU] } }];
  for (const u of users) {
    const cn = u.cn ?? u.uid;
    entries.push({
      dn: userDnOf(baseDn, u.uid),
      attributes: {
        objectClass: ['inetOrgPerson'],
        uid: [u.uid],
        cn: [cn],
        // inetOrgPerson requires a surname: the last word of the full name is close enough for a twin.
        sn: [cn.trim().split(/\s+/).pop() || u.uid],
        ...(u.mail !== undefined ? { mail: [u.mail] } : {}),
        userPassword: [sshaPassword(u.password)],
      },
    });
  }
  return entries;
}

/** The entries as LDIF (RFC 2849) for `slapadd -l`: values that are not safe as plain text are base64 (`attr:: …`). */
export function toLdif(entries: readonly LdapEntry[]): string {
  return entries.map((e) => [ldifLine('dn', e.dn), ...Object.entries(e.attributes).flatMap(([a, vs]) => vs.map((v) => ldifLine(a, v)))].join('\n')).join('\n\n') + '\n';
}

/** `{SSHA}` of a password (salted SHA-1, what `slappasswd` makes by default): base64(sha1(password + salt) + salt). */
export function sshaPassword(password: string, salt: Buffer = randomBytes(8)): string {
  const digest = createHash('sha1').update(Buffer.from(password, 'utf8')).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** Escapes an attribute value for use in a DN (RFC 4514 section 2.4). */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/\0/g, '\\00')
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ');
}

/** The base entry for the suffix's first RDN: `dc=` (dcObject + organization), `o=` or `ou=`. */
function baseEntry(baseDn: string): LdapEntry {
  const m = /^(dc|o|ou)=([^,]+)/i.exec(baseDn);
  if (!m) throw new TypeError(`ldap: base DN '${baseDn}' must start with dc=, o= or ou= (e.g. dc=circleci,dc=example)`);
  const [, attr, value] = m as unknown as [string, string, string];
  switch (attr.toLowerCase()) {
    case 'dc':
      return { dn: baseDn, attributes: { objectClass: ['dcObject', 'organization'], dc: [value], o: [value] } };
    case 'o':
      return { dn: baseDn, attributes: { objectClass: ['organization'], o: [value] } };
    default:
      return { dn: baseDn, attributes: { objectClass: ['organizationalUnit'], ou: [value] } };
  }
}

function ldifLine(attr: string, value: string): string {
  // RFC 2849 SAFE-STRING: printable ASCII, not starting with space, ':' or '<', not ending with a space.
  const safe = /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(' ');
  return value === '' ? `${attr}:` : safe ? `${attr}: ${value}` : `${attr}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}
