import { Worker } from 'node:worker_threads';
import { makeTempDir } from '../temp-dir.ts';
import { ProviderError } from '../types.ts';
import { prebuiltEntry } from '../prebuilt-entry.ts';
import { InProcessRunner, type InProcessServer } from './in-process-runner.ts';
import { S3RVER_VERSION } from './s3rver-list-v2.ts';

/** The only credentials s3rver accepts (its dummy account): requests signed with others get InvalidAccessKeyId. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** The worker's entry: prebuilt from the live bundle, else the sources through tsx. */
const WORKER = prebuiltEntry(new URL('./s3rver-worker.ts', import.meta.url)) ?? new URL('./s3rver-worker-boot.mjs', import.meta.url);

export interface EmbeddedS3 {
  readonly runner: InProcessRunner;
  readonly port: number;
  readonly detail: string;
}

/**
 * s3rver in a worker thread of this process on a free port of 127.0.0.1, its objects in a fresh temp dir
 * (`$TMPDIR/twin-s3-XXXXXX`, in s3rver's own layout: `<bucket>/<key>._S3rver_object` and metadata files). The bucket
 * is created by the provider, the same way as on every backend. A thread of its own keeps s3rver's start and its
 * request handling off the thread that boots and runs the stack; a restart is a new thread on the same port and dir.
 *
 * s3rver (and Koa under it) is loaded only there, when the embedded backend was chosen.
 */
export async function startEmbeddedS3(): Promise<EmbeddedS3> {
  const directory = await makeTempDir('s3');
  const runner = await InProcessRunner.start({ tempDir: directory, dataDir: directory, listen: (port) => listenInWorker(port, directory) });
  return { runner, port: runner.port, detail: `embedded S3 (s3rver ${S3RVER_VERSION}, in a thread of this process, no pid) on 127.0.0.1:${runner.port}, objects in ${directory}` };
}

type WorkerMessage = { type: 'listening'; port: number } | { type: 'failed'; message: string } | { type: 'closed' };

/** Starts s3rver's thread and resolves once it listens; rejects (the thread ended) if it cannot. */
async function listenInWorker(port: number, directory: string): Promise<InProcessServer> {
  const worker = new Worker(WORKER);
  const next = () =>
    new Promise<WorkerMessage>((resolve) => {
      const onMessage = (m: WorkerMessage) => (off(), resolve(m));
      const onError = (e: Error) => (off(), resolve({ type: 'failed', message: e.message }));
      const onExit = () => (off(), resolve({ type: 'failed', message: 'its thread exited' }));
      const off = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  const listening = next();
  worker.postMessage({ port, directory });
  const first = await listening;
  if (first.type !== 'listening') {
    await worker.terminate();
    const why = first.type === 'failed' ? first.message : 'it closed before it listened';
    throw new ProviderError('START_FAILED', `s3: embedded s3rver could not listen on 127.0.0.1:${port}: ${why}`, port === 0 ? 'check that loopback networking works' : 'another process took the port while s3rver was restarting');
  }
  // An error after it listens ends the thread; the next request then fails, as with a crashed server.
  worker.on('error', () => undefined);
  return {
    port: first.port,
    close: async () => {
      const closed = next();
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}
