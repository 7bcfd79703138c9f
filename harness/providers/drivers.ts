import { createRequire } from 'node:module';

// Not `require`: the live bundle's banner declares that name in every chunk.
const load = createRequire(import.meta.url);

/**
 * The client drivers, each loaded on its first use rather than with the provider that may use it: the supervisor of
 * `twin up` imports every provider, and loading pg, ioredis, amqplib, the MongoDB driver, the AWS SDK's S3 client and
 * ldapts at once cost its thread over a CPU-second, most of it for drivers an embedded boot never calls there (the
 * stages, in their own threads, use them). Synchronous (CommonJS `require`), so a provider's `client()` stays so;
 * the same module instances as an `import` of the package.
 */
export const drivers = {
  pg: () => load('pg') as typeof import('pg').default,
  ioredis: () => load('ioredis') as typeof import('ioredis'),
  amqplib: () => load('amqplib') as typeof import('amqplib'),
  mongodb: () => load('mongodb') as typeof import('mongodb'),
  s3: () => load('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3'),
  ldapts: () => load('ldapts') as typeof import('ldapts'),
};
