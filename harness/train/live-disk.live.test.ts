/**
 * disk-full-logrotate-down on the live stack, as `twin train --drill disk-full-logrotate-down --mode live --script
 * FILE` runs it (port offset 27000, at 300x so its 3h20m before the login take 40 wall seconds): tutum/logrotate
 * (hardcore_cray) killed, the live services' logs grow unrotated, the simulation's disk rule on their real bytes
 * says the volume passed RabbitMQ's limit, the private RabbitMQ node's own disk alarm goes off (rabbitmqctl
 * set_disk_free_limit) and blocks publishers; `sudo docker start hardcore_cray` rotates them and the alarm clears.
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
  it('the shortest path: df -h full past the limit, RabbitMQ\'s real disk alarm in its log, `sudo docker start hardcore_cray` clears it and the next build succeeds (score as in the simulation)', async () => {
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
    // The real node blocked the publishers: webhooks frontend could not take while the alarm was on.
    expect(log).toMatch(/pushes replayed: \d+ \([1-9]\d* webhooks frontend did not take/);
    expect(r.checks.find((c) => c.check === 'container_running tutum/logrotate')).toMatchObject({ passed: true });
    expect(r.checks.find((c) => c.check === 'next_build_succeeds')).toMatchObject({ passed: true });
    expect(r.grade.rootCauseCorrect).toBe(true);
    expect(r.fixed).toBe(true);
    // The same session scores 95 in the simulation (`twin train --drill disk-full-logrotate-down --script ...`).
    expect(r.grade.score).toBe(95);
  }, 300_000);
});
