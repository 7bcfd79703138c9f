import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { drillFile, loadDrill } from './drills.ts';
import { badDrill } from './bad-drill.ts';
import { liveBlockers } from '../../sim/training/live-support.ts';
import { liveActionsOn } from '../../sim/faults/catalogue.ts';
import { runScript } from './console.ts';
import { TrainingSession } from '../../sim/training/session.ts';

/** The two drills of the seeds added last: no Nomad clients at all, and a stale /opt/nomad after a restore. */

const SESSIONS = join(process.cwd(), 'harness/train/sessions');

function session(name: string): TrainingSession {
  const { drill, installation, profile } = loadDrill(drillFile(name));
  return new TrainingSession(drill, installation, profile);
}

/** Replays a session file as `twin train --script FILE` does; returns what the terminal showed and the result. */
async function replay(name: string, sessionFile: string) {
  const s = session(name);
  let text = '';
  await runScript(s, readFileSync(join(SESSIONS, sessionFile), 'utf8'), { write: (x: string) => (text += x) });
  return { text, r: s.finish() };
}

describe('no-nomad-clients: the Auto Scaling Group keeps no client', () => {
  it('shows no client to run anything: every client down, the group at 0, the builds pending at Nomad', () => {
    const s = session('no-nomad-clients');
    expect(s.execute('nomad node-status').output.split('\n').slice(1).every((l) => / down$/.test(l))).toBe(true);
    const asg = JSON.parse(s.execute('aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names nomad-clients').output) as { AutoScalingGroups: { MinSize: number; DesiredCapacity: number; Instances: unknown[] }[] };
    expect(asg.AutoScalingGroups[0]).toMatchObject({ MinSize: 0, DesiredCapacity: 0, Instances: [] });
    expect(Number(s.execute('nomad status | grep -c pending').output)).toBeGreaterThan(10);
  });

  it('is solved along the shortest path in a scripted session (score 100)', async () => {
    const { text, r } = await replay('no-nomad-clients', 'no-nomad-clients-shortest.txt');
    expect(text).toContain('"MinSize": 0,');
    expect(r.checks.filter((c) => !c.passed)).toEqual([]);
    expect(r.grade.score).toBe(100);
  });

  it('does not credit the wrong diagnosis (draining) and takes the hints off, then verifies the fix', async () => {
    const { text, r } = await replay('no-nomad-clients', 'no-nomad-clients-wrong-diagnosis.txt');
    expect(text).toContain('answer: nomad_client draining: that is not the root cause of this ticket (not credited)');
    expect(r.answers.map((a) => a.correct)).toEqual([false, true]);
    expect(r.fixed).toBe(true);
    expect(r.grade.score).toBe(72);
  });

  it('answers AWS\'s refusals as the CLI prints them, and changes nothing then', () => {
    const s = session('no-nomad-clients');
    const r = s.execute('aws autoscaling update-auto-scaling-group --auto-scaling-group-name nomad-clients --min-size 4 --max-size 2');
    expect(r).toMatchObject({ exit: 255, output: expect.stringContaining('An error occurred (ValidationError) when calling the UpdateAutoScalingGroup operation: Max bound, 2, must be greater than or equal to min bound, 4') });
    expect(s.execute('aws autoscaling set-desired-capacity --auto-scaling-group-name other --desired-capacity 4').output).toContain("AutoScalingGroup 'other' not found");
    expect(s.execute('aws autoscaling update-auto-scaling-group --auto-scaling-group-name nomad-clients --min-size four').exit).toBe(255);
    expect(s.execute('aws ec2 describe-instances').exit).toBe(2);
    expect(s.finish().checks.find((c) => c.check === 'clients_eligible 4')!.passed).toBe(false);
  });
});

describe('nomad-state-stale-after-restore: the restored /opt/nomad holds the fleet', () => {
  it('shows the stale jobs running, and a client that does not know their allocation', () => {
    const s = session('nomad-state-stale-after-restore');
    expect(s.execute('nomad status | grep -c 11873').output).toBe('1');
    const alloc = /\n(\w{8}) .* running$/.exec(s.execute('nomad status 000000000000000000002e61').output)![1]!;
    expect(s.execute(`nomad logs -stderr ${alloc}`).output).toMatch(/^Error reading file: Unexpected response code: 500 \(unknown allocation ID "[0-9a-f-]{36}"\)$/);
  });

  it('is solved along the shortest path in a scripted session (score 100)', async () => {
    const { r } = await replay('nomad-state-stale-after-restore', 'nomad-state-stale-shortest.txt');
    expect(r.checks.filter((c) => !c.passed)).toEqual([]);
    expect(r.grade.score).toBe(100);
  });

  it('does not credit blaming the clients, then takes rm -rf /opt/nomad and a restart of nomad as the fix', async () => {
    const { text, r } = await replay('nomad-state-stale-after-restore', 'nomad-state-stale-wrong-diagnosis.txt');
    expect(text).toContain('(unknown allocation ID "08759d8e');
    expect(r.answers.map((a) => a.correct)).toEqual([false, true]);
    expect(r.fixed).toBe(true);
    expect(r.grade.score).toBe(88);
  });

  it('refuses rm without root or without -r; a running server keeps its state until it starts again', () => {
    const s = session('nomad-state-stale-after-restore');
    expect(s.execute('rm -rf /opt/nomad')).toMatchObject({ exit: 1, output: "rm: cannot remove '/opt/nomad': Permission denied" });
    expect(s.execute('sudo rm /opt/nomad')).toMatchObject({ exit: 1, output: "rm: cannot remove '/opt/nomad': Is a directory" });
    expect(s.execute('sudo rm -rf /opt/nomad').exit).toBe(0);
    expect(s.twin.fleet.staleAllocations()).toBe(11);
    expect(s.execute('ls /opt/nomad')).toMatchObject({ exit: 2, output: "ls: cannot access '/opt/nomad': No such file or directory" });
    s.execute('sudo docker restart nomad');
    expect(s.twin.fleet.staleAllocations()).toBe(0);
    // The server writes its data directory anew when it starts.
    expect(s.execute('ls /opt/nomad').output).toBe('data');
    expect(s.execute('sudo rm -rf /opt/nomad/*').exit).toBe(0);
    expect(s.execute('ls /opt/nomad')).toMatchObject({ exit: 0, output: '' });
  });
});

describe('a bad hidden change', () => {
  const bad = (edit: (t: string) => string) => badDrill('no-nomad-clients', edit);

  it('refuses an Auto Scaling Group change on an installation without one', () => {
    const e = bad((t) => t.replace('small-team-asg.yaml', 'small-team.yaml'));
    expect(e.issues[0]).toMatchObject({ field: 'installation', message: expect.stringContaining('the installation has none') });
  });

  it('refuses a change after the login, one that sets nothing, and a shape it does not know', () => {
    expect(bad((t) => t.replace('at: 30m, asg', 'at: 2h, asg')).issues[0]).toMatchObject({ field: 'changes[0].at', message: expect.stringContaining('would not be hidden') });
    expect(bad((t) => t.replace('asg: { min: 0, desired: 0 }', 'asg: {}')).issues[0]).toMatchObject({ field: 'changes[0].asg', message: 'the change sets nothing' });
    expect(bad((t) => t.replace('asg: { min: 0, desired: 0 }', 'asgg: { min: 0 }')).issues[0]).toMatchObject({ field: 'changes[0]', hint: expect.stringContaining('restored_nomad_state') });
  });

  it('refuses a drill that breaks nothing', () => {
    const e = bad((t) => t.replace(/changes:\n(  .*\n)+/, ''));
    expect(e.issues.map((i) => i.message)).toContain('the drill breaks nothing: no `faults` and no `changes`');
  });
});

describe('which drills can run on the live stack', () => {
  it('names, per drill, the hidden fault or change the live stack cannot carry out', () => {
    const blockers = (name: string) => liveBlockers(loadDrill(drillFile(name)).drill);
    // Faults on the pipeline stages and the Nomad clients: the live stack carries them out.
    // exim and slanger too: the live stack runs them, and the notifier sees their absence.
    for (const name of ['queued-at-picard-dispatcher', 'queued-at-picard-scheduler', 'output-processor-unreachable', 'nomad-clients-draining', 'contexts-failing-vault', 'vm-spinup-failing', 'exim-quietly-down', 'slanger-quietly-down']) expect(blockers(name), name).toEqual([]);
    // A change of the Nomad clients' Auto Scaling Group: made on the stack's EC2 endpoint.
    expect(blockers('no-nomad-clients')).toEqual([]);
    // dispatcher is a pipeline stage of its own (the usage queue's consumer), federation-service a health-only service binding to the private slapd.
    for (const name of ['queued-at-dispatcher', 'ldap-logins-failing']) expect(blockers(name), name).toEqual([]);
    for (const target of ['dispatcher', 'federation-service']) expect(liveActionsOn(target), target).toEqual(expect.arrayContaining(['kill', 'stop', 'restart', 'start', 'pause', 'unpause']));
    // tutum/logrotate is a health-only service of the live stack that rotates the live services' logs (live-disk.ts).
    expect(blockers('disk-full-logrotate-down')).toEqual([]);
    expect(liveActionsOn('tutum/logrotate')).toEqual(expect.arrayContaining(['kill', 'stop', 'restart', 'start']));
    // A fault on a container the live stack does not carry it out on is still refused, naming it.
    const disk = loadDrill(drillFile('disk-full-logrotate-down')).drill;
    expect(liveBlockers({ ...disk, faults: disk.faults.map((f) => ({ ...f, target: 'test-results', writtenTarget: 'test-results' })) })[0]).toContain('the live stack runs no test-results');
    // The restored /opt/nomad is carried out live (restored-nomad.ts) and its fix typed there (replicated app, sudo rm -rf /opt/nomad).
    expect(blockers('nomad-state-stale-after-restore')).toEqual([]);
  });
});
