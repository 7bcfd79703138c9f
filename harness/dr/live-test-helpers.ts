import { expect } from 'vitest';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';
import type { LivePush } from './live-rehearsal.ts';

/** Polls `probe` until it gives a value (a throw counts as not yet), for at most `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The live DR tests' check of the losses against what was written (a test helper): every push delivered before the
 * backup's instant is in the restored database (`present`: its builds' shas), none delivered after it and before
 * the disaster is, and exactly those are the report's lost builds and records written after the backup.
 */
export function expectLossesFromPushes(report: DrReport, pushes: readonly LivePush[], present: ReadonlySet<string>): void {
  const delivered = (phase: LivePush['phase']) => pushes.filter((p) => p.phase === phase && p.delivered);
  expect(delivered('before_snapshot').length).toBeGreaterThan(0);
  expect(delivered('before_snapshot').every((p) => present.has(p.sha))).toBe(true);
  expect(delivered('after_snapshot').length).toBeGreaterThan(0);
  expect(delivered('after_snapshot').some((p) => present.has(p.sha))).toBe(false);
  expect(report.builds.lost).toBe(delivered('after_snapshot').length);
  expect(report.dr.records_written_after_backup).toBe(delivered('after_snapshot').length);
}
