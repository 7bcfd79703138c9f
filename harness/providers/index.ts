/**
 * Providers for the real components of the live stack: one folder per component, the same shape for each
 * (a builder with `withX(): this`, a started handle with getters, wait strategies as values, async disposal).
 * See README.md.
 */
export { ProviderError, type BackendChoice, type BackendKind, type ComponentBuilder, type StartedComponent } from './types.ts';
export { detectContainerRuntime, NO_CONTAINER_RUNTIME, type ContainerRuntimeInfo } from './runtime.ts';
export { chooseBackend, type BackendAvailability, type BackendDecision, type BackendQuestion } from './choose-backend.ts';
export { IMAGES } from './images.ts';
export { parseServiceUrl, redactUrl, type ParsedServiceUrl, type ServiceUrlSpec } from './service-url.ts';
export { StartedBase, type Endpoint } from './started-base.ts';
export type { BackendRunner } from './runner.ts';
export { Wait, isPortOpen, waitForPortClosed, type WaitContext, type WaitStrategy } from './wait.ts';
export { freePort, freePorts } from './ports.ts';

export { PostgresProvider, settlePostgresOptions, type PostgresOptions, type SettledPostgresOptions } from './postgres/postgres-provider.ts';
export { StartedPostgres, MIGRATIONS_TABLE, type Migration, type MigrationResult } from './postgres/started-postgres.ts';
export { parsePostgresUrl, POSTGRES_URL_EXAMPLE, type PostgresUrl } from './postgres/postgres-url.ts';

export { RedisProvider, settleRedisOptions, type RedisProviderOptions, type SettledRedisOptions } from './redis/redis-provider.ts';
export { StartedRedis } from './redis/started-redis.ts';
export { parseRedisUrl, REDIS_URL_EXAMPLE, type RedisUrl } from './redis/redis-url.ts';

export { RabbitMQProvider, settleRabbitMQOptions, type RabbitMQProviderOptions, type SettledRabbitMQOptions } from './rabbitmq/rabbitmq-provider.ts';
export { StartedRabbitMQ } from './rabbitmq/started-rabbitmq.ts';
export { parseRabbitMQUrl, RABBITMQ_URL_EXAMPLE, type RabbitMQUrl } from './rabbitmq/rabbitmq-url.ts';

export { MongoProvider, settleMongoOptions, type MongoProviderOptions, type SettledMongoOptions } from './mongo/mongo-provider.ts';
export { StartedMongo } from './mongo/started-mongo.ts';
export { parseMongoUrl, MONGO_URL_EXAMPLE, type MongoUrl } from './mongo/mongo-url.ts';
export { mongoDocumentStore, mongoCollection } from './mongo/mongo-document-store.ts';
export { DocumentStoreError, type DeleteResult, type Doc, type DocumentCollection, type DocumentStore, type Filter, type FindOptions, type InsertOneResult, type Update, type UpdateResult, type WithId } from './mongo/document-store.ts';

export { LdapProvider, settleLdapOptions, DEFAULT_LDAP_BASE_DN, DEFAULT_LDAP_ADMIN_PASSWORD, DEFAULT_LDAP_USERS, type LdapProviderOptions, type SettledLdapOptions } from './ldap/ldap-provider.ts';
export { StartedLdap, type LdapAccount } from './ldap/started-ldap.ts';
export { parseLdapUrl, LDAP_URL_EXAMPLE, type LdapUrl } from './ldap/ldap-url.ts';
export { type LdapUser } from './ldap/seed-ldif.ts';
export * from './s3/index.ts';
