import { describe, expect, it } from 'vitest';
import { HealthServiceHost } from './health-host.ts';
import { LOG_LINES } from '../../sim/symptoms/log-lines.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A host with one logrotate service: the rotations it asked for and the lines it wrote. */
async function logrotate(rotateMs: number) {
  const rotations: number[] = [];
  const lines: [string, string][] = [];
  const host = new HealthServiceHost((name, text) => void lines.push([name, text]), undefined, (atMs) => void rotations.push(atMs));
  const svc = await host.start({ name: 'tutum/logrotate', port: 0, healthPath: '/health', dependencies: [], role: { kind: 'logrotate', rotateMs, lineMs: 150 } });
  return { rotations, lines, svc };
}

describe('tutum/logrotate on the live stack (the health-only thread\'s logrotate role)', () => {
  it('rotates the logs when it starts and every rotateMs, and says so every lineMs; hung it rotates nothing; killed, never again', async () => {
    const { rotations, lines, svc } = await logrotate(100);
    try {
      await sleep(700);
      expect(rotations.length).toBeGreaterThanOrEqual(3);
      expect(lines).toContainEqual(['tutum/logrotate', LOG_LINES.logrotateRotated]);
      svc.postMessage('pause');
      await sleep(300);
      const paused = rotations.length;
      await sleep(500);
      expect(rotations).toHaveLength(paused);
    } finally {
      await svc.terminate();
    }
    await sleep(100);
    const killed = rotations.length;
    await sleep(500);
    expect(rotations).toHaveLength(killed);
  });

  it('rotates at once when it starts and when it is resumed (its overdue run), not only at its interval', async () => {
    const { rotations, svc } = await logrotate(600_000);
    try {
      await sleep(300);
      expect(rotations).toHaveLength(1);
      svc.postMessage('pause');
      svc.postMessage('unpause');
      await sleep(300);
      expect(rotations).toHaveLength(2);
    } finally {
      await svc.terminate();
    }
  });
});
