import { describe, expect, it } from 'vitest';

import { PassThrough } from 'node:stream';
import { drillFile, drillFiles, loadDrill } from './drills.ts';
import { runInteractive, runScript } from './console.ts';
import { FOLLOW_MAX_LINES, FOLLOW_MAX_MS, FOLLOW_STEP_MS, newLines, TrainingSession } from '../../sim/training/session.ts';
import { exportsOf, heapBytes } from '../../sim/training/etc-files.ts';

function session(name = 'queued-at-picard-dispatcher') {
  const { drill, installation, profile } = loadDrill(drillFile(name));
  return new TrainingSession(drill, installation, profile);
}

async function script(lines: string, name?: string): Promise<{ text: string; s: TrainingSession }> {
  const s = session(name);
  let text = '';
  await runScript(s, lines, { write: (x: string) => (text += x) });
  return { text, s };
}

describe('docker logs -f', () => {
  it('prints what a running container writes as the installation moves on, then stops at its limit with ^C', () => {
    const s = session();
    const r = s.execute('sudo docker logs -f --tail 1 dispatcher');
    expect(r.following).toBe(true);
    const startMs = s.nowMs;
    const printed: string[] = [];
    for (let i = 0; i < 1000 && s.isFollowing; i++) {
      const step = s.followStep();
      if (step.output !== '') printed.push(...step.output.split('\n'));
      if (step.done) expect(step.stoppedBy).toBe('limit');
    }
    expect(printed.length).toBeGreaterThan(0);
    expect(printed.length).toBeLessThanOrEqual(FOLLOW_MAX_LINES);
    expect(printed.every((l) => l.includes('circle.backend.build.usage-queue'))).toBe(true);
    // Only lines written after the follow began: each is later than the line --tail 1 showed.
    expect(printed.every((l) => l > r.output)).toBe(true);
    expect(s.nowMs - startMs).toBeLessThanOrEqual(FOLLOW_MAX_MS);
    expect(s.entries.at(-1)!.output.endsWith('^C')).toBe(true);
  });

  it('shows the hang: a hung picard-dispatcher writes nothing while followed, a restarted one its heartbeat', async () => {
    const { text } = await script('sudo docker logs --tail 1 -f picard-dispatcher\nsudo docker restart picard-dispatcher\nsudo docker logs -f --tail 0 picard-dispatcher | grep Still\nexit\n');
    const [hung, healthy] = text.split('sudo docker logs').slice(1);
    expect(hung!.split('\n').filter((l) => l.includes('Still running')).length).toBe(0);
    expect(hung).toContain('^C');
    expect(healthy!.split('\n').filter((l) => l.includes('Still running')).length).toBeGreaterThanOrEqual(1);
  });

  it('moves the installation on FOLLOW_STEP_MS a step, and a new command waits until Ctrl-C', () => {
    const s = session();
    s.execute('sudo docker logs -f dispatcher');
    const t = s.nowMs;
    s.followStep();
    expect(s.nowMs - t).toBe(FOLLOW_STEP_MS);
    expect(() => s.execute('sudo docker ps')).toThrow(/following/);
    s.stopFollowing();
    expect(s.execute('sudo docker ps').exit).toBe(0);
  });

  it('does not follow a stopped container (docker returns at once)', () => {
    const s = session('output-processor-unreachable');
    expect(s.execute('sudo docker logs -f output-processor').following).toBeUndefined();
  });

  it('diffs the moving window by lines, not by position', () => {
    expect(newLines(['a', 'b', 'b', 'c'], ['b', 'c', 'd', 'b'])).toEqual(['d']);
    expect(newLines(['a'], ['a', 'a'])).toEqual(['a']);
  });

  it('stops at Ctrl-C in a terminal, and the prompt comes back', async () => {
    const s = session();
    const input = new PassThrough();
    // A terminal: readline in terminal mode turns the typed \x03 into its SIGINT event, as a pty does.
    const output = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    let text = '';
    output.on('data', (d: Buffer) => (text += d.toString()));
    const done = runInteractive(s, input, output, { timeFactor: 600 });
    input.write('sudo docker logs -f --tail 1 dispatcher\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.isFollowing).toBe(true);
    input.write('\x03');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.isFollowing).toBe(false);
    expect(s.entries.at(-1)!.output.endsWith('^C')).toBe(true);
    input.end('exit\n');
    await done;
    expect(s.isOver).toBe(true);
    expect(text.split('ubuntu@ip-172-31-72-162:~$').length).toBeGreaterThanOrEqual(3);
  });
});

describe('the customization files', () => {
  it('take effect at the app\'s next start, not at a docker restart, as the seeds say', async () => {
    const { text, s } = await script([
      'sudo mkdir -p /etc/circleconfig/frontend',
      "echo 'export JVM_HEAP_SIZE=2g' | sudo tee -a /etc/circleconfig/frontend/customizations",
      'sudo docker restart frontend',
      'sudo docker exec frontend printenv JVM_HEAP_SIZE',
      'replicated app stop',
      // The seeds' own form: the app id read from `replicated apps` by a command substitution.
      "sudo replicated app $(sudo replicated apps | grep Enterprise | awk '{print $1;}') start",
      'sudo docker exec frontend printenv JVM_HEAP_SIZE',
      'exit',
    ].join('\n'));
    const printenv = s.entries.filter((e) => e.command.includes('printenv'));
    expect(printenv.map((e) => [e.output, e.exit])).toEqual([['', 1], ['2g', 0]]);
    expect(text).toContain('export JVM_HEAP_SIZE=2g');
  });

  it('refuses writes without root, into a missing directory, and a redirection of `sudo echo`', () => {
    const s = session();
    expect(s.execute("echo 'export A=1' | sudo tee /etc/circleconfig/api-service/customizations").output).toContain('No such file or directory');
    expect(s.execute('mkdir /etc/circleconfig/api-service')).toMatchObject({ exit: 1, output: expect.stringContaining('Permission denied') });
    s.execute('sudo mkdir /etc/circleconfig/api-service');
    expect(s.execute("echo 'export A=1' | tee /etc/circleconfig/api-service/customizations").output).toContain('tee: /etc/circleconfig/api-service/customizations: Permission denied');
    expect(s.execute('sudo echo export A=1 >> /etc/circleconfig/api-service/customizations')).toMatchObject({ exit: 1, output: 'bash: /etc/circleconfig/api-service/customizations: Permission denied' });
    expect(s.execute('cat /etc/circleconfig/api-service/customizations').exit).toBe(1);
    expect(s.execute("sudo sh -c 'echo export DOMAIN_SERVICE_REFRESH_USERS=false >> /etc/circleconfig/api-service/customizations'").exit).toBe(0);
    expect(s.execute('cat /etc/circleconfig/api-service/customizations').output).toBe('export DOMAIN_SERVICE_REFRESH_USERS=false');
    expect(s.execute('sudo vim /etc/circleconfig/api-service/customizations')).toMatchObject({ exit: 127, output: expect.stringContaining('sudo tee -a') });
  });

  it('answers the seeds\' REPL checks of the heap in frontend, the general file giving way to the service\'s own', () => {
    const s = session();
    for (const l of ["echo 'export JVM_HEAP_SIZE=\"4g\"' | sudo tee /etc/circle-installation-customizations", 'sudo mkdir /etc/circleconfig/test-results', "echo 'export JVM_HEAP_SIZE=1536m' | sudo tee /etc/circleconfig/test-results/customizations", 'replicated app stop', 'replicated app start']) expect(s.execute(l).exit, l).toBe(0);
    expect(s.execute('sudo docker exec -it frontend lein repl :connect 2719').exit).toBe(1);
    s.execute('sudo docker exec -it frontend lein repl :connect 6005');
    expect(s.prompt).toBe('user=> ');
    expect(s.execute('(System/getenv "JVM_HEAP_SIZE")').output).toBe('"4g"');
    expect(s.execute('(-> (java.lang.Runtime/getRuntime) (.maxMemory))').output).toBe(String(4 * 1024 ** 3));
    s.execute('(exit)');
    s.execute('sudo docker exec -it test-results lein repl :connect 2719');
    expect(s.execute('(-> (java.lang.Runtime/getRuntime) (.maxMemory))').output).toBe(String(1536 * 1024 ** 2));
    expect(s.execute('(System/getenv "DOMAIN_SERVICE_REFRESH_USERS")').output).toBe('nil');
  });

  it('reads the export lines a shell would export, and heap sizes in their units', () => {
    expect(exportsOf('export A="x y"\nB=2\n  export C=3\n# export D=4\nexport E=\'z\'')).toEqual({ A: 'x y', C: '3', E: 'z' });
    expect([heapBytes('2g'), heapBytes('512M'), heapBytes('1024k'), heapBytes('2 g')]).toEqual([2 * 1024 ** 3, 512 * 1024 ** 2, 1024 ** 2, undefined]);
  });
});

describe('time as the trainee works', () => {
  it('moves the installation by the measured time when the console gives it (a time factor), by commandMs otherwise', () => {
    const s = session();
    const t = s.nowMs;
    s.execute('sudo docker ps', 5_000);
    expect(s.nowMs - t).toBe(5_000);
    s.execute('sudo docker ps');
    expect(s.nowMs - t).toBe(5_000 + s.commandMs);
  });

  it('lets the run queue grow while the trainee looks', () => {
    const s = session();
    s.execute('circleci dev-console');
    s.execute("(in-ns 'circle.backend.build.run-queue)");
    const before = Number(s.execute('(-> (all-builds) count)').output);
    for (let i = 0; i < 10; i++) s.execute('(-> (all-builds) count)');
    expect(Number(s.execute('(-> (all-builds) count)').output)).toBeGreaterThan(before);
  });
});



describe('every drill as a --script session', () => {
  for (const file of drillFiles()) {
    it(`${file.split('/').pop()}: the shortest path, typed as a script, scores 100 and the screen shows the answer accepted`, async () => {
      const { drill, installation, profile } = loadDrill(file);
      const s = new TrainingSession(drill, installation, profile);
      let text = '';
      await runScript(s, [...drill.shortestPath, 'exit'].join('\n'), { write: (x: string) => (text += x) });
      expect(text).toContain('that is the root cause');
      expect(s.finish().grade.score).toBe(100);
    });
  }
});
