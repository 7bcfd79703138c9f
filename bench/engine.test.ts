import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { simpySide } from './engine.ts';

const hasSimpy = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import SimPy.Simulation']).status === 0;
if (!hasSimpy) console.log('skipping the SimPy run: no SimPy under /usr/bin/python3; install the Debian package python3-simpy (apt-get install python3-simpy), as .ci/run does');

// Not a timed test: what is checked is that the SimPy anchor is either measured for real or named as missing.
describe('the SimPy anchor of the engine bench', () => {
  it('is named as missing, with the package to install, when there is no interpreter', () => {
    expect(simpySide(1, ['/nonexistent/python3'])).toEqual({ missing: expect.stringMatching(/^\/nonexistent\/python3 not found; apt-get install python3-simpy/) });
  });

  it.skipIf(!existsSync('/usr/bin/python3'))('is named as missing when the interpreter has no SimPy (python -S hides dist-packages)', () => {
    expect(simpySide(1, ['/usr/bin/python3', '-S'])).toEqual({ missing: expect.stringMatching(/SimPy is not importable under .*No module named 'SimPy'.*; apt-get install python3-simpy/) });
  });

  it.skipIf(!hasSimpy)('runs the hold model on SimPy 2.3.1 for the asked number of events, where it is installed', () => {
    const r = simpySide(1, ['/usr/bin/python3'], 20_000);
    if ('missing' in r) throw new Error(r.missing);
    expect(r).toMatchObject({ side: 'simpy', events: 20_000, version: expect.stringMatching(/^SimPy 2\.3\.1, Python 3\./) });
    // 20,000 holds of mean 1 s shared by 1,000 processes end near 20 s of simulated time.
    expect(r.check).toBeGreaterThan(15_000);
    expect(r.check).toBeLessThan(25_000);
    expect(r.cpuS).toBeGreaterThan(0);
  });
});
