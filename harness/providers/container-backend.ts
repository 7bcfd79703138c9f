import type { BackendRunner } from './runner.ts';
import { ProviderError } from './types.ts';

/** A server in a container: its pinned image, the port it listens on inside, and how testcontainers waits for it. */
export interface ContainerSpec {
  readonly label: string;
  readonly image: string;
  readonly containerPort: number;
  readonly env?: Readonly<Record<string, string>>;
  readonly command?: readonly string[];
  /** A log line that means ready (and how many times it must appear); else the exposed port listening. */
  readonly readyLog?: { readonly pattern: RegExp; readonly times: number };
  readonly startTimeoutMs: number;
}

/** A started container: where its port is mapped on the host, and its lifecycle. */
export interface StartedContainerBackend {
  readonly host: string;
  readonly port: number;
  readonly runner: BackendRunner;
}

/**
 * Starts a container with testcontainers (imported lazily: most machines here have no runtime, and the
 * providers only come here after `detectContainerRuntime()` said one exists).
 */
export async function startContainer(spec: ContainerSpec): Promise<StartedContainerBackend> {
  const tc = await import('testcontainers');
  let container = new tc.GenericContainer(spec.image)
    .withExposedPorts(spec.containerPort)
    .withEnvironment({ ...spec.env })
    .withStartupTimeout(spec.startTimeoutMs)
    .withWaitStrategy(spec.readyLog ? tc.Wait.forLogMessage(spec.readyLog.pattern, spec.readyLog.times) : tc.Wait.forListeningPorts());
  if (spec.command) container = container.withCommand([...spec.command]);
  let started: Awaited<ReturnType<typeof container.start>>;
  try {
    started = await container.start();
  } catch (err) {
    throw new ProviderError('START_FAILED', `${spec.label}: container ${spec.image} did not start within ${spec.startTimeoutMs} ms: ${err instanceof Error ? err.message : String(err)}`, 'check `docker ps -a` and the image pull');
  }
  return { host: started.getHost(), port: started.getMappedPort(spec.containerPort), runner: containerRunner(started) };
}

/** The runner of a started container: no pid or data dir to hand out, and a stop that runs once however often asked. */
export function containerRunner(container: { stop(): Promise<unknown> }): BackendRunner {
  let stopping: Promise<void> | undefined;
  return {
    pid: undefined,
    dataDir: undefined,
    stop() {
      stopping ??= container.stop().then(() => undefined);
      return stopping;
    },
  };
}
