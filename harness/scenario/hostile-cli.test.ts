import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.ts';
import { LIMITS } from '../../sim/scenario/limits.ts';

// Hostile files through the CLI, in process: exit 2, a located message naming the problem, no stack trace,
// and nothing written to --out when any file of the command fails.

const dir = mkdtempSync(join(tmpdir(), 'twin-hostile-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `name: good
duration: 30m
topology: { nomad_clients: { count: 2 } }
workload:
  arrivals: { kind: poisson, rate_per_hour: 60 }
  jobs: [ { duration: 2m } ]
`;

const body = (arrivals: string, extra = '') => `name: hostile
duration: 1h
workload:
  arrivals: ${arrivals}
  jobs:
    - { duration: 5m }
${extra}`;

function bomb(): string {
  let t = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i < 10; i++) t += `a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
  return `${GOOD}${t}`;
}

/** Each hostile file: its text and what its message must say (the reviewer's findings, and more). */
const HOSTILE: Record<string, { text: string; says: string }> = {
  'diurnal-width-0.yaml': { text: body('{ kind: diurnal, peak_per_hour: 100, width: 0 }'), says: 'width' },
  'burst-every-0.yaml': { text: body('{ kind: burst, base_per_hour: 1, burst_per_hour: 10, every: 0, length: 0 }'), says: '`every` must be above 0' },
  'burst-length-over-every.yaml': { text: body('{ kind: burst, base_per_hour: 1, burst_per_hour: 10, every: 10m, length: 20m }'), says: 'bursts would overlap' },
  'alias-bomb.yaml': { text: bomb(), says: LIMITS.yamlAliases.name },
  'deep.yaml': { text: `${GOOD}x: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`, says: LIMITS.yamlDepth.name },
  'huge-duration.yaml': { text: body('{ kind: poisson, rate_per_hour: 1 }').replace('duration: 1h', 'duration: 1000000000000000'), says: LIMITS.durationMs.name },
  'huge-rate.yaml': { text: body('{ kind: poisson, rate_per_hour: 1000000 }'), says: LIMITS.ratePerHour.name },
  'too-many-builds.yaml': { text: body('{ kind: poisson, rate_per_hour: 100000 }').replace('duration: 1h', 'duration: 7h'), says: LIMITS.simulatedBuilds.name },
  'too-many-waiting.yaml': { text: body('{ kind: poisson, rate_per_hour: 100000 }').replace('duration: 1h', 'duration: 4h'), says: LIMITS.queuedBuilds.name },
  'fractional-ms.yaml': { text: body('{ kind: poisson, rate_per_hour: 1 }').replace('duration: 1h', 'duration: 1.5'), says: 'not a whole number of milliseconds' },
  'expect-wrong-type.yaml': { text: body('{ kind: poisson, rate_per_hour: 1 }', 'expect:\n  - { metric: builds.lost, equals: lots }\n'), says: 'is a number' },
  'long-value.yaml': { text: `${GOOD}description: ${'d'.repeat(100_000)}\n`, says: LIMITS.stringChars.name },
  'disaster.yaml': { text: `${GOOD}disaster: { at: 10m, kind: services_machine_terminated }\n`, says: 'a DR rehearsal needs `backups`' },
  'autoscaling.yaml': { text: `${GOOD}autoscaling: { min: 4, max: 1 }\n`, says: 'autoscaling' },
  'trace-escape.yaml': { text: body('{ kind: trace, file: ../../../../etc/passwd }'), says: 'outside the scenario file\'s folder' },
  'trace-dev-zero.yaml': { text: body('{ kind: trace, file: zero.csv }'), says: 'a link to a file outside' },
  'garbage.yaml': { text: '\u0000\u0001{[}]: : : \t\t- -\n"', says: 'YAML syntax' },
  'zero-median.yaml': { text: body('{ kind: poisson, rate_per_hour: 1 }').replace('{ duration: 5m }', '{ duration: { median: 0, p95: 1m } }'), says: 'median' },
};

function capture() {
  let stdout = '';
  let stderr = '';
  return {
    io: { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    get out() {
      return stdout;
    },
    get err() {
      return stderr;
    },
  };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

symlinkSync('/dev/zero', join(dir, 'zero.csv'));
const paths = Object.fromEntries(Object.entries(HOSTILE).map(([name, h]) => [name, file(name, h.text)]));
const good = file('good.yaml', GOOD);

describe('hostile scenario files through the CLI', () => {
  for (const [name, h] of Object.entries(HOSTILE)) {
    it(`validate ${name}: exit 2, located, says why, no stack trace`, async () => {
      const c = capture();
      expect(await main(['validate', paths[name]!], c.io)).toBe(2);
      expect(c.err).toContain(h.says);
      expect(c.err).toMatch(new RegExp(`^${paths[name]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+:`, 'm'));
      expect(c.err).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack frames
      expect(c.err).not.toContain('internal error');
      expect(c.err.length).toBeLessThan(4_000);
    });
  }

  it('/dev/zero as the scenario: exit 2 at once', async () => {
    const c = capture();
    expect(await main(['validate', '/dev/zero'], c.io)).toBe(2);
    expect(c.err).toContain('/dev/zero:1:1: is a character device, not a regular file');
  });

  it('a scenario file one byte over max_scenario_file_bytes is refused unread', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, LIMITS.scenarioFileBytes.value + 1);
    const c = capture();
    expect(await main(['validate', big], c.io)).toBe(2);
    expect(c.err).toContain(LIMITS.scenarioFileBytes.name);
  });

  it('run: nothing is written to --out when any file fails, good files included', async () => {
    const out = join(dir, 'out');
    mkdirSync(out);
    const c = capture();
    expect(await main(['run', good, ...Object.values(paths), '--out', out, '--quiet'], c.io)).toBe(2);
    expect(readdirSync(out)).toEqual([]);
    expect(c.out).toBe('');
    for (const name of Object.keys(HOSTILE)) expect(c.err).toContain(name);
    expect(c.err).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  });

  it('run: the good file alone runs and writes its report (the check above is not vacuous)', async () => {
    const out = join(dir, 'out-good');
    const c = capture();
    expect(await main(['run', good, '--out', out, '--quiet'], c.io)).toBe(0);
    expect(existsSync(join(out, 'report.json'))).toBe(true);
  });
});
