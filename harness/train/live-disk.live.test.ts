/**
 * disk-full-logrotate-down on the live stack, as `twin train --drill disk-full-logrotate-down --mode live --script
 * FILE` runs it (port offset 27000, at 300x so its 3h20m before the login take 40 wall seconds): tutum/logrotate
 * (hardcore_cray) killed, the live services' logs grow unrotated, the simulation's disk ticked on the live
 * installation's hours and finished builds (live-disk.ts) says the volume passed RabbitMQ's limit, the private
 * RabbitMQ node's own disk alarm goes off (rabbit_disk_monitor:set_disk_free_limit) and blocks publishers; `sudo
 * docker start hardcore_cray` rotates them and the alarm clears.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drillFile, loadDrill } from './drills.ts';
import { runLiveDrill } from './live-drill.ts';
import { DEFAULT_COMMAND_MS } from '../../sim/training/session.ts';
import { ownLiveEnv } from './live-test-env.ts';

const PORT_OFFSET = 27_000;
const TIME_SCALE = 300;
const SESSION = new URL('./sessions/disk-full-shortest.txt', import.meta.url).pathname;

const env = ownLiveEnv('twin-train-disk-data-');
afterAll(() => env.restore());

/** What one command printed in the transcript (the text after its prompt, up to the next prompt). */
function outputsOf(text: string, command: string): string[] {
  return text.split('ubuntu@ip-172-31-72-162:~$ ').filter((b) => b.startsWith(command));
}

describe('disk-full-logrotate-down on the live stack', () => {
  it('the shortest path: df -h full past the limit, RabbitMQ\'s real disk alarm in its log, `sudo docker start hardcore_cray` clears it and the next build succeeds (the simulation\'s grade but for the time part)', async () => {
    const { drill, installation, profile } = loadDrill(drillFile('disk-full-logrotate-down'));
    let text = '';
    let log = '';
    const r = await runLiveDrill({
      drill,
      installation,
      profile,
      script: readFileSync(SESSION, 'utf8'),
      stdin: process.stdin,
      stdout: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream,
      commandMs: DEFAULT_COMMAND_MS,
      nomad: 'twin',
      timeScale: TIME_SCALE,
      portOffset: PORT_OFFSET,
      log: (line) => (log += `${line}\n`),
    });
    console.info(`${log}\nscore ${r.grade.score}, ${r.checks.map((c) => `${c.passed ? 'ok' : 'FAIL'} ${c.check}: ${c.observed}`).join(' | ')}\n${text}`);
    expect(readdirSync(env.dataRoot)).toEqual([]);
    // df -h: the simulation's rows, the root volume below RabbitMQ's 5 GB limit before the fix, above it after.
    const dfs = outputsOf(text, 'df -h');
    expect(dfs).toHaveLength(2);
    const avail = dfs.map((d) => Number(/\/dev\/nvme0n1p1 +100G +\S+ +([\d.]+)G +\d+% \/\n/.exec(d)?.[1]));
    expect(avail[0]).toBeLessThan(5);
    expect(avail[1]).toBeGreaterThanOrEqual(5);
    expect(outputsOf(text, 'sudo docker ps -a')[0]).toMatch(/tutum-logrotate:latest +"crond -f" .* Exited \(137\) .* hardcore_cray/);
    // RabbitMQ's log: the seeds' report (the simulation's shape), written when the real node's alarm went off, and the
    // real node's own lines saying so.
    const rabbitLog = outputsOf(text, 'sudo docker logs rabbitmq')[0];
    expect(rabbitLog).toMatch(/disk resource limit alarm set on node 'twin-[0-9a-f]+@localhost'/);
    expect(rabbitLog).toMatch(/=WARNING REPORT==== \d+-Jan-2026::\d\d:\d\d:\d\d ===\ndisk resource limit alarm set on node rabbit@rabbitmq\.\n\n\*+\n\*\*\* Publishers will be blocked until this alarm clears \*\*\*/);
    // The real node blocked the publishers. Not as webhooks frontend did not take: a push waits for its publish's
    // confirm and GHE gives up after 10 wall seconds, so one is lost only when the alarm holds that long after it was
    // sent; at 300x the alarm is set about 30 minutes of the installation's time before the login (6 wall seconds) and
    // a replayed session clears it seconds later (the runs: 0 not taken). What the alarm does produce: pushes sent
    // while it held are not taken while it holds (frontend's publish waits); they go through once it clears (or time out).
    const held = /(\d+) sent while RabbitMQ's disk alarm held: (\d+) taken before it cleared, (\d+) after, (\d+) not taken/.exec(log);
    expect(held, 'the pushes sent while the alarm held').not.toBeNull();
    const [sent, takenWhileHeld, takenAfter, notTaken] = held!.slice(1).map(Number) as [number, number, number, number];
    expect(sent).toBeGreaterThan(0);
    expect(takenWhileHeld).toBe(0);
    expect(takenAfter + notTaken).toBeGreaterThan(0);
    expect(r.checks.find((c) => c.check === 'container_running tutum/logrotate')).toMatchObject({ passed: true });
    expect(r.checks.find((c) => c.check === 'next_build_succeeds')).toMatchObject({ passed: true });
    expect(r.grade.rootCauseCorrect).toBe(true);
    expect(r.fixed).toBe(true);
    // The same session scores 95 in the simulation (`twin train --drill disk-full-logrotate-down --script ...`): the
    // same diagnosis, fix, commands and hints parts, but time 9.2 there (30 s a command: 1.69x the shortest path's);
    // a replayed script on the live stack spends none of the trainee's time between prompts (only the fix's, as the
    // simulation reckons it), so its time part is full.
    expect(r.grade.parts).toEqual({ diagnosis: 40, fix: 30, time: 10, commands: 6, hints: 10 });
    expect(r.grade.score).toBe(96);
  }, 300_000);
});
