import type { Container, Profile } from '../../fixtures/schema.ts';
import type { ServiceState, StateCause } from '../models/services/registry.ts';
import { fmix32 } from '../util/hash.ts';
import { BOOTED_BEFORE_MS, humanDuration } from './clock-text.ts';

/**
 * `sudo docker ps` on the Services machine, in the shape of the seeds' listing (FAQ, "How do I debug the
 * Management Console (Replicated)?", step 5): the CircleCI containers from the version profile, under the names
 * the listing gives them, and the rows Replicated runs beside them (replicated, its UI, operator, premkit, statsd,
 * and the retraced audit stack), which no scenario fault reaches.
 */

/** The names the seeds' `docker ps` listing gives containers whose canonical name differs. */
export const DOCKER_NAMES: Readonly<Record<string, string>> = {
  'output-processor': 'picard-output-processor',
  schedulerer: 'picard-scheduler',
  nomad_server: 'nomad',
  'federation-service': 'federations-service',
  'server-usage-stats': 'usage-stats',
  // Replicated starts these two without a name: Docker made one up (the listing's).
  'shutdown-hook-poller': 'musing_volhard',
  'tutum/logrotate': 'hardcore_cray',
};

/** The COMMAND column of the seeds' listing, by docker name (Docker cuts it at 20 characters with an ellipsis). */
const COMMANDS: Readonly<Record<string, string>> = {
  'api-service': 'circleci-service-run',
  'workflows-conductor': '/service/docker-ent…',
  'permissions-service': '/service/docker-ent…',
  'cron-service': 'circleci-service-run',
  'federations-service': '/service/docker-ent…',
  'contexts-service': './docker-entrypoint…',
  'domain-service': '/service/docker-ent…',
  'audit-log-service': 'circleci-service-run',
  frontend: './docker-entrypoint…',
  'picard-dispatcher': 'circleci-service-run',
  'vm-service': 'vm-service-service…',
  'vm-scaler': '/scaler-entrypoint…',
  'vm-gc': 'docker-entrypoint.s…',
  'picard-output-processor': 'output-processor-se…',
  dispatcher: '/docker-entrypoint…',
  mongo: '/entrypoint.sh',
  telegraf: '/telegraf-entrypoi…',
  'picard-scheduler': 'circleci-service-run',
  nomad: '/nomad-entrypoint.sh',
  'test-results': 'circleci-service-run',
  slanger: '/docker-entrypoint…',
  postgres: 'docker-entrypoint.s…',
  'ready-agent': '/server-ready-agent',
  'usage-stats': 'bash -c /src/entryp…',
  musing_volhard: '/usr/local/bin/pyth…',
  rabbitmq: 'docker-entrypoint.s…',
  hardcore_cray: 'crond -f',
  'vault-cci': './docker-entrypoint…',
  redis: 'docker-entrypoint.s…',
  'nomad-metrics': '/usr/local/bin/dock…',
  exim: '/docker-entrypoint…',
};

/** A row of the listing that is not a container of the profile: Replicated's own, and CircleCI's notifier and slanger-redis. */
export interface ExtraRow {
  readonly name: string;
  readonly image: string;
  readonly command: string;
  readonly ports: string;
  /** Created this long before the machine booted (premkit: "3 weeks ago"). */
  readonly createdEarlierMs?: number;
}

/** The rows of the seeds' listing the profile has no container for, in the listing's order. */
export const EXTRA_ROWS: readonly ExtraRow[] = [
  { name: 'notifier', image: '172.31.72.162:9874/circleci-frontend:0.1.203321-501fada', command: '/docker-entrypoint…', ports: '0.0.0.0:32858->80/tcp, 0.0.0.0:32857->443/tcp, 0.0.0.0:32856->4434/tcp' },
  { name: 'replicated-statsd', image: 'registry.replicated.com/library/statsd-graphite:0.3.7', command: '/usr/bin/supervisor…', ports: '0.0.0.0:32851->2443/tcp, 0.0.0.0:32770->8125/udp' },
  { name: 'slanger-redis', image: '172.31.72.162:9874/redis:4.0.10', command: 'docker-entrypoint.s…', ports: '0.0.0.0:32846->6379/tcp' },
  { name: 'retraced-processor', image: 'registry.replicated.com/library/retraced:1.2.2', command: '/src/replicated-aud…', ports: '3000/tcp' },
  { name: 'retraced-api', image: 'registry.replicated.com/library/retraced:1.2.2', command: '/src/replicated-aud…', ports: '172.17.0.1:32771->3000/tcp' },
  { name: 'retraced-cron', image: 'registry.replicated.com/library/retraced:1.2.2', command: '/bin/sh -c \'/usr/lo…', ports: '3000/tcp' },
  { name: 'retraced-postgres', image: 'registry.replicated.com/library/retraced-postgres:10.5-20181009', command: 'docker-entrypoint.s…', ports: '5432/tcp' },
  { name: 'retraced-nsqd', image: 'registry.replicated.com/library/retraced-nsq:v1.0.0-compat-20180619', command: '/bin/sh -c nsqd', ports: '4150-4151/tcp, 4160-4161/tcp, 4170-4171/tcp' },
  { name: 'replicated-operator', image: 'quay.io/replicated/replicated-operator:current', command: '/usr/bin/replicated…', ports: '' },
  { name: 'replicated', image: 'quay.io/replicated/replicated:current', command: 'entrypoint.sh -d', ports: '0.0.0.0:9874-9879->9874-9879/tcp' },
  { name: 'replicated-ui', image: 'quay.io/replicated/replicated-ui:current', command: '/usr/bin/replicated…', ports: '0.0.0.0:8800->8800/tcp' },
  { name: 'replicated-premkit', image: 'registry.replicated.com/library/premkit:1.2.0', command: '/usr/bin/premkit da…', ports: '80/tcp, 443/tcp, 2080/tcp, 0.0.0.0:9880->2443/tcp', createdEarlierMs: 3 * 7 * 86_400_000 - 26 * 3_600_000 },
];

/** The name `docker ps` shows for a canonical container name. */
export function dockerName(canonical: string): string {
  return DOCKER_NAMES[canonical] ?? canonical;
}

/** A container's id: 12 hex digits, fixed per name (the listing's ids are as arbitrary). */
export function containerId(name: string): string {
  const a = fmix32(hashText(name));
  const b = fmix32(a ^ 0x9e3779b9);
  return (a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')).slice(0, 12);
}

function hashText(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** What `docker ps` needs of a container's life: its state now and when that state began. */
export interface ContainerLife {
  readonly state: ServiceState;
  /** When the current state began (virtual ms; 0 for "since the machine booted"). */
  readonly sinceMs: number;
  /** What brought it to that state (exit codes: a kill is 137, a graceful stop 0, a crash at startup 1). */
  readonly cause: StateCause | 'boot';
}

/** The containers the listing shows for an installation: not the migrators (they exit after startup), fileserved only without S3. */
export function listedContainers(profile: Profile, storage: 's3' | 'fileserved'): Container[] {
  return profile.containers.filter((c) => !c.migrator && c.name !== 'mongodb-upgrader' && (c.name !== 'fileserved' || storage === 'fileserved'));
}

function portsText(c: Container): string {
  return c.ports.map((p) => (p.host === null ? `${p.container}/${p.protocol}` : `0.0.0.0:${p.host}->${p.container}/${p.protocol}`)).join(', ');
}

function exitCode(cause: ContainerLife['cause']): number {
  if (cause === 'kill' || cause === 'machine') return 137;
  if (cause === 'startup-failure' || cause === 'disk-full') return 1;
  return 0;
}

/**
 * The listing at `nowMs`. Running containers read "Up"; a hung one too (a hung process still runs: only its logs
 * and health tell); with `all` (`docker ps -a`), stopped ones read "Exited (code) … ago".
 */
export function renderDockerPs(containers: readonly Container[], life: (name: string) => ContainerLife, nowMs: number, opts: { all?: boolean } = {}): string {
  const rows: string[][] = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  const age = humanDuration(nowMs + BOOTED_BEFORE_MS);
  for (const c of containers) {
    const l = life(c.name);
    const name = dockerName(c.name);
    const up = l.state === 'running' || l.state === 'paused';
    if (!up && !opts.all) continue;
    const since = l.cause === 'boot' ? nowMs + BOOTED_BEFORE_MS : nowMs - l.sinceMs;
    const status = up ? `Up ${humanDuration(since)}` : `Exited (${exitCode(l.cause)}) ${humanDuration(since)} ago`;
    rows.push([containerId(name), c.image ?? `172.31.72.162:9874/circleci-${name}:latest`, `"${COMMANDS[name] ?? 'circleci-service-run'}"`, `${age} ago`, status, up ? portsText(c) : '', name]);
  }
  for (const x of EXTRA_ROWS) {
    rows.push([containerId(x.name), x.image, `"${x.command}"`, `${humanDuration(nowMs + BOOTED_BEFORE_MS + (x.createdEarlierMs ?? 0))} ago`, `Up ${age}`, x.ports, x.name]);
  }
  return tabulate(rows);
}

/** Docker's tabwriter: columns padded to the widest cell plus three spaces, the last column unpadded. */
export function tabulate(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length + 3))).join('').trimEnd()).join('\n');
}
