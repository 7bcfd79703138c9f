/**
 * The embedded S3's thread: s3rver (and Koa under it) loaded and run in a worker thread of the harness's process, so
 * that its start (a few hundred milliseconds of module loading) and its request handling (every request's signature
 * checked) take none of the stack's main thread, which boots everything else meanwhile. `embedded-s3.ts` is the
 * harness's side: it posts `{ port, directory }`, gets `{ type: 'listening', port }` or `{ type: 'failed', message }`,
 * and posts `'close'` (answered by `{ type: 'closed' }`) before it ends the thread.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { parentPort } from 'node:worker_threads';
import { closeHttpServer } from './in-process-runner.ts';
import { repairListObjectsV2 } from './s3rver-list-v2.ts';

/** The part of s3rver's API used here (it ships no types). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  readonly httpServer: Server;
}
type S3rverClass = new (options: { address: string; port: number; silent: boolean; directory: string; vhostBuckets: boolean }) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverClass;
repairListObjectsV2(require);

let server: S3rverInstance | undefined;
parentPort?.on('message', (m: { port: number; directory: string } | 'close') => {
  if (m === 'close') {
    void (server ? closeHttpServer(server.httpServer) : Promise.resolve()).finally(() => parentPort?.postMessage({ type: 'closed' }));
    return;
  }
  // Path-style only: with vhost buckets on, a request to a host name such as host.docker.internal would be taken for a
  // bucket of that name.
  const s = new S3rver({ address: '127.0.0.1', port: m.port, silent: true, directory: m.directory, vhostBuckets: false });
  s.run().then(
    (address) => {
      server = s;
      parentPort?.postMessage({ type: 'listening', port: address.port });
    },
    (err: unknown) => parentPort?.postMessage({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
  );
});
