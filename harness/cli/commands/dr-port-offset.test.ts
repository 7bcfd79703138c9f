/** `twin dr --mode live --port-offset N`: checked before anything boots, and handed to the live rehearsal that runs. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../main.ts';
import { captureIo as capture } from '../capture-io.ts';
import { tempDirs } from '../../test-temp.ts';

const tempDir = tempDirs('twin-dr-port-');

/** What the live rehearsals were called with (they are replaced: nothing boots in this file). */
const calls: { runner: string; portOffset: number | undefined }[] = [];
vi.mock('../../dr/live-rehearsal.ts', () => {
  class LiveDrError extends Error {
    constructor(
      message: string,
      readonly hint: string,
    ) {
      super(message);
    }
  }
  return {
    LiveDrError,
    runLiveDr: async (_s: unknown, _r: unknown, opts: { portOffset?: number }) => {
      calls.push({ runner: 'ebs', portOffset: opts.portOffset });
      throw new LiveDrError('stopped by the test', 'none');
    },
  };
});
vi.mock('../../dr/tarball-rehearsal.ts', async () => {
  const { LiveDrError } = await import('../../dr/live-rehearsal.ts');
  return {
    runTarballDr: async (_s: unknown, _r: unknown, opts: { portOffset?: number }) => {
      calls.push({ runner: 'tarball', portOffset: opts.portOffset });
      throw new LiveDrError('stopped by the test', 'none');
    },
  };
});

/** `twin dr ARGS`: its exit code and stderr, and that nothing was written. */
async function dr(args: string[]): Promise<{ code: number; stderr: string }> {
  const out = join(tempDir(), 'out');
  const c = capture();
  const code = await main(['dr', ...args, '--out', out], c.io);
  expect(existsSync(out)).toBe(false);
  return { code, stderr: c.stderr };
}

describe('twin dr --port-offset', () => {
  beforeEach(() => {
    calls.length = 0;
  });

  it('hands N to the EBS and to the tarball rehearsal; without it, their default', async () => {
    expect((await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--mode', 'live', '--port-offset', '25000'])).code).toBe(2);
    expect((await dr(['scenarios/dr/tarball-backup-restore.yaml', '--mode', 'live', '--port-offset', '31000'])).code).toBe(2);
    expect((await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--mode', 'live'])).code).toBe(2);
    expect(calls).toEqual([
      { runner: 'ebs', portOffset: 25_000 },
      { runner: 'tarball', portOffset: 31_000 },
      { runner: 'ebs', portOffset: undefined },
    ]);
  });

  it('refuses an offset that is not a whole number, naming the flag', async () => {
    for (const bad of ['abc', '-5', '2.5', '1e4']) {
      const r = await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--mode', 'live', '--port-offset', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toMatch(/--port-offset must be a whole number from 0 to 65535/);
    }
    expect(calls).toEqual([]);
  });

  it('refuses an offset that puts a documented port beyond 65535, with the largest that fits', async () => {
    const r = await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--mode', 'live', '--port-offset', '40000']);
    expect(r.code).toBe(2);
    // mongo's 27017 is the profile's highest documented port.
    expect(r.stderr).toContain("--port-offset 40000 would publish the stack's documented port 27017 at 67017, beyond 65535");
    expect(r.stderr).toContain('use at most 38518');
    expect((await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--mode', 'live', '--port-offset', '38518'])).code).toBe(2);
    expect(calls).toEqual([{ runner: 'ebs', portOffset: 38_518 }]);
  });

  it('refuses it in the simulation, where nothing listens', async () => {
    const r = await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--port-offset', '25000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--port-offset applies to the live rehearsal only');
    expect(r.stderr).toContain('add --mode live, or drop --port-offset');
    expect(calls).toEqual([]);
  });

  it('checks TWIN_DR_PORT_OFFSET by the same rule before anything boots, and lets --port-offset win over it', async () => {
    process.env.TWIN_DR_PORT_OFFSET = '40000';
    try {
      const r = await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--mode', 'live']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("TWIN_DR_PORT_OFFSET=40000 would publish the stack's documented port 27017 at 67017, beyond 65535");
      expect(calls).toEqual([]);
      await dr(['scenarios/dr/ebs-snapshot-restore.yaml', '--mode', 'live', '--port-offset', '25000']);
      expect(calls).toEqual([{ runner: 'ebs', portOffset: 25_000 }]);
    } finally {
      delete process.env.TWIN_DR_PORT_OFFSET;
    }
  });
});
