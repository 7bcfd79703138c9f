/**
 * The container images of the testcontainers backends, pinned in one place.
 *
 * The tags follow the local binaries of the development machines (PostgreSQL 15, Redis 7.0, RabbitMQ 3.10), so a
 * run on a machine with Docker talks to the same major versions as a run on the private processes.
 */
export const IMAGES = {
  postgres: 'postgres:15-alpine',
  redis: 'redis:7.0-alpine',
  rabbitmq: 'rabbitmq:3.10-alpine',
  mongo: 'mongo:6.0',
  /** The S3 backend's container: the tag of docker-compose.localstack.yml, the last that starts without an auth token. */
  localstack: 'localstack/localstack:4.5',
} as const;

/** The image of a PostgreSQL major version (`withVersion('15')` → `postgres:15-alpine`). */
export function postgresImage(majorVersion: string): string {
  return `postgres:${majorVersion}-alpine`;
}
