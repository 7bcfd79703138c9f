import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../scenario/parse.ts';
import { fixtureContext } from '../../../harness/scenario/load.ts';
import { loadAnyRunbook, loadRunbook } from '../../../fixtures/runbooks/load.ts';
import { runDrRehearsal } from './dr-report.ts';
import { BUILDER_AMI_ID, DrAdminShell, interactiveRefusals, MAX_SESSION_LINES, NEW_ENI_ID, NOMAD_CLIENTS_GROUP, OLD_INSTANCE_ID, REPLICA_ENI_ID, shellWords, snapshotId } from './admin-shell.ts';
import { chainRunbooks } from './runbook.ts';
import { rehearse } from './dr-rehearsal.ts';
import { APP_ID } from '../../training/session.ts';

const text = (p: string) => readFileSync(new URL(p, import.meta.url), 'utf8');
const scenario = parseScenario(text('../../../scenarios/dr/ebs-snapshot-restore.yaml'), 'scenarios/dr/ebs-snapshot-restore.yaml', fixtureContext(undefined, 'dr'));
const runbook = loadRunbook('restore-from-ebs');
const load = (name: string) => parseScenario(text(`../../../scenarios/dr/${name}.yaml`), `scenarios/dr/${name}.yaml`, fixtureContext(undefined, 'dr'));
const session = (name: string) =>
  text(`../../../harness/dr/sessions/${name}`)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));

/** Runs lines in a fresh shell; returns the shell and each line's result. */
function play(lines: readonly string[]) {
  const shell = new DrAdminShell(scenario, runbook);
  const results = lines.map((l) => ({ line: l, ...shell.execute(l) }));
  return { shell, results, out: (i: number) => results[i]!.output };
}

/** The get_secret_token step of reassociate-builders. */
const loadAnyToken = () => loadAnyRunbook('reassociate-builders').steps.find((x) => x.does === 'get_secret_token')!;

const REGISTER = `aws ec2 register-image --name r --block-device-mappings "[{\\"DeviceName\\": \\"/dev/sda1\\", \\"Ebs\\": {\\"SnapshotId\\": \\"${snapshotId(3 * 3_600_000)}\\"}}]"`;
const LAUNCH_OLD_IP = 'aws ec2 run-instances --image-id ami-0c1rc1e5e7a5e0001 --private-ip-address 10.0.1.10';
const STOP = `sudo replicated app ${APP_ID} stop`;
const START = `sudo replicated app ${APP_ID} start`;

describe('twin dr --interactive: the admin shell', () => {
  it('the full session drives the same rehearsal as the automatic one: report identical but for the replay line', () => {
    const { shell } = play(session('full-restore.txt'));
    expect(shell.isOver).toBe(true);
    expect(shell.stepsDone).toEqual(runbook.steps.map((s) => s.name));
    const typed = runDrRehearsal(shell.finalScenario(), runbook);
    const auto = runDrRehearsal({ ...scenario, recovery: { ...scenario.recovery!, reassignPrivateIp: true } }, runbook);
    expect({ ...typed, replay: '' }).toEqual({ ...auto, replay: '' });
    expect(typed.runbook.every((s) => s.status === 'done')).toBe(true);
    expect(typed.dr.stale_allocations_at_end).toBe(0);
    expect(typed.passed).toBe(true);
  });

  it('without `sudo rm -rf /opt/nomad` at the old private IP the step is skipped and its consequence shows, on screen and in the report: the stale allocations hold the fleet', () => {
    // skips-nomad-wipe.txt restored at the old address (as live-interactive.live.test.ts replays it): the builders reach the machine from its boot.
    const lines = session('skips-nomad-wipe.txt')
      .filter((l) => !/assign-private-ip-addresses|sed -i/.test(l))
      .map((l) => (l.startsWith('aws ec2 run-instances') ? l.replace('--instance-type m4.2xlarge', '--instance-type m4.2xlarge --private-ip-address 10.0.1.10') : l));
    const { shell, results } = play(lines);
    const status = results.find((r) => r.line === 'status')!.output;
    expect(status).toMatch(/\/opt\/nomad: 10 allocations \(10 stale\)/);
    expect(status).toMatch(/wipe_nomad_state +not done/);
    const r = runDrRehearsal(shell.finalScenario(), runbook);
    const wipe = r.runbook.find((s) => s.step === 'wipe_nomad_state')!;
    expect(wipe.status).toBe('skipped');
    expect(wipe.consequence).toMatch(/kept 10 stale allocations holding \d+% of the fleet's CPU/);
    expect(r.dr.stale_allocations_at_end).toBe(10);
    expect(r.passed).toBe(false);
    expect(r.expectations.filter((e) => !e.passed).map((e) => e.metric)).toContain('dr.stale_allocations_at_end');
  });

  it('without `sudo rm -rf /opt/nomad` at a new private IP (skips-nomad-wipe.txt as typed): the builders cannot reach the machine at its boot, their clients go down and the stale allocations are lost with them, as live', () => {
    const { shell, results } = play(session('skips-nomad-wipe.txt'));
    expect(results.find((r) => r.line === 'status')!.output).toMatch(/\/opt\/nomad: 0 allocations \(0 stale\)/);
    const r = runDrRehearsal(shell.finalScenario(), runbook);
    expect(r.dr.stale_allocations_restored).toBe(10);
    expect(r.dr.stale_allocations_at_end).toBe(0);
    expect(r.runbook.find((s) => s.step === 'wipe_nomad_state')).toMatchObject({
      status: 'skipped',
      consequence: 'the restored /opt/nomad brought back 10 stale allocations; none held the fleet at the end: they were lost when the Nomad clients went down (the builders could not reach the machine after its boot)',
    });
    expect(r.dr.timeline.map((e) => e.event)).toContain('builders cannot reach the Services machine: their Nomad clients go down and 10 stale allocations the restored /opt/nomad brought back are lost with them');
  });

  it('is deterministic: the same session gives the same report bytes', () => {
    const a = JSON.stringify(runDrRehearsal(play(session('skips-nomad-wipe.txt')).shell.finalScenario(), runbook));
    expect(JSON.stringify(runDrRehearsal(play(session('skips-nomad-wipe.txt')).shell.finalScenario(), runbook))).toBe(a);
  });

  it('rm -rf /opt/nomad under a running app has no effect, says what it needs, and is out of order once stop_app follows', () => {
    const { shell, out } = play([REGISTER, LAUNCH_OLD_IP, 'sudo rm -rf /opt/nomad', STOP, 'done']);
    expect(out(2)).toMatch(/step 3: wipe_nomad_state .*no effect: the app was running/);
    expect(out(2)).toContain('it requires stop_app, not done yet');
    const r = runDrRehearsal(shell.finalScenario(), runbook);
    expect(r.runbook.find((s) => s.step === 'wipe_nomad_state')).toMatchObject({ status: 'out_of_order' });
    expect(r.runbook.find((s) => s.step === 'start_app')).toMatchObject({ status: 'skipped' });
  });

  it('a new IP with /etc/default/replicated left as it was: builders never reach the Services machine', () => {
    const { shell, out } = play([REGISTER, 'aws ec2 run-instances --image-id ami-0c1rc1e5e7a5e0001', 'aws ec2 assign-private-ip-addresses --network-interface-id eni-0c1rc1e5e7v1ce5b1 --private-ip-addresses 10.0.1.10 --allow-reassignment', START, 'status']);
    expect(out(1)).toContain('"PrivateIpAddress": "10.0.1.77"');
    expect(out(3)).toContain('app started, but builders cannot reach the Services machine');
    expect(out(4)).toContain('builders cannot reach it');
    const r = runDrRehearsal(shell.finalScenario(), runbook);
    expect(r.rto_ms).toBeNull();
    expect(r.dr.builders_reach_services).toBe(false);
    expect(r.runbook.find((s) => s.step === 'update_replicated_ips')!.consequence).toMatch(/builders cannot reach the Services machine: replicated names 10\.0\.1\.10/);
  });

  it('sed edits one file at a time; the step is done when both name the instance', () => {
    const { out, shell } = play([
      REGISTER,
      'aws ec2 run-instances --image-id ami-0c1rc1e5e7a5e0001',
      "sed 's/10.0.1.10/10.0.1.77/g' /etc/default/replicated",
      "sed -i 's/10.0.1.10/10.0.1.77/g' /etc/default/replicated",
      "sudo sed -i 's/10.0.1.10/10.0.1.99/g' /etc/default/replicated",
      "sudo sed -i 's/10.0.1.10/10.0.1.77/g' /etc/default/replicated",
      'cat /etc/default/replicated-operator',
      "sudo sed -i 's/10.0.1.10/10.0.1.77/g' /etc/default/replicated-operator",
    ]);
    expect(out(2)).toContain('LOCAL_ADDRESS=10.0.1.77');
    expect(out(3)).toContain('Permission denied');
    expect(out(4)).toMatch(/not written: .* would name 10\.0\.1\.99/);
    expect(out(5)).toContain('/etc/default/replicated-operator names 10.0.1.10');
    expect(out(6)).toContain('PRIVATE_ADDRESS=10.0.1.10');
    expect(out(7)).toMatch(/step 3: update_replicated_ips done .*now name 10\.0\.1\.77/);
    expect(shell.stepsDone).toEqual(['register_image', 'launch_instance', 'update_replicated_ips']);
  });

  it('mistakes are errors as the real tools word them, and record no step', () => {
    const { out, results, shell } = play([
      STOP,
      'aws ec2 run-instances --image-id ami-0c1rc1e5e7a5e0001',
      'aws ec2 register-image --name r --block-device-mappings "[{\\"Ebs\\": {\\"SnapshotId\\": \\"snap-nope\\"}}]"',
      `aws ec2 register-image --name r --block-device-mappings '[{"Ebs": {"SnapshotId": "${snapshotId(3_600_000)}"}}]'`,
      'aws ec2 describe-instances --colour red',
      'aws ec2 register-image',
      REGISTER,
      REGISTER,
      LAUNCH_OLD_IP,
      'rm -rf /opt/nomad',
      'sudo rm -rf /var/lib/replicated',
      'sudo replicated app 123 stop',
      'kubectl get pods',
      'echo "unclosed',
    ]);
    expect(results.map((r) => r.exit)).toEqual([255, 254, 254, 1, 252, 252, 0, 254, 0, 1, 1, 1, 127, 2]);
    expect(out(0)).toContain('No route to host');
    expect(out(1)).toContain('InvalidAMIID.NotFound');
    expect(out(2)).toContain('InvalidSnapshot.NotFound');
    expect(out(3)).toContain('restores from the newest snapshot complete before the disaster');
    expect(out(4)).toContain('Unknown options: --colour');
    expect(out(5)).toContain('the following arguments are required: --name');
    expect(out(9)).toContain('Permission denied');
    expect(shell.stepsDone).toEqual(['register_image', 'launch_instance']);
    expect(shell.entries.map((e) => e.step ?? '-')).toEqual(['-', '-', '-', '-', '-', '-', 'register_image', '-', 'launch_instance', '-', '-', '-', '-', '-']);
  });

  it('describe-instances shows the terminated box and, once launched, the new one with its addresses', () => {
    const { out } = play(['aws ec2 describe-instances --filters "Name=tag:Name,Values=circleci_services" "Name=instance-state-name,Values=running"', REGISTER, 'aws ec2 run-instances --image-id ami-0c1rc1e5e7a5e0001', 'aws ec2 describe-instances --filters Name=instance-state-name,Values=running']);
    expect(JSON.parse(out(0))).toEqual({ Reservations: [] });
    const running = JSON.parse(out(3)).Reservations.map((r: { Instances: { InstanceId: string; PrivateIpAddress: string }[] }) => r.Instances[0]);
    expect(running).toMatchObject([{ InstanceId: 'i-0c1rc1e5e7v1ce5b1', PrivateIpAddress: '10.0.1.77' }]);
  });

  it('the dev-console deletes a build left Running (the clean-up step), and answers nil for one that is not', () => {
    const { out, shell } = play([REGISTER, LAUNCH_OLD_IP, 'circleci dev-console', '(admin/delete-build "https://circleci.example.com/gh/acme/app/1")', '(admin/delete-build "https://circleci.example.com/gh/acme/app/153")', '(all-builds)', 'exit', 'status']);
    expect(out(3)).toMatch(/^nil/);
    expect(out(4)).toMatch(/^true\n {2}→ step 3: cleanup_stuck_builds done .*10 build records left Running/);
    expect(out(5)).toContain('CompilerException');
    expect(out(7)).toContain('build records left Running with nothing running them: 0');
    expect(shell.prompt).toBe('admin@dr-rehearsal:~$ ');
  });

  it('the clock is the end of the last step done: the rehearsal stops there, not at the end of the day', () => {
    const { shell, out } = play(['status', REGISTER, 'status', 'done']);
    expect(out(0)).toMatch(/^03:15:00 {2}disaster at 03:10:00/);
    expect(out(1)).toMatch(/register_image done at 03:16:16/);
    expect(out(2)).toMatch(/^03:16:16 {2}disaster at 03:10:00/);
    expect(out(3)).toContain('The recovery ends at 03:16:16 with 1 of 9 steps done');
    expect(shell.entries.map((e) => e.at_ms)).toEqual([11_700_000, 11_700_000, shell.nowMs, shell.nowMs]);
  });

  it('a pipe filters the command output, never the line about the step it did', () => {
    const { out } = play([`${REGISTER} | grep ImageId`, `${LAUNCH_OLD_IP} | head -n 0`]);
    expect(out(0)).toMatch(/^ {4}"ImageId": "ami-0c1rc1e5e7a5e0001"\n {2}→ step 1: register_image done/);
    expect(out(1)).toMatch(/^ {2}→ step 2: launch_instance done/);
  });

  it('stops reading at its line limit, not one line later', () => {
    const shell = new DrAdminShell(scenario, runbook);
    for (let i = 0; i < MAX_SESSION_LINES; i++) expect(shell.execute('echo hi').ended).toBe(false);
    const r = shell.execute('echo hi');
    expect(r.ended).toBe(true);
    expect(r.output).toContain(`limit of ${MAX_SESSION_LINES} commands`);
  });

  it('splits words as bash does: variables, escaped quotes in double quotes, literal single quotes', () => {
    const vars = new Map([['SNAP', 'snap-1']]);
    expect(shellWords(`a "x \\"$SNAP\\"" '$SNAP' \${SNAP}b $NONE.`, vars)).toEqual(['a', 'x "snap-1"', '$SNAP', 'snap-1b', '.']);
    expect(shellWords('"open', vars)).toBeUndefined();
    // The one tokenizer of the twin's shells: without variables `$X` stays as typed; a trailing backslash stays, as in bash -c.
    expect(shellWords(`"$SNAP" a\\ b c\\`)).toEqual(['$SNAP', 'a b', 'c\\']);
  });

  it('the machine view comes from the rehearsal\'s backups: those before the disaster, the restorable one, the image once registered', () => {
    const before = rehearse(scenario, runbook, { stopAfterRunbook: true }).machine!;
    const sim = runDrRehearsal(scenario, runbook);
    expect(before.backupsAtMs).toEqual([1, 2, 3].map((h) => h * 3_600_000));
    expect(before.restorableAtMs).toBe(3 * 3_600_000);
    expect(before.imageFromMs).toBe(3 * 3_600_000);
    const { out } = play(['status', REGISTER, 'status']);
    expect(out(0)).not.toContain('Restoring from');
    expect(out(2)).toContain('Restoring from the backup of 03:00:00 (AMI ami-0c1rc1e5e7a5e0001)');
    expect(sim.dr.restored_from_ms).toBe(3 * 3_600_000);
    // A disaster 10 s after the 3h snapshot began: it was not complete, the 2h one is restored (as the automatic run does).
    const early = { ...scenario, disaster: { ...scenario.disaster!, atMs: 3 * 3_600_000 + 10_000 } };
    const view = rehearse(early, runbook, { stopAfterRunbook: true }).machine!;
    expect([view.backupsAtMs.length, view.restorableAtMs]).toEqual([3, 2 * 3_600_000]);
    const shell = new DrAdminShell(early, runbook);
    expect(shell.execute('aws ec2 describe-snapshots | grep \'"State"\'').output).toBe('            "State": "completed",\n            "State": "completed",\n            "State": "error",');
    expect(shell.execute(REGISTER).output).toContain('was not complete at the disaster: register snap-00000000000000078');
    expect(shell.execute(REGISTER.replace(snapshotId(3 * 3_600_000), snapshotId(2 * 3_600_000))).output).toContain('step 1: register_image done at 03:');
    expect(runDrRehearsal(shell.finalScenario(), runbook).dr.restored_from_ms).toBe(2 * 3_600_000);
  });

  it('sudo replicated admin get-secret-token is the get_secret_token step when the runbook has it, with the installation\'s token', () => {
    const withToken = { ...runbook, name: 'restore-with-token', steps: [...runbook.steps, { ...loadAnyToken(), requires: ['start_app'] }] };
    const shell = new DrAdminShell(scenario, withToken);
    for (const l of [REGISTER, LAUNCH_OLD_IP]) shell.execute(l);
    const r = shell.execute('sudo replicated admin get-secret-token');
    expect(r.exit).toBe(0);
    expect(r.output).toMatch(/^export CIRCLE_SECRET_PASSPHRASE='300c61ca5e1551167f73612a3f0845c54cdb3c27'\n  → step 3: get_secret_token done at .*: export CIRCLE_SECRET_PASSPHRASE='300c61ca5e1551167f73612a3f0845c54cdb3c27' \(it requires start_app, not done yet/);
    expect(shell.stepsDone).toEqual(['register_image', 'launch_instance', 'get_secret_token']);
    // Without the step in the runbook: printed, nothing recorded.
    const { shell: plain, out } = play([REGISTER, LAUNCH_OLD_IP, 'sudo replicated admin get-secret-token']);
    expect(out(2)).toContain("export CIRCLE_SECRET_PASSPHRASE='300c61ca5e1551167f73612a3f0845c54cdb3c27'\n  (not a step of restore-from-ebs");
    expect(plain.stepsDone).toEqual(['register_image', 'launch_instance']);
  });

  it('refuses what the shell does not model: a corrupted volume on a live instance, a lost region, a settings change', () => {
    expect(interactiveRefusals(scenario)).toEqual([]);
    expect(interactiveRefusals(load('cold-failover-az-outage'))).toEqual([]);
    for (const name of ['ebs-corruption-new-ip', 'region-outage-copied-snapshots', 'settings-change-rollback']) {
      const s = load(name);
      expect(interactiveRefusals(s).map((r) => r.field)).toEqual(['disaster.kind']);
      expect(() => new DrAdminShell(s, loadAnyRunbook(s.recovery!.runbook))).toThrow(/disaster.kind: .*not `/);
    }
  });

  it('cold fail-over: the old instance\'s failed checks confirm it dead; starting the app before re-associating the IP is out of order, with its consequence', () => {
    const az = load('cold-failover-az-outage');
    const shell = new DrAdminShell(az, loadAnyRunbook('cold-failover'));
    expect(shell.execute('aws ec2 describe-instances --filters "Name=tag:Name,Values=circleci_services" | grep -c \'"Name": "running"\'').output).toBe('1');
    expect(shell.stepsDone).toEqual([]);
    const status = shell.execute(`aws ec2 describe-instance-status --instance-ids ${OLD_INSTANCE_ID} | grep '"Status": "impaired"'`);
    expect(status.output).toMatch(/^ +"Status": "impaired",\n +"Status": "impaired",\n {2}→ step 1: confirm_primary_dead done at .*confirmed down \(it keeps 10\.0\.1\.10/);
    expect(shell.execute('aws ec2 terminate-instances --instance-ids i-0c1rc1e5e7v1ce5a0').output).toContain('(Unavailable)');
    // A step inside a command substitution would go unrecorded: refused, nothing done.
    const hidden = shell.execute(`echo $(sudo replicated app ${APP_ID} start)`);
    expect([hidden.exit, hidden.output]).toEqual([2, `twin: \`sudo replicated app ${APP_ID} start\` is not run inside \`$(...)\` here (a recovery step is typed on its own line, to be recorded)`]);
    expect(shell.stepsDone).toEqual(['confirm_primary_dead']);
    // The seeds' own form of step 2.3: the substitution reads the app id from `replicated apps`, and the app starts.
    expect(shell.execute(`sudo replicated app $(sudo replicated apps | grep Enterprise | awk '{print $1;}') start`).output).toMatch(/step 2: start_app done .*app started, but builders cannot reach the Services machine \(it requires reassign_private_ip, not done yet/);
    expect(shell.entries.at(-1)).toMatchObject({ command: `sudo replicated app $(sudo replicated apps | grep Enterprise | awk '{print $1;}') start`, exit: 0, step: 'start_app' });
    expect(shell.execute(`aws ec2 assign-private-ip-addresses --network-interface-id ${NEW_ENI_ID} --private-ip-addresses 10.0.1.10 --allow-reassignment`).output).toContain('InvalidNetworkInterfaceID.NotFound');
    expect(shell.execute(`aws ec2 describe-instances --instance-ids ${OLD_INSTANCE_ID} | grep -c 10.0.1.10`).output).toBe('2');
    expect(shell.execute(`aws ec2 assign-private-ip-addresses --network-interface-id ${REPLICA_ENI_ID} --private-ip-addresses 10.0.1.10 --allow-reassignment`).output).toMatch(/step 3: reassign_private_ip done .*re-associated to the replica/);
    expect(shell.execute(`aws ec2 describe-instances --instance-ids ${OLD_INSTANCE_ID} | grep -c 10.0.1.10`).output).toBe('0');
    shell.execute('done');
    const r = runDrRehearsal(shell.finalScenario(), loadAnyRunbook('cold-failover'));
    expect(r.runbook.map((x) => `${x.step}:${x.status}`)).toEqual(['confirm_primary_dead:done', 'start_app:out_of_order', 'reassign_private_ip:done', 'cleanup_stuck_builds:skipped']);
    expect(r.runbook[1]!.consequence).toBe('app started, but builders cannot reach the Services machine (ran before reassign_private_ip)');
    expect(r.dr.builders_reach_services).toBe(true);
  });

  it('an az_outage restored from tarballs: the unreachable instance keeps the old address, RunInstances cannot take it', () => {
    const az = { ...load('cold-failover-az-outage'), backups: load('tarball-backup-restore').backups };
    const shell = new DrAdminShell(az, loadAnyRunbook('restore-from-tarball'));
    expect(shell.execute('aws ec2 run-instances --image-id ami-0c1rc1e5e7v2196c1 --private-ip-address 10.0.1.10').output).toContain('(InvalidIPAddress.InUse) when calling the RunInstances operation: Address 10.0.1.10 is in use');
    expect(shell.execute('aws ec2 run-instances --image-id ami-0c1rc1e5e7v2196c1').output).toMatch(/step 1: launch_instance done .*private IP 10\.0\.1\.77 \(a new one\)/);
  });

  it('builders at a new address: the launch configuration must name the instance\'s address and carry the token once read; the whole group rotates', () => {
    const s = load('ebs-restore-new-ip-rotate-builders');
    const chained = chainRunbooks(loadAnyRunbook('restore-from-ebs'), [loadAnyRunbook('reassociate-builders')]).runbook!;
    const shell = new DrAdminShell(s, chained);
    const lc = (name: string, data: string) => `aws autoscaling create-launch-configuration --launch-configuration-name ${name} --image-id ${BUILDER_AMI_ID} --instance-type m4.2xlarge --user-data "${data}"`;
    const update = (name: string) => `aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${NOMAD_CLIENTS_GROUP} --launch-configuration-name ${name}`;
    expect(shell.execute(update('x')).output).toContain('Launch configuration name not found - x');
    for (const l of [REGISTER, 'aws ec2 run-instances --image-id ami-0c1rc1e5e7a5e0001']) shell.execute(l);
    expect(shell.execute(lc('no-ip', 'echo hi')).output).toContain('would not know the Services machine');
    expect(shell.execute(lc('old-ip', 'export SERVICES_PRIVATE_IP=10.0.1.10')).exit).toBe(0);
    expect(shell.execute(update('old-ip')).output).toContain('names SERVICES_PRIVATE_IP=10.0.1.10; the rehearsal models the builders\' launch configuration naming the Services machine\'s private IP, 10.0.1.77');
    expect(shell.execute(lc('guessed', 'export SERVICES_PRIVATE_IP=10.0.1.77 CIRCLE_SECRET_PASSPHRASE=abc')).exit).toBe(0);
    expect(shell.execute(update('guessed')).output).toContain("is not this installation's token");
    shell.execute('sudo replicated admin get-secret-token');
    expect(shell.execute(lc('no-token', 'export SERVICES_PRIVATE_IP=10.0.1.77')).exit).toBe(0);
    expect(shell.execute(update('no-token')).output).toContain('you read the secret token');
    const builders = Array.from({ length: 6 }, (_, i) => `i-0b00000000000000${i + 1}`);
    expect(shell.execute(`aws ec2 terminate-instances --instance-ids ${builders.slice(0, 3).join(' ')}`).output).toContain('rotates the whole group at once');
    expect(shell.stepsDone).toEqual(['register_image', 'launch_instance', 'get_secret_token']);
    // Rotated before the launch configuration changed: the new builders dial the old address (out of order, no reach).
    expect(shell.execute(`aws autoscaling start-instance-refresh --auto-scaling-group-name ${NOMAD_CLIENTS_GROUP}`).output).toMatch(/step 4: rotate_builders done .*dialling 10\.0\.1\.10; .*they cannot register .*\(it requires update_launch_configuration, not done yet/);
    expect(shell.execute(`aws ec2 terminate-instances --instance-ids ${builders.join(' ')}`).output).toContain("InvalidInstanceID.NotFound");
  });


  it('for the live shell: a step\'s note apart (stepNote), the session\'s variables and stuck records, and a step taken back when its live call failed', () => {
    const shell = new DrAdminShell(scenario, runbook);
    expect(shell.execute('SNAPSHOT_ID=snap-x').stepNote).toBeUndefined();
    expect(shell.variables.get('SNAPSHOT_ID')).toBe('snap-x');
    const r = shell.execute(REGISTER);
    expect(r.stepNote).toMatch(/^ {2}→ step 1: register_image done/);
    expect(r.output.endsWith(r.stepNote!)).toBe(true);
    expect(r.output.slice(0, -r.stepNote!.length)).toContain('"ImageId": "ami-0c1rc1e5e7a5e0001"');
    const launched = shell.execute(LAUNCH_OLD_IP);
    expect(launched.stepNote).toContain('launch_instance');
    expect(shell.stuckRecords.length).toBeGreaterThan(0);
    shell.retractLast(254);
    expect(shell.stepsDone).toEqual(['register_image']);
    expect(shell.entries.at(-1)).toMatchObject({ command: LAUNCH_OLD_IP, exit: 254 });
    expect(shell.entries.at(-1)!.step).toBeUndefined();
    // Taken back, the step can be typed again (the rehearsal re-run without it: no machine yet).
    expect(shell.execute(STOP).exit).toBe(255);
    expect(shell.execute(LAUNCH_OLD_IP).stepNote).toMatch(/→ step 2: launch_instance done/);
  });
});

