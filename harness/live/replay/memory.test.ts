import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sampleStackRss } from './memory.ts';

describe('sampleStackRss', () => {
  it('sums this process and its children, and their proportional memory is at most their resident memory', async () => {
    const alone = sampleStackRss();
    alone.stop();
    // A child that holds 64 MB of its own: both sums must grow by about that much.
    const child = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)']);
    try {
      await new Promise((r) => setTimeout(r, 700));
      const both = sampleStackRss();
      both.stop();
      expect(both.peakPssKb).toBeGreaterThan(0);
      expect(both.peakPssKb).toBeLessThanOrEqual(both.peakKb);
      expect(both.peakKb - alone.peakKb).toBeGreaterThan(60 * 1024);
      expect(both.peakPssKb - alone.peakPssKb).toBeGreaterThan(60 * 1024);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
