import type { Migration } from '../providers/index.ts';

/**
 * What each migrator container applies, to which database of the Services machine's PostgreSQL. The seeds name
 * the `vms` database and its tables (`vms.tasks`, `vms.volumes`, `vms.vms`, from "How do I resolve the case of
 * VM spin-up / spin-down issues?"); the other schemas are the least each service needs in the live pipeline.
 */
export const MIGRATIONS: Readonly<Record<string, { database: string; migrations: readonly Migration[] }>> = {
  'contexts-service-migrator': {
    database: 'contexts',
    migrations: [
      { id: '001-contexts', sql: 'CREATE TABLE contexts (id uuid PRIMARY KEY, org text NOT NULL, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), UNIQUE (org, name))' },
      { id: '002-env-vars', sql: 'CREATE TABLE env_vars (context_id uuid REFERENCES contexts(id) ON DELETE CASCADE, name text NOT NULL, vault_path text NOT NULL, PRIMARY KEY (context_id, name))' },
    ],
  },
  'cron-service-migrator': {
    database: 'cron',
    migrations: [{ id: '001-schedules', sql: 'CREATE TABLE schedules (id uuid PRIMARY KEY, project text NOT NULL, workflow text NOT NULL, cron text NOT NULL, next_run_at timestamptz)' }],
  },
  'domain-service-migrator': {
    database: 'domain',
    migrations: [
      { id: '001-orgs', sql: 'CREATE TABLE orgs (id uuid PRIMARY KEY, vcs_type text NOT NULL, name text NOT NULL UNIQUE)' },
      { id: '002-projects', sql: 'CREATE TABLE projects (id uuid PRIMARY KEY, org_id uuid REFERENCES orgs(id), name text NOT NULL, default_branch text NOT NULL DEFAULT \'master\')' },
    ],
  },
  'federation-service-migrator': {
    database: 'federations',
    migrations: [{ id: '001-identities', sql: 'CREATE TABLE identities (id uuid PRIMARY KEY, ldap_dn text UNIQUE, github_login text, created_at timestamptz NOT NULL DEFAULT now())' }],
  },
  'permissions-service-migrator': {
    database: 'permissions',
    migrations: [{ id: '001-grants', sql: 'CREATE TABLE grants (subject uuid NOT NULL, resource uuid NOT NULL, role text NOT NULL, PRIMARY KEY (subject, resource))' }],
  },
  'vm-service-db-migrator': {
    database: 'vms',
    migrations: [
      { id: '001-schema', sql: 'CREATE SCHEMA vms' },
      { id: '002-vms', sql: 'CREATE TABLE vms.vms (id text PRIMARY KEY, kind text NOT NULL, state text NOT NULL, private_ip inet, preallocated boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now())' },
      { id: '003-tasks', sql: 'CREATE TABLE vms.tasks (id text PRIMARY KEY, vm_id text REFERENCES vms.vms(id), job text NOT NULL, state text NOT NULL)' },
      { id: '004-volumes', sql: 'CREATE TABLE vms.volumes (id text PRIMARY KEY, project text NOT NULL, size_gb int NOT NULL, attached_to text)' },
    ],
  },
  'workflows-conductor-migrator': {
    database: 'workflows_conductor',
    migrations: [
      { id: '001-workflows', sql: 'CREATE TABLE workflows (id uuid PRIMARY KEY, project text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())' },
      { id: '002-jobs', sql: 'CREATE TABLE jobs (id uuid PRIMARY KEY, workflow_id uuid REFERENCES workflows(id), name text NOT NULL, status text NOT NULL, build_num int)' },
    ],
  },
};

/** Every database the migrators and services use (created when PostgreSQL starts). */
export const DATABASES = ['circle', ...new Set(Object.values(MIGRATIONS).map((m) => m.database))];
