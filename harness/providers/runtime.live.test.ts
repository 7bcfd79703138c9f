import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NO_CONTAINER_RUNTIME, detectContainerRuntime } from './runtime.ts';

// Whether this machine could have a runtime at all: without a socket or DOCKER_HOST, the answer must be "absent".
const mayHaveRuntime = process.env.DOCKER_HOST !== undefined || existsSync('/var/run/docker.sock') || existsSync(`/run/user/${process.getuid?.()}/podman/podman.sock`);

describe('detectContainerRuntime', () => {
  it('answers within 3 s without throwing, and caches the answer', async () => {
    const t0 = performance.now();
    const info = await detectContainerRuntime();
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(typeof info.available).toBe('boolean');
    expect(info.detail.length).toBeGreaterThan(0);
    expect(info.detail).not.toMatch(/\n/);
    expect(await detectContainerRuntime()).toBe(info);
  });

  it.skipIf(mayHaveRuntime)('reports absence in one line on a machine without Docker or Podman', async () => {
    expect(await detectContainerRuntime()).toEqual({ available: false, detail: NO_CONTAINER_RUNTIME });
  });
});
