/** What a container runtime probe found: whether testcontainers backends can be used, in one line for people. */
export interface ContainerRuntimeInfo {
  readonly available: boolean;
  readonly detail: string;
}

/** The one line printed when no runtime exists; its absence is a fact of the machine, never a failure. */
export const NO_CONTAINER_RUNTIME = 'no container runtime (Docker/Podman) found: testcontainers backends skipped';

/** How long the probe may take: testcontainers tries several strategies, and a hung socket must not stall a boot. */
const DETECT_TIMEOUT_MS = 2_500;

let cached: Promise<ContainerRuntimeInfo> | undefined;

/**
 * Detects a Docker or Podman runtime once per process with testcontainers 11's `getContainerRuntimeClient`.
 *
 * testcontainers is imported lazily, so a machine without a runtime never pays for loading it unless a
 * provider actually asks; the answer (present or not) is cached because the machine does not change under us.
 */
export function detectContainerRuntime(): Promise<ContainerRuntimeInfo> {
  cached ??= probe();
  return cached;
}

async function probe(): Promise<ContainerRuntimeInfo> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ContainerRuntimeInfo>((resolve) => {
    timer = setTimeout(() => resolve({ available: false, detail: `${NO_CONTAINER_RUNTIME} (no answer within ${DETECT_TIMEOUT_MS} ms)` }), DETECT_TIMEOUT_MS);
    timer.unref();
  });
  const found = (async (): Promise<ContainerRuntimeInfo> => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      const client = await getContainerRuntimeClient();
      const rt = client.info.containerRuntime;
      return { available: true, detail: `container runtime at ${rt.host} (${rt.operatingSystem}, server version ${rt.serverVersion}): testcontainers backends available` };
    } catch {
      // testcontainers throws "Could not find a working container runtime strategy": that is the absent case.
      return { available: false, detail: NO_CONTAINER_RUNTIME };
    }
  })();
  try {
    return await Promise.race([found, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
