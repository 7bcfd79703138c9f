import type { Client, ClientOptions } from 'ldapts';
import { drivers } from '../drivers.ts';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';
import { PEOPLE_OU, userDnOf } from './seed-ldif.ts';

/** The DN and password a service binds with (federation-service's "bind DN"); undefined means an anonymous bind. */
export interface LdapAccount {
  readonly dn: string;
  readonly password: string;
}

/** How long one LDAP operation may take: a stopped (SIGSTOP) server must fail a bind, not hang it. */
const OPERATION_TIMEOUT_MS = 2_000;

/** A running LDAP server (private `slapd` or external), and the bind and login checks federation-service makes. */
export class StartedLdap extends StartedBase {
  readonly #serverUrl: string;
  readonly #baseDn: string;
  readonly #account: LdapAccount | undefined;
  readonly #clients = new Set<Client>();

  /** Built by `LdapProvider.start()`. */
  constructor(endpoint: Endpoint, runner: BackendRunner, o: { serverUrl: string; baseDn: string; account: LdapAccount | undefined }) {
    super(endpoint, runner);
    this.#serverUrl = o.serverUrl;
    this.#baseDn = o.baseDn;
    this.#account = o.account;
  }

  /** The suffix the users live under (`dc=circleci,dc=example`). */
  get baseDn(): string {
    return this.#baseDn;
  }
  /** The account services bind with: the rootdn of a private slapd, `withAdmin()`'s for an external one. */
  get bindAccount(): LdapAccount | undefined {
    return this.#account;
  }

  /** Where a user's entry is: `uid=<uid>,ou=people,<baseDn>` (the layout of the seeded directory). */
  userDn(uid: string): string {
    return userDnOf(this.#baseDn, uid);
  }

  /**
   * A simple bind on a fresh connection. Resolves if the server accepted the credentials; rejects with ldapts'
   * `InvalidCredentialsError` if it did not, and with a connection error if no server answers.
   */
  async bind(dn: string, password: string): Promise<void> {
    await ldapBind(this.#serverUrl, dn, password);
  }

  /**
   * A login as federation-service makes it: bind with the service account, search `ou=people` for `(uid=…)`,
   * then bind as the entry found. False for an unknown user, a wrong or an empty password (an empty password
   * would be an unauthenticated bind, which LDAP servers accept); rejects if the server does not answer.
   */
  async authenticate(uid: string, password: string): Promise<boolean> {
    if (password === '') return false;
    const dn = await this.#findUser(uid);
    if (dn === undefined) return false;
    try {
      await ldapBind(this.#serverUrl, dn, password);
      return true;
    } catch (err) {
      if (err instanceof drivers.ldapts().InvalidCredentialsError) return false;
      throw err;
    }
  }

  /** An ldapts client on this server (not yet bound), closed by `stop()` if still open. */
  client(options: Partial<ClientOptions> = {}): Client {
    const client = newClient(this.#serverUrl, options);
    this.#clients.add(client);
    return client;
  }

  protected override async closeClients(): Promise<void> {
    await Promise.all([...this.#clients].map((c) => c.unbind().catch(() => undefined)));
    this.#clients.clear();
  }

  async #findUser(uid: string): Promise<string | undefined> {
    const client = newClient(this.#serverUrl);
    try {
      if (this.#account) await client.bind(this.#account.dn, this.#account.password);
      const { searchEntries } = await client.search(`ou=${PEOPLE_OU},${this.#baseDn}`, { scope: 'sub', filter: new (drivers.ldapts().EqualityFilter)({ attribute: 'uid', value: uid }), attributes: ['1.1'], sizeLimit: 2 });
      // Two entries with one uid would make the login ambiguous: refuse it, as a directory-backed login must.
      return searchEntries.length === 1 ? searchEntries[0]!.dn : undefined;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

/** One simple bind on a fresh connection, then unbind: the readiness probe, `bind()` and the login's second step. */
export async function ldapBind(serverUrl: string, dn: string, password: string): Promise<void> {
  const client = newClient(serverUrl);
  try {
    await client.bind(dn, password);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function newClient(serverUrl: string, options: Partial<ClientOptions> = {}): Client {
  return new (drivers.ldapts().Client)({ url: serverUrl, timeout: OPERATION_TIMEOUT_MS, connectTimeout: OPERATION_TIMEOUT_MS, ...options });
}
