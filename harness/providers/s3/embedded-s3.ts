import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { makeTempDir } from '../temp-dir.ts';
import { ProviderError } from '../types.ts';
import { closeHttpServer, InProcessRunner } from './in-process-runner.ts';
import { repairListObjectsV2, S3RVER_VERSION } from './s3rver-list-v2.ts';

/** The only credentials s3rver accepts (its dummy account): requests signed with others get InvalidAccessKeyId. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** The part of s3rver's API used here (it ships no types). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  readonly httpServer: Server;
}
type S3rverClass = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
}) => S3rverInstance;

export interface EmbeddedS3 {
  readonly runner: InProcessRunner;
  readonly port: number;
  readonly detail: string;
}

/**
 * s3rver in this process on a free port of 127.0.0.1, its objects in a fresh temp dir
 * (`$TMPDIR/twin-s3-XXXXXX`, in s3rver's own layout: `<bucket>/<key>._S3rver_object` and metadata files). The bucket is created by the provider, the same way as on every backend.
 *
 * s3rver (and Koa under it) is loaded only here, when the embedded backend was chosen.
 */
export async function startEmbeddedS3(): Promise<EmbeddedS3> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverClass;
  repairListObjectsV2(require);
  const directory = await makeTempDir('s3');
  const runner = await InProcessRunner.start({
    tempDir: directory,
    dataDir: directory,
    listen: async (port) => {
      // Path-style only: with vhost buckets on, a request to a host name such as host.docker.internal would be
      // taken for a bucket of that name.
      const server = new S3rver({ address: '127.0.0.1', port, silent: true, directory, vhostBuckets: false });
      let address: { port: number };
      try {
        address = await server.run();
      } catch (err) {
        throw new ProviderError('START_FAILED', `s3: embedded s3rver could not listen on 127.0.0.1:${port}: ${err instanceof Error ? err.message : String(err)}`, port === 0 ? 'check that loopback networking works' : 'another process took the port while s3rver was restarting');
      }
      return { port: address.port, close: () => closeHttpServer(server.httpServer) };
    },
  });
  return { runner, port: runner.port, detail: `embedded S3 (s3rver ${S3RVER_VERSION}, in this process, no pid) on 127.0.0.1:${runner.port}, objects in ${directory}` };
}
