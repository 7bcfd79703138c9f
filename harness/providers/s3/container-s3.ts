import { containerRunner, type StartedContainerBackend } from '../container-backend.ts';
import { ProviderError } from '../types.ts';

/** LocalStack accepts any credentials; these are the ones its documentation and docker-compose.localstack.yml use. */
export const LOCALSTACK_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/**
 * LocalStack with S3 only, in a container (only after a runtime was detected), through `@testcontainers/localstack`
 * (imported lazily: most machines here have no runtime). The module waits for LocalStack's "Ready." line and sets
 * LOCALSTACK_HOST so the URLs LocalStack hands out point at the mapped port.
 */
export async function startContainerS3(opts: { image: string; region: string; startTimeoutMs: number }): Promise<StartedContainerBackend> {
  const { LocalstackContainer } = await import('@testcontainers/localstack');
  const container = new LocalstackContainer(opts.image)
    // S3 only: each further service costs LocalStack boot time, and the stack's EC2 is the twin's own or AWS_ENDPOINT_URL.
    .withEnvironment({ SERVICES: 's3', AWS_DEFAULT_REGION: opts.region, EAGER_SERVICE_LOADING: '1' })
    .withStartupTimeout(opts.startTimeoutMs);
  let started: Awaited<ReturnType<typeof container.start>>;
  try {
    started = await container.start();
  } catch (err) {
    throw new ProviderError('START_FAILED', `s3: container ${opts.image} did not start within ${opts.startTimeoutMs} ms: ${err instanceof Error ? err.message : String(err)}`, 'check `docker ps -a` and the image pull; newer LocalStack tags need LOCALSTACK_AUTH_TOKEN, the pinned one does not');
  }
  return { host: started.getHost(), port: started.getPort(), runner: containerRunner(started) };
}
