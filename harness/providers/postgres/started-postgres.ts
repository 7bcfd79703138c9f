import type pg from 'pg';
import { drivers } from '../drivers.ts';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';

/** A migration: SQL run once per database, in order. A bare string is identified by its position (`0001`, …). */
export type Migration = string | { readonly id: string; readonly sql: string };

/** What `runMigrations` did. */
export interface MigrationResult {
  readonly applied: readonly string[];
  /** Already recorded as applied by an earlier run (a migrator restarted, a restored data dir). */
  readonly skipped: readonly string[];
}

/** The table where applied migration ids are recorded, per database. */
export const MIGRATIONS_TABLE = 'twin_schema_migrations';

/** A running PostgreSQL (private cluster, container or external server) with the requested databases created. */
export class StartedPostgres extends StartedBase {
  readonly #maintenanceDb: string;
  readonly #user: string;
  readonly #databases: readonly string[];

  /** Built by `PostgresProvider.start()`. */
  constructor(endpoint: Endpoint, runner: BackendRunner, opts: { user: string; maintenanceDb: string; databases: readonly string[] }) {
    super(endpoint, runner);
    this.#user = opts.user;
    this.#maintenanceDb = opts.maintenanceDb;
    this.#databases = [...opts.databases];
  }

  get user(): string {
    return this.#user;
  }
  /** The databases created at start (besides the maintenance database). */
  get databases(): readonly string[] {
    return this.#databases;
  }
  /** The database `url` names (`postgres` unless an external URL said otherwise). */
  get maintenanceDatabase(): string {
    return this.#maintenanceDb;
  }

  /** The connection URL of one database. */
  urlFor(database: string): string {
    return postgresUrlFor(this.url, database);
  }

  /**
   * A connected `pg` client; the caller ends it. An idle connection lost to a kill must not crash the harness,
   * so an `error` listener is attached: queries made after the loss still reject.
   */
  async client(database: string = this.#maintenanceDb): Promise<pg.Client> {
    return connectClient(this.urlFor(database));
  }

  /** One query on a short-lived connection (nothing held open across faults). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(database: string, sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    const client = await this.client(database);
    try {
      return await client.query<R>(sql, [...params]);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * Runs migrations in order, each in its own transaction with its id recorded in `twin_schema_migrations`, so
   * a rerun (a migrator restarted, a restored backup) applies only what is missing. Concurrent migrators of the
   * same database are serialised by an advisory lock.
   */
  async runMigrations(database: string, migrations: readonly Migration[]): Promise<MigrationResult> {
    const client = await this.client(database);
    const applied: string[] = [];
    const skipped: string[] = [];
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [MIGRATIONS_TABLE]);
      try {
        const done = new Set((await client.query<{ id: string }>(`SELECT id FROM ${MIGRATIONS_TABLE}`)).rows.map((r) => r.id));
        for (const [index, m] of migrations.entries()) {
          const { id, sql } = typeof m === 'string' ? { id: String(index + 1).padStart(4, '0'), sql: m } : m;
          if (done.has(id)) {
            skipped.push(id);
            continue;
          }
          await client.query('BEGIN');
          try {
            await client.query(sql);
            await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (id) VALUES ($1)`, [id]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw new Error(`migration ${id} on database ${database} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
          }
          applied.push(id);
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [MIGRATIONS_TABLE]).catch(() => undefined);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    return { applied, skipped };
  }
}

/** The URL of another database on the same server (path replaced, user, password and parameters kept). */
export function postgresUrlFor(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** A connected client with a 5 s connect timeout and a harmless `error` listener. */
export async function connectClient(url: string, connectTimeoutMs = 5_000): Promise<pg.Client> {
  const client = new (drivers.pg().Client)({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** Creates each database that does not exist yet, from the maintenance database. */
export async function ensureDatabases(maintenanceUrl: string, databases: readonly string[]): Promise<void> {
  if (databases.length === 0) return;
  const client = await connectClient(maintenanceUrl);
  try {
    for (const db of databases) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(db)}`);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
