import { describe, expect, it } from 'vitest';
import { APP_ID, applyFilters, expandSubstitutions, parsePipeline, parseShellLine, replicatedAppsListing, words, type Filter } from './shell.ts';

describe('the drill shell', () => {
  it('answers an unknown command as bash does', () => {
    expect(parseShellLine('kubectl get pods')).toEqual({ kind: 'refusal', output: 'bash: kubectl: command not found', exit: 127 });
  });

  it('refuses docker without sudo, as the docker socket does', () => {
    const p = parseShellLine('docker ps');
    expect(p).toMatchObject({ kind: 'refusal', exit: 1 });
    expect((p as { output: string }).output).toContain('permission denied');
    expect(parseShellLine('sudo docker ps -a')).toEqual({ kind: 'docker-ps', all: true });
  });

  it('reads docker logs options in their usual spellings', () => {
    expect(parseShellLine('sudo docker logs --tail 20 picard-dispatcher')).toEqual({ kind: 'docker-logs', container: 'picard-dispatcher', tail: 20, follow: false });
    expect(parseShellLine('sudo docker logs -f --tail=5 dispatcher')).toEqual({ kind: 'docker-logs', container: 'dispatcher', tail: 5, follow: true });
    expect(parseShellLine('sudo docker logs --tail x dispatcher')).toMatchObject({ kind: 'refusal', exit: 125 });
    expect(parseShellLine('sudo docker logs')).toMatchObject({ kind: 'refusal', exit: 125 });
  });

  it('takes the seeds\' `docker exec -it nomad nomad ...` as the nomad CLI, and Nomad 0.9\'s `node status`', () => {
    expect(parseShellLine('sudo docker exec -it nomad nomad status')).toEqual({ kind: 'nomad-status', job: undefined });
    expect(parseShellLine('nomad node status -allocs')).toEqual({ kind: 'nomad-node-status', allocs: true, self: false, node: undefined });
    expect(parseShellLine('nomad node-drain -disable -yes 3fbc8e92')).toEqual({ kind: 'nomad-node-drain', enable: false, node: '3fbc8e92', self: false });
    expect(parseShellLine('nomad node-drain 3fbc8e92')).toMatchObject({ kind: 'refusal', output: 'Ambiguous command, either -enable or -disable is required' });
  });

  it('knows the twin\'s own words inside a drill', () => {
    expect(parseShellLine('twin answer exim down')).toEqual({ kind: 'answer', words: ['exim', 'down'] });
    expect(parseShellLine('answer')).toEqual({ kind: 'answer', words: [] });
    expect(parseShellLine('  # a comment')).toEqual({ kind: 'noop' });
    expect(parseShellLine(`replicated app ${APP_ID} stop`)).toEqual({ kind: 'replicated-app', verb: 'stop' });
    expect(parseShellLine('replicated app 2a7f stop')).toEqual({ kind: 'refusal', output: 'Error: app 2a7f not found (sudo replicated apps lists the app id)', exit: 1 });
  });

  it('splits words with quotes and refuses an unbalanced quote', () => {
    expect(words(`curl -i "http://localhost:8082/status" 'a b'`)).toEqual(['curl', '-i', 'http://localhost:8082/status', 'a b']);
    expect(parseShellLine('echo "oops')).toMatchObject({ kind: 'refusal', exit: 2 });
  });

  it('pipes output through grep, tail, head and wc -l; another program after a pipe is not found', () => {
    const p = parsePipeline('sudo docker ps -a | grep -i EXIM | wc -l');
    expect(p).toEqual({ command: 'sudo docker ps -a ', filters: [{ kind: 'grep', pattern: 'EXIM', ignoreCase: true, invert: false, regex: false, count: false }, { kind: 'wc-l' }] });
    const text = 'a exim\nb redis\nc exim';
    expect(applyFilters(text, 0, [{ kind: 'grep', pattern: 'exim', ignoreCase: false, invert: false, regex: false, count: false }, { kind: 'tail', lines: 1 }])).toEqual({ output: 'c exim', exit: 0 });
    expect(applyFilters(text, 0, [{ kind: 'grep', pattern: 'nomad', ignoreCase: false, invert: false, regex: false, count: false }])).toEqual({ output: '', exit: 1 });
    expect(parsePipeline('sudo docker logs dispatcher | sort')).toEqual({ kind: 'refusal', output: 'bash: sort: command not found', exit: 127 });
    expect(parsePipeline('sudo docker logs dispatcher | awk 1')).toMatchObject({ kind: 'refusal', exit: 2, output: expect.stringContaining("awk runs `{print $N}` programs only") });
    expect(parsePipeline("echo 'a|b'")).toEqual({ command: "echo 'a|b'", filters: [] });
    expect(parsePipeline('sudo docker ps | tail -n x')).toMatchObject({ kind: 'refusal', exit: 1 });
  });

  it('awk prints the fields a `{print $N}` program names, split at blanks or at -F', () => {
    const p = parsePipeline(`sudo replicated apps | grep Enterprise | awk '{print $1;}'`);
    expect(p).toMatchObject({ filters: [{ kind: 'grep' }, { kind: 'awk-print', fields: [1], separator: undefined }] });
    const listing = replicatedAppsListing('2.19.6');
    expect(applyFilters(listing, 0, (p as { filters: Filter[] }).filters)).toEqual({ output: APP_ID, exit: 0 });
    // Leading blanks are not a field; `$0` is the line; a field past the end is empty.
    expect(applyFilters('  a  b\tc', 0, [{ kind: 'awk-print', fields: [2, 3, 0, 9], separator: undefined }])).toEqual({ output: 'b c   a  b\tc ', exit: 0 });
    expect(parsePipeline("cat /etc/passwd | awk -F: '{ print $1, $3 }'")).toMatchObject({ filters: [{ kind: 'awk-print', fields: [1, 3], separator: ':' }] });
    expect(applyFilters('root:x:0', 0, [{ kind: 'awk-print', fields: [1, 3], separator: ':' }]).output).toBe('root 0');
    expect(parsePipeline("ls | awk '{s+=$1} END {print s}'")).toMatchObject({ kind: 'refusal', exit: 2 });
  });

  it('expands an unquoted $(...) with what its command prints, leaves a double-quoted one as typed, refuses an open or nested one', () => {
    const seen: string[] = [];
    const run = (inner: string) => {
      seen.push(inner);
      return inner.includes('fail') ? { output: 'bash: fail: command not found', exit: 127 } : { output: 'id1\nid2\n\n', exit: 0 };
    };
    expect(expandSubstitutions(`sudo replicated app $(sudo replicated apps | awk '{print $1;}') start`, run)).toEqual({ line: 'sudo replicated app id1 id2 start' });
    expect(seen).toEqual([`sudo replicated apps | awk '{print $1;}'`]);
    expect(expandSubstitutions(`aws ec2 register-image --name "CircleCI-restore-$(date '+%s')"`, run)).toEqual({ line: `aws ec2 register-image --name "CircleCI-restore-$(date '+%s')"` });
    expect(expandSubstitutions(`echo '$(x)' \\$(y)`, run)).toEqual({ line: `echo '$(x)' \\$(y)` });
    expect(expandSubstitutions('echo $(fail)', run)).toEqual({ kind: 'refusal', output: 'bash: fail: command not found', exit: 127 });
    expect(expandSubstitutions('echo $(date', run)).toMatchObject({ kind: 'refusal', exit: 2 });
    expect(expandSubstitutions('echo $(echo $(date))', run)).toMatchObject({ kind: 'refusal', exit: 2 });
    // Only the first and the failing one ran: the open and the nested ones were refused before running anything.
    expect(seen).toEqual([`sudo replicated apps | awk '{print $1;}'`, 'fail']);
  });

  it('reads nomad logs\' -tail as a switch and -n as the count', () => {
    expect(parseShellLine('nomad logs -stderr -tail 3fbc8e92')).toEqual({ kind: 'nomad-logs', stderr: true, alloc: '3fbc8e92', tail: 10 });
    expect(parseShellLine('nomad alloc logs -stderr -tail -n 20 3fbc8e92')).toEqual({ kind: 'nomad-logs', stderr: true, alloc: '3fbc8e92', tail: 20 });
    expect(parseShellLine('nomad logs -stderr 3fbc8e92')).toEqual({ kind: 'nomad-logs', stderr: true, alloc: '3fbc8e92', tail: undefined });
  });

  it('counts with grep -c, 0 and exit 1 when nothing matches', () => {
    const p = parsePipeline('nomad status | grep -c running');
    expect('filters' in p && applyFilters('a running\nb pending\nc running', 0, p.filters)).toEqual({ output: '2', exit: 0 });
    expect('filters' in p && applyFilters('b pending', 0, p.filters)).toEqual({ output: '0', exit: 1 });
  });

  it('reads the AWS CLI\'s Auto Scaling commands: --opt value and --opt=value, counts as integers, unknown options refused', () => {
    expect(parseShellLine('aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names nomad-clients other --region us-east-1')).toEqual({ kind: 'aws-asg-describe', names: ['nomad-clients', 'other'] });
    expect(parseShellLine('aws autoscaling update-auto-scaling-group --auto-scaling-group-name=nomad-clients --min-size 4 --desired-capacity=4')).toEqual({ kind: 'aws-asg-update', name: 'nomad-clients', min: 4, max: undefined, desired: 4, explicitDesired: false });
    expect(parseShellLine('aws autoscaling set-desired-capacity --auto-scaling-group-name nomad-clients --desired-capacity 2')).toMatchObject({ kind: 'aws-asg-update', desired: 2, explicitDesired: true });
    expect(parseShellLine('aws autoscaling set-desired-capacity --auto-scaling-group-name nomad-clients')).toMatchObject({ kind: 'refusal', exit: 2, output: expect.stringContaining('required: --desired-capacity') });
    expect(parseShellLine('aws autoscaling update-auto-scaling-group --auto-scaling-group-name nomad-clients --min 4')).toMatchObject({ kind: 'refusal', output: expect.stringContaining('Unknown options: --min') });
    expect(parseShellLine('aws autoscaling update-auto-scaling-group --auto-scaling-group-name nomad-clients --min-size -1')).toMatchObject({ kind: 'refusal', exit: 255 });
    expect(parseShellLine('aws autoscaling update-auto-scaling-group --auto-scaling-group-name nomad-clients --min-size four')).toMatchObject({ kind: 'refusal', exit: 255, output: expect.stringContaining('Invalid type for parameter MinSize, value: four') });
  });

  it('reads rm\'s -r and -f in any spelling', () => {
    expect(parseShellLine('sudo rm -rf /opt/nomad')).toEqual({ kind: 'rm', path: '/opt/nomad', force: true, recursive: true, sudo: true });
    expect(parseShellLine('sudo rm -R --force /opt/nomad')).toMatchObject({ force: true, recursive: true });
    expect(parseShellLine('rm /opt/nomad')).toMatchObject({ force: false, recursive: false, sudo: false });
  });
});
