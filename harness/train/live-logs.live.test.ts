/**
 * The live services' own logs at the drill console, on the live stack (ports at 29000 + documented): their lines
 * carry the installation's clock (the one the prompt and `docker ps` show), and `sudo docker logs -f` streams the
 * lines a service writes while it is followed (in a script, for the simulation's bound, then `^C`). One stack,
 * about a minute to boot at nice 19.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FOLLOW_MAX_MS } from '../../sim/training/session.ts';
import { drillFile, loadDrill } from './drills.ts';
import { runLiveDrill } from './live-drill.ts';
import { ownLiveEnv } from './live-test-env.ts';

const PORT_OFFSET = 29_000;
const LIVE_TIMEOUT_MS = 600_000;
const env = ownLiveEnv('twin-train-logs-data-');
const dataRoot = env.dataRoot;
afterAll(() => env.restore());

/** `Jan 5 08:40:12.345:+0000` → minutes since Jan 5 00:00 (the installation's first day). */
function minuteOf(line: string): number {
  const m = /^Jan (\d+) (\d\d):(\d\d):\d\d\.\d{3}:\+0000 /.exec(line);
  if (m === null) throw new Error(`not on the installation's clock (Jan 5, the twin's virtual 0 is 08:00): ${line}`);
  return (Number(m[1]) - 5) * 1440 + Number(m[2]) * 60 + Number(m[3]);
}
const clockMinute = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

describe('the live services\' logs at the drill console', () => {
  it('print the installation\'s clock, and docker logs -f streams picard-dispatcher taking the backlog after its restart', async () => {
    const { drill, installation, profile } = loadDrill(drillFile('queued-at-picard-dispatcher'));
    let stdout = '';
    let stderr = '';
    const script = ['sudo docker logs --tail 5 picard-dispatcher', 'sudo docker restart picard-dispatcher', 'sudo docker logs -f --tail 0 picard-dispatcher', 'exit'].join('\n');
    const result = await runLiveDrill({
      drill,
      installation,
      profile,
      script,
      stdin: process.stdin,
      stdout: Object.assign(new (await import('node:stream')).Writable({ write: (c, _e, cb) => ((stdout += String(c)), cb()) })),
      commandMs: 30_000,
      nomad: 'twin',
      portOffset: PORT_OFFSET,
      log: (l) => (stderr += `${l}\n`),
    });
    console.info(`live logs:\n${result.entries.slice(0, 3).map((e) => `[${e.clock}] $ ${e.command}\n${e.output.split('\n').slice(-4).join('\n')}`).join('\n')}`);
    expect(readdirSync(dataRoot)).toEqual([]);
    const [tail, , follow] = result.entries;
    expect(tail!.command, stderr).toBe('sudo docker logs --tail 5 picard-dispatcher');
    // The heartbeat written while the installation ran healthy (its 10-minute warm-up), before the hang: stamped at
    // the installation's time, so at or before the prompt's clock and after the warm-up began.
    const beats = tail!.output.split('\n').filter((l) => l.includes('Still running...'));
    expect(beats.length, tail!.output).toBeGreaterThan(0);
    const login = clockMinute(tail!.clock);
    for (const b of beats) {
      expect(minuteOf(b)).toBeLessThanOrEqual(login);
      expect(minuteOf(b)).toBeGreaterThanOrEqual(login - 40);
    }
    // Following: the lines written after the command ran, each on the installation's clock during the follow, then ^C.
    expect(follow!.command).toBe('sudo docker logs -f --tail 0 picard-dispatcher');
    const followed = follow!.output.split('\n');
    expect(followed.at(-1), follow!.output).toBe('^C');
    const lines = followed.slice(0, -1);
    expect(lines.length, follow!.output).toBeGreaterThan(0);
    const from = clockMinute(follow!.clock);
    for (const l of lines) {
      expect(minuteOf(l)).toBeGreaterThanOrEqual(from);
      expect(minuteOf(l)).toBeLessThanOrEqual(from + FOLLOW_MAX_MS / 60_000 + 2);
    }
    expect(stdout).toContain('^C\nubuntu@ip-172-31-72-162:~$ exit');
  }, LIVE_TIMEOUT_MS);
});
