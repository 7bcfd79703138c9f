import type { SettledScenario } from '../../scenario/settled.ts';
import { APP_ID, applyFilters, expandSubstitutions, parsePipeline, replicatedAppsListing, withoutSudo, words, type Filter } from '../../training/shell.ts';
import { NEW_IP, OLD_IP, REPLICA_IP, rehearse, type DrMachineView, type DrOutcome } from './dr-rehearsal.ts';
import { ranBefore, type AnyMechanic, type AnyRunbook } from './runbook.ts';
import { formatDurationMs } from '../../util/duration.ts';

/**
 * `twin dr <scenario> --interactive`: the admin's shell after the disaster. The seeds' own commands (the AWS CLI's
 * `ec2` and `autoscaling` calls, `sudo rm -rf /opt/nomad`, `sed -i` on `/etc/default/replicated*`, `replicated app
 * <id> stop|start`, `replicated admin get-secret-token`, `replicatedctl app-config`, `circleci dev-console` with
 * `(admin/delete-build "...")`) are parsed as typed and each that does a runbook step records it. The consequence shown is the rehearsal's own: the simulation of
 * `dr-rehearsal.ts` is re-run with the operator's steps so far (in their order, the others not done) and stopped
 * when the last is done, so what the person sees is what the final report says. Pure: no clock, no I/O.
 */

/** The prompt: the admin's workstation (the AWS CLI) from which the Services machine's commands are run. */
export const DR_PROMPT = 'admin@dr-rehearsal:~$ ';
/** The dev-console's prompt (the seeds' `user=>`). */
export const DEV_CONSOLE_PROMPT = 'user=> ';
/** Lines a session may hold: a person types tens; more is a runaway script. */
export const MAX_SESSION_LINES = 1_000;

/** The instance ids the twin's EC2 shows: the terminated Services machine and the one the person launches. */
export const OLD_INSTANCE_ID = 'i-0c1rc1e5e7v1ce5a0';
export const NEW_INSTANCE_ID = 'i-0c1rc1e5e7v1ce5b1';
export const NEW_ENI_ID = 'eni-0c1rc1e5e7v1ce5b1';
/** The cold fail-over's replica in another availability zone (`backups.strategy: replica`), its app stopped. */
export const REPLICA_INSTANCE_ID = 'i-0c1rc1e5e7v1ce5c2';
export const REPLICA_ENI_ID = 'eni-0c1rc1e5e7v1ce5c2';
/** The zones: the Services machine's (down in an `az_outage`) and the replica's. */
export const PRIMARY_ZONE = 'us-east-1a';
export const REPLICA_ZONE = 'us-east-1b';
/** The builders' Auto Scaling group (the name `twin up` gives it), its launch configuration at install, their AMI. */
export const NOMAD_CLIENTS_GROUP = 'circleci-nomad-clients';
export const INSTALL_LAUNCH_CONFIGURATION = 'circleci-nomad-clients-lc';
export const BUILDER_AMI_ID = 'ami-0c1rc1e5e7b01de50';
/** The CircleCI Services AMI a tarball restore launches clean (the seeds: "a clean AMI"). */
export const CLEAN_AMI_ID = 'ami-0c1rc1e5e7v2196c1';
export const RESTORED_AMI_ID = 'ami-0c1rc1e5e7a5e0001';
export const BACKUP_BUCKET = 's3://circleci-backups';
/** The hostname of build URLs in the dev-console (the seeds' example: `https://my-circleci-hostname.com/gh/...`). */
export const CIRCLECI_HOST = 'circleci.example.com';

/**
 * The command that does each mechanic, as `help` shows it. A `Record` of every mechanic: a mechanic added to
 * `runbook.ts` without a command here does not compile, so every runbook's steps can be typed.
 */
export const STEP_COMMANDS: Readonly<Record<AnyMechanic, string>> = {
  register_image: 'aws ec2 register-image --name NAME --block-device-mappings "[{\\"DeviceName\\": \\"/dev/sda1\\", \\"Ebs\\": {\\"SnapshotId\\": \\"snap-...\\"}}]"',
  download_backup: `aws s3 cp ${BACKUP_BUCKET}/<HHMMSS>/circleci-data-export.tar.bz2 ./backup.tar.bz2`,
  launch_instance: `aws ec2 run-instances --image-id AMI [--private-ip-address ${OLD_IP}]   (without the option: a new IP, ${NEW_IP})`,
  restore_tarball: 'sudo circleci-restore ./backup.tar.bz2   (on a clean install)',
  reassign_private_ip: `aws ec2 assign-private-ip-addresses --network-interface-id ENI --private-ip-addresses ${OLD_IP} --allow-reassignment`,
  stop_app: 'sudo replicated app APP_ID stop',
  check_hostname: 'sudo replicatedctl app-config view hostname ; sudo replicatedctl app-config set hostname --value ADDRESS',
  update_replicated_ips: "sudo sed -i 's/OLD/NEW/g' /etc/default/replicated /etc/default/replicated-operator",
  wipe_nomad_state: 'sudo rm -rf /opt/nomad',
  start_app: 'sudo replicated app APP_ID start',
  cleanup_stuck_builds: `circleci dev-console, then (admin/delete-build "https://${CIRCLECI_HOST}/gh/acme/app/<build>")`,
  confirm_primary_dead: 'aws ec2 describe-instance-status --instance-ids OLD_INSTANCE --include-all-instances   (or describe-instances once it shows terminated)',
  get_secret_token: 'sudo replicated admin get-secret-token',
  update_launch_configuration: `aws autoscaling create-launch-configuration --launch-configuration-name NAME --image-id ${BUILDER_AMI_ID} --instance-type m4.2xlarge --user-data "export SERVICES_PRIVATE_IP=... CIRCLE_SECRET_PASSPHRASE=..." ; aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${NOMAD_CLIENTS_GROUP} --launch-configuration-name NAME`,
  rotate_builders: `aws ec2 terminate-instances --instance-ids <every builder>   (or aws autoscaling start-instance-refresh --auto-scaling-group-name ${NOMAD_CLIENTS_GROUP})`,
};
/** Disasters and backups the shell models: the Services machine terminated or cut off in its zone; snapshots, tarballs or a replica. */
export const INTERACTIVE_DISASTERS = ['services_machine_terminated', 'az_outage'];
export const INTERACTIVE_BACKUPS = ['ebs_snapshot', 'tarball', 'replica'];

/**
 * What `--interactive` cannot rehearse in this scenario, by field: the disasters whose machine the shell does not
 * model (a corrupted volume on a live instance, a lost region, a settings change on a running installation).
 */
export function interactiveRefusals(scenario: SettledScenario): { field: string; message: string; hint: string }[] {
  const out: { field: string; message: string; hint: string }[] = [];
  const kind = scenario.disaster?.kind;
  if (kind !== undefined && !INTERACTIVE_DISASTERS.includes(kind)) out.push({ field: 'disaster.kind', message: `the interactive rehearsal's shell models a Services machine terminated or cut off in its zone (${INTERACTIVE_DISASTERS.join(', ')}), not \`${kind}\``, hint: 'rehearse it without --interactive / --script (the runbook runs automatically)' });
  const strategy = scenario.backups?.strategy;
  if (strategy !== undefined && !INTERACTIVE_BACKUPS.includes(strategy)) out.push({ field: 'backups.strategy', message: `the interactive rehearsal restores from ${INTERACTIVE_BACKUPS.join(', ')} backups, not \`${strategy}\``, hint: 'rehearse it without --interactive / --script' });
  return out;
}

/** One typed line, what it answered, and the runbook step it did (if any). */
export interface AdminEntry {
  at_ms: number;
  command: string;
  exit: number;
  step?: string;
}

export interface AdminLineResult {
  output: string;
  exit: number;
  ended: boolean;
  /** The twin's line about the step the command did, already at the end of `output` (the live shell shows its own). */
  stepNote?: string;
}

/** The snapshot id of the backup taken at `atMs` (stable per instant, so a script can name it). */
export function snapshotId(atMs: number): string {
  return `snap-${(atMs / 60_000).toString(16).padStart(17, '0')}`;
}

/** A scenario instant as the AWS CLI prints times: a fixed day (the sim has no calendar) plus the instant. */
export function awsTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const day = 5 + Math.floor(s / 86_400);
  const two = (n: number) => String(n).padStart(2, '0');
  return `2026-01-${two(day)}T${two(Math.floor((s % 86_400) / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}.000Z`;
}

/** A scenario instant on the shell's clock, `03:15:00` (hours past 24 keep counting). */
export function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

/** `CIRCLE_SECRET_PASSPHRASE` of this installation: 40 hex digits from the scenario's name and seed (FNV-1a). */
export function secretToken(name: string, seed: number): string {
  let out = '';
  for (let round = 0; out.length < 40; round++) {
    let h = 0x811c9dc5;
    for (const ch of `${name}:${seed}:${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}

const REPLICATED = '/etc/default/replicated';
const OPERATOR = '/etc/default/replicated-operator';
const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;

/** The two files of the seeds' step 4, as Replicated writes them at install, naming `ip`. */
export function replicatedFile(path: typeof REPLICATED | typeof OPERATOR, ip: string, token: string): string {
  return path === REPLICATED
    ? `# Replicated daemon options, written at install\nREPLICATED_OPTS="-e DAEMON_TOKEN=${token.slice(0, 24)} -e LOCAL_ADDRESS=${ip} -e LOG_LEVEL=info"`
    : `# Replicated operator options, written at install\nREPLICATED_OPERATOR_OPTS="-e DAEMON_ENDPOINT=${ip}:9879 -e DAEMON_TOKEN=${token.slice(0, 24)} -e PRIVATE_ADDRESS=${ip} -e NO_PROXY=${ip}"`;
}

/** The builders' user data (the seeds' launch configuration script, the lines the twin reads): the Services machine's address and, for a new one, the passphrase. */
export function builderUserData(ip: string, passphrase: string | undefined): string {
  return `#!/bin/bash\nexport SERVICES_PRIVATE_IP="${ip}"\n${passphrase === undefined ? '' : `export CIRCLE_SECRET_PASSPHRASE="${passphrase}"\n`}# ... the Nomad client's provisioning (the seeds' script)\n`;
}

/**
 * What builders launched with `userData` dial: `SERVICES_PRIVATE_IP` and `CIRCLE_SECRET_PASSPHRASE` (the lines the twin
 * reads of the seeds' launch configuration script; base64, as the Auto Scaling API carries it, or plain text).
 */
export function parseBuilderUserData(userData: string): { ip: string | undefined; passphrase: string | undefined } {
  const text = /^[A-Za-z0-9+/]+={0,2}$/.test(userData.trim()) && userData.trim().length % 4 === 0 ? decodeBase64(userData.trim()) : userData;
  return {
    ip: /\bSERVICES_PRIVATE_IP=["']?([^"'\s;]*)/.exec(text)?.[1] || undefined,
    passphrase: /\bCIRCLE_SECRET_PASSPHRASE=["']?([^"'\s;]*)/.exec(text)?.[1] || undefined,
  };
}

/** Base64 to text (atob's bytes as UTF-8). */
function decodeBase64(b64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

/** The addresses a file names (one when it is consistent). */
function ipsOf(text: string): string[] {
  return [...new Set(text.match(IPV4) ?? [])].sort();
}

/** Longest variable value or name the shell keeps (a paste of a whole file is not a variable). */
const MAX_VAR_CHARS = 1_024;

/** The shells' one tokenizer (`$VAR` expanded from the session's variables), by the name this shell's tests use. */
export { words as shellWords } from '../../training/shell.ts';

/** A command's answer; `note` is the twin's line about the step it did, printed after (never piped to a filter). */
type Out = { output: string; exit: number; step?: string; note?: string };
const fail = (output: string, exit = 1): Out => ({ output, exit });
const ok = (output: string): Out => ({ output, exit: 0 });

/**
 * The admin's session: the steps done so far drive the rehearsal; read-only commands show its state. One instance
 * per session; `finalScenario()` is the scenario the report is computed from (the operator's steps and IP choice).
 */
export class DrAdminShell {
  private readonly done: string[] = [];
  private newIp = false;
  private view: DrOutcome;
  private mode: 'shell' | 'dev-console' = 'shell';
  /** Edits of the step-4 files not yet making a whole step (one of the two files changed). */
  private readonly fileEdits = new Map<string, string>();
  private downloaded = false;
  /** Shell variables the person sets (`SNAPSHOT_ID=snap-...`, as the seeds' script uses them). */
  private readonly vars = new Map<string, string>();
  private over: 'exit' | 'end-of-input' | undefined;
  private readonly token: string;
  /** Launch configurations created in the session (`aws autoscaling create-launch-configuration`), by name: what their user data names. */
  private readonly launchConfigs = new Map<string, { ip: string; passphrase: string | undefined }>();
  /** The builders' group's launch configuration once update-auto-scaling-group changed it. */
  private groupLc: string | undefined;
  /** The launch configuration the rotated builders came from (the group's at the rotation). */
  private rotatedFrom: string | undefined;
  readonly entries: AdminEntry[] = [];

  constructor(
    private readonly scenario: SettledScenario,
    private readonly runbook: AnyRunbook,
  ) {
    if (!scenario.backups || !scenario.disaster || !scenario.recovery) throw new Error('an interactive rehearsal needs backups, disaster and recovery');
    const refused = interactiveRefusals(scenario);
    if (refused.length > 0) throw new Error(`the interactive rehearsal cannot run ${scenario.name}: ${refused.map((x) => `${x.field}: ${x.message}`).join('; ')}`);
    this.token = secretToken(scenario.name, scenario.seed);
    this.view = this.rehearseSoFar();
  }

  /** The scenario of the person's rehearsal: their steps in their order, the others skipped, their IP choice. */
  finalScenario(): SettledScenario {
    const recovery = this.scenario.recovery!;
    const skip = this.runbook.steps.map((s) => s.name).filter((n) => !this.done.includes(n));
    return { ...this.scenario, recovery: { ...recovery, order: [...this.done], skip, reassignPrivateIp: this.newIp } };
  }

  get stepsDone(): readonly string[] {
    return this.done;
  }

  /** The session's shell variables (`SNAPSHOT_ID=snap-...`): the live shell expands the words it runs with them. */
  get variables(): ReadonlyMap<string, string> {
    return this.vars;
  }

  /** The build records left Running with nothing running them, as `status` lists them (the dev-console's targets). */
  get stuckRecords(): readonly number[] {
    return this.machine.stuckRecords;
  }

  /**
   * Takes back the step the last line recorded: done for real, it failed (the live shell, harness/dr/live-interactive.ts,
   * whose call the endpoint refused). The line stays in the session with `exit`, as a command that did nothing.
   */
  retractLast(exit: number): void {
    const e = this.entries.at(-1);
    if (e?.step === undefined) return;
    this.done.splice(this.done.indexOf(e.step), 1);
    delete e.step;
    e.exit = exit;
    this.view = this.rehearseSoFar();
  }

  get isOver(): boolean {
    return this.over !== undefined;
  }

  get endedBy(): 'exit' | 'end-of-input' | undefined {
    return this.over;
  }

  get prompt(): string {
    return this.mode === 'dev-console' ? DEV_CONSOLE_PROMPT : DR_PROMPT;
  }

  /** The scenario's time now: the end of the last step done (or the start of the recovery). */
  get nowMs(): number {
    return this.view.endedAtMs;
  }

  banner(): string {
    const s = this.scenario;
    const d = s.disaster!;
    const b = s.backups!;
    const taken = this.machine.backupsAtMs;
    const lost = d.kind === 'az_outage' ? `is cut off: its zone ${PRIMARY_ZONE} is down (az_outage), the instance unreachable with its address` : `was terminated: ${d.kind}`;
    return [
      `twin dr --interactive: ${s.name} (seed ${s.seed}), runbook ${this.runbook.name}`,
      `${clock(d.atMs)}  the Services machine (${OLD_INSTANCE_ID}, ${OLD_IP}) ${lost}. Builds keep arriving; webhooks to the dead frontend are dropped.`,
      b.strategy === 'replica'
        ? `Backups: a replica (${REPLICA_INSTANCE_ID}, ${REPLICA_IP}) in ${REPLICA_ZONE}, its /data kept ${formatDurationMs(b.lagMs)} behind, its app stopped.`
        : `Backups: ${b.strategy === 'ebs_snapshot' ? 'EBS snapshots' : `circleci-backup tarballs in ${BACKUP_BUCKET}/ (restored onto a clean install of ${CLEAN_AMI_ID})`} every ${clock(b.everyMs)} (${taken.length} taken, the last at ${taken.length > 0 ? clock(taken.at(-1)!) : 'none'}).`,
      `Builders: the Auto Scaling group ${NOMAD_CLIENTS_GROUP}, ${s.topology.nomadClients.count} instances configured at startup with SERVICES_PRIVATE_IP=${OLD_IP}.`,
      `${clock(this.nowMs)}  you are at the admin workstation. The runbook's steps: ${this.runbook.steps.map((x) => x.name).join(', ')}.`,
      `Each command that does a step records it, with its consequence. \`status\` shows where things stand, \`help\` the commands, \`done\` (or \`exit\`) ends the recovery and writes the report.`,
    ].join('\n');
  }

  /** Runs one typed line. */
  execute(line: string): AdminLineResult {
    if (this.over) throw new Error('the session is over');
    const typed = line.replace(/\r$/, '');
    const at = this.nowMs;
    if (this.entries.length >= MAX_SESSION_LINES) {
      this.over = 'end-of-input';
      return { output: `twin: the session reached its limit of ${MAX_SESSION_LINES} commands; the recovery ends here`, exit: 2, ended: true };
    }
    let r: Out;
    if (this.mode === 'dev-console') r = this.devConsole(typed.trim());
    else {
      // `$(...)` first, as bash: its command's output (read-only commands only: a step inside one is not recorded) becomes words of the line.
      const expanded = expandSubstitutions(typed, (inner) => this.pipeline(inner, true));
      r = 'kind' in expanded ? fail(expanded.output, expanded.exit) : this.pipeline(expanded.line, false);
    }
    if (r.note !== undefined) r = { ...r, output: r.output === '' ? r.note : `${r.output}\n${r.note}` };
    if (typed.trim() !== '' && !typed.trim().startsWith('#')) this.entries.push({ at_ms: at, command: typed, exit: r.exit, ...(r.step ? { step: r.step } : {}) });
    return { output: r.output, exit: r.exit, ended: this.over !== undefined, ...(r.note !== undefined ? { stepNote: r.note } : {}) };
  }

  /** A line's command through its filters; `substituted` when it runs inside `$(...)`, where only what shows state may run. */
  private pipeline(line: string, substituted: boolean): Out {
    const p = parsePipeline(line);
    if ('kind' in p) return fail(p.output, p.exit);
    if (substituted && !this.readOnly(p.command)) return fail(`twin: \`${line.trim()}\` is not run inside \`$(...)\` here (a recovery step is typed on its own line, to be recorded)`, 2);
    let r = this.command(p.command);
    if (p.filters.length > 0 && r.output !== '') r = { ...r, ...applyFilters(r.output, r.exit, p.filters as Filter[]) };
    return r;
  }

  /** Whether a command only shows state (what a `$(...)` may run): `replicated apps`, `aws ... describe-*`, `cat`, `echo`. */
  private readOnly(command: string): boolean {
    const w = words(command.trim(), this.vars);
    if (w === undefined) return true; // the command itself answers the open quote
    const { words: c } = withoutSudo(w);
    return (c[0] === 'replicated' && c[1] === 'apps' && c.length === 2) || (c[0] === 'aws' && /^(describe|get)-/.test(c[2] ?? '')) || c[0] === 'cat' || c[0] === 'echo';
  }

  /** Ctrl-D or the end of a script: the recovery ends with the steps done so far. */
  endOfInput(): void {
    if (!this.over) this.over = 'end-of-input';
  }

  private get machine(): DrMachineView {
    return this.view.machine!;
  }

  private rehearseSoFar(): DrOutcome {
    return rehearse(this.finalScenario(), this.runbook, { stopAfterRunbook: true });
  }

  private command(line: string): Out {
    if (line.trim().startsWith('#')) return ok('');
    const typed = words(line.trim(), this.vars);
    if (typed === undefined) return fail('bash: unexpected EOF while looking for matching quote', 2);
    if (typed.length === 0) return ok('');
    const unexported = typed[0] === 'export' ? typed.slice(1) : typed;
    const assign = unexported.length === 1 ? /^([A-Za-z_]\w*)=(.*)$/s.exec(unexported[0]!) : null;
    if (assign) {
      if (assign[2]!.length > MAX_VAR_CHARS) return fail(`bash: ${assign[1]}: a value of at most ${MAX_VAR_CHARS} characters here`);
      this.vars.set(assign[1]!, assign[2]!);
      return ok('');
    }
    if (unexported[0] === 'echo') return ok(unexported.slice(1).join(' '));
    const { words: w, sudo } = withoutSudo(unexported);
    if (w.length === 0) return fail('usage: sudo [-AbEHknPS] [-u user] command', 1);
    const [cmd, ...args] = w as [string, ...string[]];
    switch (cmd) {
      case 'aws':
        return this.aws(args);
      case 'rm':
        return this.onMachine(() => this.rm(args, sudo));
      case 'sed':
        return this.onMachine(() => this.sed(args, sudo));
      case 'cat':
        return this.onMachine(() => this.cat(args));
      case 'replicated':
        return this.onMachine(() => this.replicated(args, sudo));
      case 'replicatedctl':
        return this.onMachine(() => this.replicatedctl(args, sudo));
      case 'circleci':
        if (args.length === 1 && args[0] === 'dev-console') {
          return this.onMachine(() => {
            this.mode = 'dev-console';
            return ok('Loading the dev-console (circle.backend) ...\nuser namespace: type (admin/delete-build "<build url>"), or exit to leave');
          });
        }
        return fail(`circleci: unknown command \`${args.join(' ')}\`; on the Services machine: circleci dev-console`);
      case 'circleci-restore':
        return this.onMachine(() => this.circleciRestore(args, sudo));
      case 'status':
        return ok(this.status());
      case 'help':
        return ok(this.help());
      case 'exit':
      case 'logout':
      case 'done':
        this.over = 'exit';
        return ok(`The recovery ends at ${clock(this.nowMs)} with ${this.done.length} of ${this.runbook.steps.length} steps done; the rehearsal finishes the day from here.`);
      default:
        return fail(`bash: ${cmd}: command not found (\`help\` lists the commands of this rehearsal)`, 127);
    }
  }

  /** Commands that run on the Services machine (over ssh from the workstation): there must be one. */
  private onMachine(run: () => Out): Out {
    if (this.machine.instance === null) return fail(`ssh: connect to host ${OLD_IP} port 22: No route to host (the Services machine was ${this.scenario.disaster!.kind === 'az_outage' ? 'cut off with its zone' : 'terminated'} at ${clock(this.scenario.disaster!.atMs)}; launch one first: aws ec2 run-instances)`, 255);
    return run();
  }

  /** Records `does` as the operator's next step and re-runs the rehearsal; the step's line for the screen. */
  private step(does: AnyMechanic, then?: () => void): { line: string; step?: string; exit: number } {
    const step = this.runbook.steps.find((s) => s.does === does);
    if (!step) return { line: `twin: this is the step ${does}, which runbook ${this.runbook.name} does not have: the rehearsal does not apply it`, exit: 1 };
    const index = this.done.indexOf(step.name);
    if (index !== -1) return { line: `twin: ${step.name} was already done (your step ${index + 1}); the rehearsal records each runbook step once`, exit: 1 };
    then?.();
    this.done.push(step.name);
    this.fileEdits.clear();
    this.view = this.rehearseSoFar();
    const r = this.view.runbook.find((s) => s.step === step.name)!;
    const missing = ranBefore(step, this.runbook, { skip: [], order: [] }, new Set(this.done.slice(0, -1)));
    const note = missing.length > 0 ? ` (it requires ${missing.join(', ')}, not done yet: out of order if you do ${missing.length === 1 ? 'it' : 'them'} later)` : '';
    return { line: `  → step ${this.done.length}: ${step.name} done at ${clock(r.started_at_ms + r.duration_ms)} (took ${clock(r.duration_ms)}): ${r.consequence}${note}`, step: step.name, exit: 0 };
  }

  private withStep(output: string, does: AnyMechanic, then?: () => void): Out {
    const s = this.step(does, then);
    // A refused step shows only the refusal: the command's own output would claim an effect it did not have.
    if (!s.step) return { output: s.line, exit: s.exit };
    return { output, note: s.line, exit: s.exit, step: s.step };
  }

  // ---- aws ----

  private aws(args: string[]): Out {
    const [service, op, ...rest] = args;
    if (service === 's3') return this.s3(op, rest);
    if (service !== 'ec2' && service !== 'autoscaling') return fail(`aws: the twin's endpoint answers \`aws ec2 ...\`, \`aws autoscaling ...\` and \`aws s3 cp\` in this rehearsal, not \`${service ?? ''}\``, 252);
    const common = ['--region', '--output'];
    type Spec = { flags: string[]; bools?: string[]; required: string[]; run: (opts: Map<string, string[]>) => Out };
    const known: Record<string, Record<string, Spec>> = {
      ec2: {
        'describe-snapshots': { flags: ['--filters', '--snapshot-ids', '--owner-ids'], required: [], run: (o) => this.describeSnapshots(o) },
        'describe-instances': { flags: ['--filters', '--instance-ids'], required: [], run: (o) => this.describeInstances(o) },
        'describe-instance-status': { flags: ['--instance-ids'], bools: ['--include-all-instances', '--no-include-all-instances'], required: [], run: (o) => this.describeInstanceStatus(o) },
        'register-image': { flags: ['--name', '--description', '--architecture', '--root-device-name', '--block-device-mappings', '--virtualization-type'], required: ['--name'], run: (o) => this.registerImage(o) },
        'run-instances': { flags: ['--image-id', '--count', '--instance-type', '--key-name', '--security-group-ids', '--subnet-id', '--private-ip-address', '--tag-specifications', '--iam-instance-profile'], required: ['--image-id'], run: (o) => this.runInstances(o) },
        'assign-private-ip-addresses': { flags: ['--network-interface-id', '--private-ip-addresses'], bools: ['--allow-reassignment', '--no-allow-reassignment'], required: ['--network-interface-id'], run: (o) => this.assignPrivateIp(o) },
        'terminate-instances': { flags: ['--instance-ids'], required: ['--instance-ids'], run: (o) => this.terminateInstances(o) },
      },
      autoscaling: {
        'describe-auto-scaling-groups': { flags: ['--auto-scaling-group-names'], required: [], run: (o) => this.describeGroups(o) },
        'describe-launch-configurations': { flags: ['--launch-configuration-names'], required: [], run: (o) => this.describeLaunchConfigurations(o) },
        'create-launch-configuration': { flags: ['--launch-configuration-name', '--image-id', '--instance-type', '--user-data', '--key-name', '--security-groups', '--iam-instance-profile'], bools: ['--associate-public-ip-address', '--no-associate-public-ip-address'], required: ['--launch-configuration-name', '--image-id', '--instance-type'], run: (o) => this.createLaunchConfiguration(o) },
        'update-auto-scaling-group': { flags: ['--auto-scaling-group-name', '--launch-configuration-name', '--min-size', '--max-size', '--desired-capacity'], required: ['--auto-scaling-group-name'], run: (o) => this.updateGroup(o) },
        'start-instance-refresh': { flags: ['--auto-scaling-group-name', '--preferences', '--strategy'], required: ['--auto-scaling-group-name'], run: (o) => this.instanceRefresh(o) },
      },
    };
    const ops = known[service]!;
    const spec = op === undefined ? undefined : ops[op];
    if (!spec) return fail(`aws: error: argument operation: the twin's ${service === 'ec2' ? 'EC2' : 'Auto Scaling'} answers ${Object.keys(ops).join(', ')} in this rehearsal${op ? ` (not \`${op}\`)` : ''}`, 252);
    const opts = new Map<string, string[]>();
    for (let i = 0; i < rest.length; i++) {
      let a = rest[i]!;
      let value: string | undefined;
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) {
        value = a.slice(eq + 1);
        a = a.slice(0, eq);
      }
      if (spec.bools?.includes(a)) {
        opts.set(a, []);
        continue;
      }
      if (!spec.flags.includes(a) && !common.includes(a)) return fail(`usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\naws: error: Unknown options: ${a}`, 252);
      const values: string[] = value !== undefined ? [value] : [];
      while (value === undefined && i + 1 < rest.length && !rest[i + 1]!.startsWith('--')) values.push(rest[++i]!);
      if (values.length === 0) return fail(`aws: error: argument ${a}: expected one argument`, 252);
      opts.set(a, [...(opts.get(a) ?? []), ...values]);
    }
    const missing = spec.required.filter((r) => !opts.has(r));
    if (missing.length > 0) return fail(`aws: error: the following arguments are required: ${missing.join(', ')}`, 252);
    const output = opts.get('--output')?.[0];
    if (output !== undefined && output !== 'json') return fail(`aws: the twin prints --output json only (got ${output})`, 252);
    return spec.run(opts);
  }

  /** `--filters "Name=a,Values=x,y" ...` as pairs; the names the twin filters on, others refused. */
  private filters(opts: Map<string, string[]>, names: string[]): { name: string; values: string[] }[] | Out {
    const out: { name: string; values: string[] }[] = [];
    for (const f of opts.get('--filters') ?? []) {
      const m = /^Name=([^,]+),Values=(.+)$/.exec(f);
      if (!m) return fail(`aws: error: argument --filters: expected Name=<name>,Values=<v1>,<v2>, got \`${f}\``, 252);
      if (!names.includes(m[1]!)) return fail(`aws: the twin's EC2 filters this call by ${names.join(', ')} (not ${m[1]})`, 252);
      out.push({ name: m[1]!, values: m[2]!.split(',') });
    }
    return out;
  }

  private snapshots(): { id: string; atMs: number }[] {
    if (this.scenario.backups!.strategy !== 'ebs_snapshot') return [];
    return this.machine.backupsAtMs.map((atMs) => ({ id: snapshotId(atMs), atMs }));
  }

  /** A snapshot the disaster interrupted (its volume deleted with the instance) never completes: the model restores from the newest complete one. */
  private snapshotState(atMs: number): { State: string; Progress: string; StateMessage?: string } {
    const r = this.machine.restorableAtMs;
    return r !== null && atMs <= r ? { State: 'completed', Progress: '100%' } : { State: 'error', StateMessage: 'not complete when the volume was deleted with its instance', Progress: '0%' };
  }

  private describeSnapshots(opts: Map<string, string[]>): Out {
    const filters = this.filters(opts, ['description', 'volume-id', 'status']);
    if (!Array.isArray(filters)) return filters;
    const glob = (pattern: string, v: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(v);
    const ids = opts.get('--snapshot-ids');
    const unknown = ids?.find((id) => !this.snapshots().some((s) => s.id === id));
    if (unknown) return fail(`An error occurred (InvalidSnapshot.NotFound) when calling the DescribeSnapshots operation: The snapshot '${unknown}' does not exist.`, 254);
    const rows = this.snapshots()
      .map((s) => ({ Description: `CircleCI Services box Backup taken at ${awsTime(s.atMs)}`, Encrypted: false, VolumeId: 'vol-0c1rc1e5e7v1ce5a0', ...this.snapshotState(s.atMs), VolumeSize: 30, StartTime: awsTime(s.atMs), SnapshotId: s.id, OwnerId: '000000000000' }))
      .filter((r) => !ids || ids.includes(r.SnapshotId))
      .filter((r) => filters.every((f) => f.values.some((v) => glob(v, f.name === 'description' ? r.Description : f.name === 'volume-id' ? r.VolumeId : r.State))));
    return ok(JSON.stringify({ Snapshots: rows }, null, 4));
  }

  /** Whether the runbook has a step doing `does` and it is done. */
  private did(does: AnyMechanic): boolean {
    return this.runbook.steps.some((s) => s.does === does && this.done.includes(s.name));
  }

  /** The Services machine running now: the instance the person launched, or the replica until then. */
  private get instanceId(): string {
    return this.scenario.backups!.strategy === 'replica' && !this.did('launch_instance') ? REPLICA_INSTANCE_ID : NEW_INSTANCE_ID;
  }

  private get eniId(): string {
    return this.instanceId === REPLICA_INSTANCE_ID ? REPLICA_ENI_ID : NEW_ENI_ID;
  }

  /** The old Services machine: terminated, or (az_outage) running on, unreachable, holding its address until it is re-associated. */
  private oldInstance(): Record<string, unknown> {
    const d = this.scenario.disaster!;
    const tags = [{ Key: 'Name', Value: 'circleci_services' }];
    if (d.kind !== 'az_outage') return { InstanceId: OLD_INSTANCE_ID, ImageId: CLEAN_AMI_ID, State: { Code: 48, Name: 'terminated' }, StateTransitionReason: `User initiated (${awsTime(d.atMs)})`, Placement: { AvailabilityZone: PRIMARY_ZONE }, NetworkInterfaces: [], Tags: tags };
    const held = this.oldIpHeld();
    return { InstanceId: OLD_INSTANCE_ID, ImageId: CLEAN_AMI_ID, State: { Code: 16, Name: 'running' }, Placement: { AvailabilityZone: PRIMARY_ZONE }, ...(held ? { PrivateIpAddress: OLD_IP } : {}), NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0c1rc1e5e7v1ce5a0', PrivateIpAddresses: held ? [{ Primary: true, PrivateIpAddress: OLD_IP }] : [] }], Tags: tags };
  }

  /** In an az_outage the old instance keeps the old address in its subnet until --allow-reassignment takes it. */
  private oldIpHeld(): boolean {
    return this.scenario.disaster!.kind === 'az_outage' && this.machine.instance?.secondaryIp !== OLD_IP && this.machine.instance?.primaryIp !== OLD_IP;
  }

  /** A read of the old instance's state is the confirm_primary_dead step while the runbook has it and it is not done. */
  private confirming(output: string): Out {
    const has = this.runbook.steps.some((s) => s.does === 'confirm_primary_dead');
    return has && !this.did('confirm_primary_dead') ? this.withStep(output, 'confirm_primary_dead') : ok(output);
  }

  private describeInstances(opts: Map<string, string[]>): Out {
    const filters = this.filters(opts, ['tag:Name', 'instance-state-name', 'private-ip-address']);
    if (!Array.isArray(filters)) return filters;
    const inst = this.machine.instance;
    const rows: Record<string, unknown>[] = [this.oldInstance()];
    if (inst) {
      const addresses = [{ Primary: true, PrivateIpAddress: inst.primaryIp }, ...(inst.secondaryIp ? [{ Primary: false, PrivateIpAddress: inst.secondaryIp }] : [])];
      const replica = this.instanceId === REPLICA_INSTANCE_ID;
      rows.push({ InstanceId: this.instanceId, ImageId: this.scenario.backups!.strategy === 'ebs_snapshot' ? RESTORED_AMI_ID : CLEAN_AMI_ID, State: { Code: 16, Name: 'running' }, Placement: { AvailabilityZone: replica ? REPLICA_ZONE : PRIMARY_ZONE }, PrivateIpAddress: inst.primaryIp, NetworkInterfaces: [{ NetworkInterfaceId: this.eniId, PrivateIpAddresses: addresses }], Tags: [{ Key: 'Name', Value: replica ? 'circleci_services_replica' : 'circleci_services' }] });
    }
    const ips = (r: Record<string, unknown>) => ((r.NetworkInterfaces as { PrivateIpAddresses: { PrivateIpAddress: string }[] }[])[0]?.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress);
    const shown = rows
      .filter((r) => !opts.get('--instance-ids') || opts.get('--instance-ids')!.includes(r.InstanceId as string))
      .filter((r) => filters.every((f) => f.values.some((v) => (f.name === 'tag:Name' ? v === (r.Tags as { Value: string }[])[0]!.Value : f.name === 'instance-state-name' ? v === (r.State as { Name: string }).Name : ips(r).includes(v)))));
    const out = JSON.stringify({ Reservations: shown.map((r) => ({ Instances: [r] })) }, null, 4);
    // Seeing the old instance terminated is confirming it dead; a running one (az_outage) takes its status checks.
    return shown.some((r) => r.InstanceId === OLD_INSTANCE_ID && (r.State as { Name: string }).Name === 'terminated') ? this.confirming(out) : ok(out);
  }

  /** `describe-instance-status`: the old instance's checks failed (az_outage), or it is gone; the running machine's pass. */
  private describeInstanceStatus(opts: Map<string, string[]>): Out {
    const all = opts.has('--include-all-instances');
    const ids = opts.get('--instance-ids');
    const known = [OLD_INSTANCE_ID, ...(this.machine.instance ? [this.instanceId] : [])];
    const unknown = ids?.find((id) => !known.includes(id));
    if (unknown) return fail(`An error occurred (InvalidInstanceID.NotFound) when calling the DescribeInstanceStatus operation: The instance ID '${unknown}' does not exist`, 254);
    const az = this.scenario.disaster!.kind === 'az_outage';
    const failed = { Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed', ImpairedSince: awsTime(this.scenario.disaster!.atMs) }] };
    const passed = { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] };
    const rows: Record<string, unknown>[] = [];
    if (az) rows.push({ AvailabilityZone: PRIMARY_ZONE, InstanceId: OLD_INSTANCE_ID, InstanceState: { Code: 16, Name: 'running' }, InstanceStatus: failed, SystemStatus: failed });
    else if (all) rows.push({ AvailabilityZone: PRIMARY_ZONE, InstanceId: OLD_INSTANCE_ID, InstanceState: { Code: 48, Name: 'terminated' }, InstanceStatus: { Status: 'not-applicable' }, SystemStatus: { Status: 'not-applicable' } });
    if (this.machine.instance) rows.push({ AvailabilityZone: this.instanceId === REPLICA_INSTANCE_ID ? REPLICA_ZONE : PRIMARY_ZONE, InstanceId: this.instanceId, InstanceState: { Code: 16, Name: 'running' }, InstanceStatus: passed, SystemStatus: passed });
    const shown = rows.filter((r) => !ids || ids.includes(r.InstanceId as string));
    const out = JSON.stringify({ InstanceStatuses: shown }, null, 4);
    return shown.some((r) => r.InstanceId === OLD_INSTANCE_ID) ? this.confirming(out) : ok(out);
  }

  /** The builders' instance ids: the ones from the install, then (once rotated) those launched from the group's new configuration. */
  private builderIds(): string[] {
    const gen = this.did('rotate_builders') ? 1 : 0;
    return Array.from({ length: this.scenario.topology.nomadClients.count }, (_, i) => `i-0b${gen}${(i + 1).toString(16).padStart(14, '0')}`);
  }

  private terminateInstances(opts: Map<string, string[]>): Out {
    const ids = [...new Set(opts.get('--instance-ids')!)];
    const builders = this.builderIds();
    const state = (id: string, from: string, to: string) => ({ InstanceId: id, CurrentState: { Code: to === 'terminated' ? 48 : 32, Name: to }, PreviousState: { Code: from === 'terminated' ? 48 : 16, Name: from } });
    if (ids.includes(OLD_INSTANCE_ID)) {
      if (this.scenario.disaster!.kind === 'az_outage') return fail(`An error occurred (Unavailable) when calling the TerminateInstances operation: ${PRIMARY_ZONE} is not available: ${OLD_INSTANCE_ID} cannot be reached (describe-instance-status shows its checks failed; --allow-reassignment takes its address)`, 254);
      if (ids.length === 1) return ok(JSON.stringify({ TerminatingInstances: [state(OLD_INSTANCE_ID, 'terminated', 'terminated')] }, null, 4));
    }
    if (this.machine.instance !== null && ids.includes(this.instanceId)) return fail(`twin: not terminated: ${this.instanceId} is the Services machine you are recovering`, 1);
    const unknown = ids.find((id) => id !== OLD_INSTANCE_ID && !builders.includes(id));
    if (unknown) return fail(`An error occurred (InvalidInstanceID.NotFound) when calling the TerminateInstances operation: The instance ID '${unknown}' does not exist (aws autoscaling describe-auto-scaling-groups lists the builders)`, 254);
    const picked = builders.filter((id) => ids.includes(id));
    if (picked.length < builders.length) return fail(`twin: not terminated: the rehearsal rotates the whole group at once (rotate_builders): terminate all ${builders.length} builders (${builders.join(' ')}) or run aws autoscaling start-instance-refresh --auto-scaling-group-name ${NOMAD_CLIENTS_GROUP}`, 1);
    return this.withStep(JSON.stringify({ TerminatingInstances: picked.map((id) => state(id, 'running', 'shutting-down')) }, null, 4), 'rotate_builders', () => {
      this.rotatedFrom = this.groupLaunchConfiguration();
    });
  }

  // ---- aws autoscaling: the builders' group ----

  /** The group's launch configuration now: the install's, or the one update-auto-scaling-group set. */
  private groupLaunchConfiguration(): string {
    return this.groupLc ?? INSTALL_LAUNCH_CONFIGURATION;
  }

  private describeGroups(opts: Map<string, string[]>): Out {
    const names = opts.get('--auto-scaling-group-names');
    const n = this.scenario.topology.nomadClients.count;
    const group = {
      AutoScalingGroupName: NOMAD_CLIENTS_GROUP,
      LaunchConfigurationName: this.groupLaunchConfiguration(),
      MinSize: n,
      MaxSize: n,
      DesiredCapacity: n,
      AvailabilityZones: [PRIMARY_ZONE, REPLICA_ZONE],
      Instances: this.builderIds().map((id, i) => ({ InstanceId: id, AvailabilityZone: i % 2 === 0 ? PRIMARY_ZONE : REPLICA_ZONE, LifecycleState: 'InService', HealthStatus: 'Healthy', LaunchConfigurationName: this.did('rotate_builders') ? this.rotatedFrom! : INSTALL_LAUNCH_CONFIGURATION })),
    };
    return ok(JSON.stringify({ AutoScalingGroups: !names || names.includes(NOMAD_CLIENTS_GROUP) ? [group] : [] }, null, 4));
  }

  private describeLaunchConfigurations(opts: Map<string, string[]>): Out {
    const names = opts.get('--launch-configuration-names');
    const userData = (ip: string, passphrase: string | undefined) => btoa(builderUserData(ip, passphrase));
    const rows = [
      { LaunchConfigurationName: INSTALL_LAUNCH_CONFIGURATION, ImageId: BUILDER_AMI_ID, InstanceType: 'm4.2xlarge', UserData: userData(OLD_IP, undefined) },
      ...[...this.launchConfigs].map(([name, lc]) => ({ LaunchConfigurationName: name, ImageId: BUILDER_AMI_ID, InstanceType: 'm4.2xlarge', UserData: userData(lc.ip, lc.passphrase) })),
    ].filter((r) => !names || names.includes(r.LaunchConfigurationName));
    return ok(JSON.stringify({ LaunchConfigurations: rows }, null, 4));
  }

  /** A copy of the builders' launch configuration whose user data names the Services machine (the seeds' "Updating the Launch Configuration"). */
  private createLaunchConfiguration(opts: Map<string, string[]>): Out {
    const name = opts.get('--launch-configuration-name')![0]!;
    if (name === INSTALL_LAUNCH_CONFIGURATION || this.launchConfigs.has(name)) return fail(`An error occurred (AlreadyExists) when calling the CreateLaunchConfiguration operation: Launch Configuration by this name already exists - A launch configuration already exists with the name ${name}`, 254);
    const image = opts.get('--image-id')![0]!;
    if (image !== BUILDER_AMI_ID) return fail(`An error occurred (ValidationError) when calling the CreateLaunchConfiguration operation: The image id '[${image}]' does not exist (the builders' AMI: ${BUILDER_AMI_ID}, as aws autoscaling describe-launch-configurations shows)`, 254);
    const data = (opts.get('--user-data') ?? []).join(' ');
    if (data.startsWith('file://')) return fail(`twin: the rehearsal's workstation has no files: give the user data inline, --user-data "export SERVICES_PRIVATE_IP=... CIRCLE_SECRET_PASSPHRASE=..."`, 255);
    const { ip, passphrase } = parseBuilderUserData(data);
    if (!ip) return fail(`twin: not created: builders launched from it would not know the Services machine; the seeds' user data exports SERVICES_PRIVATE_IP="<its private IP>" (--user-data "export SERVICES_PRIVATE_IP=...")`, 1);
    this.launchConfigs.set(name, { ip, passphrase });
    return ok('');
  }

  /** Points the group at a launch configuration: the update_launch_configuration step (new builders dial what it names). */
  private updateGroup(opts: Map<string, string[]>): Out {
    const group = opts.get('--auto-scaling-group-name')![0]!;
    if (group !== NOMAD_CLIENTS_GROUP) return fail(`An error occurred (ValidationError) when calling the UpdateAutoScalingGroup operation: AutoScalingGroup name not found - null (the builders' group: ${NOMAD_CLIENTS_GROUP})`, 254);
    const name = opts.get('--launch-configuration-name')?.[0];
    if (name === undefined) return fail(`twin: the rehearsal changes the group's launch configuration only: --launch-configuration-name NAME`, 1);
    const lc = this.launchConfigs.get(name);
    if (!lc) return fail(`An error occurred (ValidationError) when calling the UpdateAutoScalingGroup operation: Launch configuration name not found - ${name}${name === INSTALL_LAUNCH_CONFIGURATION ? ' (it is already the group\'s: create one naming the new address)' : ' (aws autoscaling create-launch-configuration first)'}`, 254);
    const inst = this.machine.instance;
    if (!inst) return fail(`twin: not applied: no Services machine runs yet, so there is no address for the builders (launch one first)`, 1);
    if (lc.ip !== inst.primaryIp) return fail(`twin: not applied: ${name} names SERVICES_PRIVATE_IP=${lc.ip}; the rehearsal models the builders' launch configuration naming the Services machine's private IP, ${inst.primaryIp}${lc.ip === OLD_IP ? ` (${OLD_IP} is what the builders were launched with)` : ''}`, 1);
    const read = this.did('get_secret_token');
    if (lc.passphrase !== undefined && lc.passphrase !== inst.secretToken) return fail(`twin: not applied: CIRCLE_SECRET_PASSPHRASE in ${name} is not this installation's token; sudo replicated admin get-secret-token prints it`, 1);
    if (lc.passphrase !== undefined && !read) return fail(`twin: not applied: read the token on the Services machine first (sudo replicated admin get-secret-token, the get_secret_token step)`, 1);
    if (lc.passphrase === undefined && read) return fail(`twin: not applied: you read the secret token; the rehearsal's launch configuration carries it once read: add CIRCLE_SECRET_PASSPHRASE='...' to the user data (or leave the token unread to rehearse builders without it)`, 1);
    return this.withStep('', 'update_launch_configuration', () => {
      this.groupLc = name;
    });
  }

  /** `start-instance-refresh`: every builder replaced from the group's launch configuration, the rotate_builders step. */
  private instanceRefresh(opts: Map<string, string[]>): Out {
    const group = opts.get('--auto-scaling-group-name')![0]!;
    if (group !== NOMAD_CLIENTS_GROUP) return fail(`An error occurred (ValidationError) when calling the StartInstanceRefresh operation: AutoScalingGroup ${group} not found (the builders' group: ${NOMAD_CLIENTS_GROUP})`, 254);
    if (this.did('rotate_builders')) return fail(`twin: the builders were already rotated; the rehearsal records each runbook step once`, 1);
    return this.withStep(JSON.stringify({ InstanceRefreshId: '0c1rc1e5-e7b0-4de5-a000-000000000001' }, null, 4), 'rotate_builders', () => {
      this.rotatedFrom = this.groupLaunchConfiguration();
    });
  }

  private registerImage(opts: Map<string, string[]>): Out {
    const mappings = (opts.get('--block-device-mappings') ?? []).join(' ');
    const snap = /"SnapshotId"\s*:\s*"([^"]+)"|SnapshotId=([\w-]+)/.exec(mappings);
    const id = snap?.[1] ?? snap?.[2];
    if (id === undefined) return fail('An error occurred (InvalidParameterCombination) when calling the RegisterImage operation: a root device mapping with an Ebs SnapshotId is required (--block-device-mappings "[{\\"DeviceName\\": \\"/dev/sda1\\", \\"Ebs\\": {\\"SnapshotId\\": \\"snap-...\\"}}]")', 254);
    const snaps = this.snapshots();
    if (!snaps.some((s) => s.id === id)) return fail(`An error occurred (InvalidSnapshot.NotFound) when calling the RegisterImage operation: The snapshot '${id}' does not exist. (aws ec2 describe-snapshots lists them)`, 254);
    const latest = snaps.find((s) => s.atMs === this.machine.restorableAtMs);
    if (!latest) return fail(`twin: no snapshot was complete before the disaster: there is nothing to restore from`, 1);
    if (id !== latest.id) return fail(`twin: the rehearsal restores from the newest snapshot complete before the disaster (${latest.id}, ${clock(latest.atMs)}); ${id} is ${snaps.find((s) => s.id === id)!.atMs < latest.atMs ? 'older' : 'was not complete at the disaster'}: register ${latest.id}`, 1);
    if (this.machine.imageFromMs !== null) return fail(`An error occurred (InvalidAMIName.Duplicate) when calling the RegisterImage operation: an image from ${id} is already registered: ${RESTORED_AMI_ID}`, 254);
    return this.withStep(JSON.stringify({ ImageId: RESTORED_AMI_ID }, null, 4), 'register_image');
  }

  private runInstances(opts: Map<string, string[]>): Out {
    const image = opts.get('--image-id')![0]!;
    const tarball = this.scenario.backups!.strategy === 'tarball';
    const expected = tarball ? CLEAN_AMI_ID : this.machine.imageFromMs !== null ? RESTORED_AMI_ID : undefined;
    if (image !== expected) return fail(`An error occurred (InvalidAMIID.NotFound) when calling the RunInstances operation: The image id '[${image}]' does not exist${tarball ? ` (the clean CircleCI Services AMI is ${CLEAN_AMI_ID})` : expected === undefined ? ' (register one from the snapshot first: aws ec2 register-image)' : ''}`, 254);
    const count = opts.get('--count')?.[0];
    if (count !== undefined && count !== '1') return fail('twin: one Services machine: --count 1', 1);
    if (this.machine.instance !== null) return fail(`twin: the Services machine ${this.instanceId} is already running; the rehearsal records each runbook step once`, 1);
    const ip = opts.get('--private-ip-address')?.[0];
    if (ip !== undefined && ip !== OLD_IP && ip !== NEW_IP) return fail(`twin: the rehearsal models the old address (--private-ip-address ${OLD_IP}) or a new one EC2 assigns (leave it out: ${NEW_IP}); not ${ip}`, 1);
    if (ip === OLD_IP && this.oldIpHeld()) return fail(`An error occurred (InvalidIPAddress.InUse) when calling the RunInstances operation: Address ${OLD_IP} is in use (by ${OLD_INSTANCE_ID}, unreachable in ${PRIMARY_ZONE}: launch with a new address and re-associate it with --allow-reassignment)`, 254);
    const newIp = ip !== OLD_IP;
    const json = JSON.stringify({ Instances: [{ InstanceId: NEW_INSTANCE_ID, ImageId: image, State: { Code: 0, Name: 'pending' }, PrivateIpAddress: newIp ? NEW_IP : OLD_IP, NetworkInterfaces: [{ NetworkInterfaceId: NEW_ENI_ID }] }] }, null, 4);
    return this.withStep(json, 'launch_instance', () => {
      this.newIp = newIp;
    });
  }

  private assignPrivateIp(opts: Map<string, string[]>): Out {
    const eni = opts.get('--network-interface-id')![0]!;
    if (this.machine.instance === null || eni !== this.eniId) return fail(`An error occurred (InvalidNetworkInterfaceID.NotFound) when calling the AssignPrivateIpAddresses operation: The networkInterface ID '${eni}' does not exist${this.machine.instance ? ` (the Services machine's is ${this.eniId})` : ''}`, 254);
    const ips = opts.get('--private-ip-addresses') ?? [];
    if (ips.length !== 1 || ips[0] !== OLD_IP) return fail(`twin: the rehearsal re-associates the old Services address: --private-ip-addresses ${OLD_IP}`, 1);
    if (opts.has('--no-allow-reassignment')) return fail('twin: --allow-reassignment is what moves the old address to this instance (the seeds: the allow-reassociation feature)', 1);
    return this.withStep('', 'reassign_private_ip');
  }

  /** The tarballs' keys: one prefix per backup instant, as a cron job uploading circleci-backup's output would. */
  private tarballKeys(): { key: string; atMs: number }[] {
    if (this.scenario.backups!.strategy !== 'tarball') return [];
    return this.machine.backupsAtMs.map((atMs) => ({ key: `${BACKUP_BUCKET}/${clock(atMs).replaceAll(':', '')}/circleci-data-export.tar.bz2`, atMs }));
  }

  private s3(op: string | undefined, rest: string[]): Out {
    if (op === 'ls') {
      const prefix = rest.filter((a) => a !== '--recursive')[0] ?? `${BACKUP_BUCKET}/`;
      if (!prefix.startsWith(BACKUP_BUCKET)) return fail(`An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does not exist (the backups' bucket: ${BACKUP_BUCKET})`, 254);
      const rows = this.tarballKeys().filter((k) => k.key.startsWith(prefix));
      return ok(rows.map((k) => `${awsTime(k.atMs).slice(0, 19).replace('T', ' ')}   52428800 ${k.key.slice(BACKUP_BUCKET.length + 1)}`).join('\n'));
    }
    if (op !== 'cp' || rest.length !== 2) return fail('aws: the twin answers `aws s3 ls s3://circleci-backups/` and `aws s3 cp s3://circleci-backups/<HHMMSS>/circleci-data-export.tar.bz2 ./backup.tar.bz2` in this rehearsal', 252);
    if (this.scenario.backups!.strategy !== 'tarball') return fail(`fatal error: An error occurred (404) when calling the HeadObject operation: Key "${rest[0]}" does not exist (the backups are EBS snapshots)`, 1);
    const keys = this.tarballKeys();
    const key = keys.find((k) => k.atMs === this.machine.restorableAtMs)?.key;
    if (!keys.some((k) => k.key === rest[0])) return fail(`fatal error: An error occurred (404) when calling the HeadObject operation: Key "${rest[0]}" does not exist${key ? ` (the newest complete tarball: ${key})` : ''}`, 1);
    if (rest[0] !== key) return fail(`twin: the rehearsal restores from the newest tarball complete before the disaster${key ? ` (${key})` : ' (there is none)'}; not ${rest[0]}`, 1);
    return this.withStep(`download: ${rest[0]} to ${rest[1]}`, 'download_backup', () => {
      this.downloaded = true;
    });
  }

  // ---- on the Services machine ----

  private rm(args: string[], sudo: boolean): Out {
    const flags = args.filter((a) => a.startsWith('-')).join('');
    const paths = args.filter((a) => !a.startsWith('-')).map((p) => p.replace(/\/+$/, ''));
    if (paths.length === 0) return fail("rm: missing operand\nTry 'rm --help' for more information.");
    if (paths.some((p) => p !== '/opt/nomad')) return fail(`twin: the rehearsal removes /opt/nomad only (the seeds' step 5), not ${paths.filter((p) => p !== '/opt/nomad').join(' ')}`);
    if (!/r/i.test(flags)) return fail("rm: cannot remove '/opt/nomad': Is a directory");
    if (!sudo) return fail("rm: cannot remove '/opt/nomad/data': Permission denied");
    return this.withStep('', 'wipe_nomad_state');
  }

  private fileText(path: typeof REPLICATED | typeof OPERATOR): string {
    return this.fileEdits.get(path) ?? replicatedFile(path, this.machine.instance!.replicatedIp, this.token);
  }

  private cat(args: string[]): Out {
    if (args.length === 0) return fail('cat: reading standard input is not supported here');
    const out: string[] = [];
    for (const f of args) {
      if (f !== REPLICATED && f !== OPERATOR) return fail(`cat: ${f}: No such file or directory (the rehearsal's files: ${REPLICATED}, ${OPERATOR})`);
      out.push(this.fileText(f));
    }
    return ok(out.join('\n'));
  }

  /** `sed [-i] [-e] 's/OLD/NEW/[g]' FILE...`: the seeds' step 4 as a person types it. */
  private sed(args: string[], sudo: boolean): Out {
    let inPlace = false;
    const scripts: string[] = [];
    const files: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '-i' || a === '--in-place') inPlace = true;
      else if (a === '-e') scripts.push(args[++i] ?? '');
      else if (a.startsWith('-')) return fail(`sed: the twin's sed takes -i and -e (not ${a})`);
      else if (scripts.length === 0) scripts.push(a);
      else files.push(a);
    }
    if (scripts.length === 0) return fail('Usage: sed [OPTION]... {script-only-if-no-other-script} [input-file]...');
    const subs: { re: RegExp; to: string }[] = [];
    for (const s of scripts) {
      const m = /^s(.)(.*?)\1(.*?)\1(g?)$/.exec(s);
      if (!m) return fail(`sed: -e expression #1, char ${s.length}: the twin's sed runs s/OLD/NEW/ and s/OLD/NEW/g only`);
      let re: RegExp;
      try {
        re = new RegExp(m[2]!, m[4] === 'g' ? 'g' : '');
      } catch {
        return fail(`sed: -e expression #1, char ${s.length}: invalid regular expression`);
      }
      subs.push({ re, to: m[3]! });
    }
    if (files.length === 0) return fail('sed: no input files (give /etc/default/replicated /etc/default/replicated-operator)');
    const next = new Map<string, string>();
    for (const f of files) {
      if (f !== REPLICATED && f !== OPERATOR) return fail(`sed: can't read ${f}: No such file or directory`, 2);
      next.set(f, subs.reduce((t, s) => t.replace(s.re, s.to), this.fileText(f)));
    }
    if (!inPlace) return ok([...next.values()].join('\n'));
    if (!sudo) return fail(`sed: couldn't open temporary file /etc/default/sedX4lq2: Permission denied`, 4);
    const primary = this.machine.instance!.primaryIp;
    for (const [f, text] of next) {
      const ips = ipsOf(text);
      if (ips.length !== 1 || (ips[0] !== primary && ips[0] !== this.machine.instance!.replicatedIp)) {
        return fail(`twin: not written: ${f} would name ${ips.join(', ') || 'no address'}; the rehearsal models these files naming one address, the instance's (${primary}) or the one they had`);
      }
    }
    for (const [f, text] of next) this.fileEdits.set(f, text);
    const both = [REPLICATED, OPERATOR] as const;
    const naming = both.map((f) => ipsOf(this.fileText(f))[0]);
    if (naming.every((ip) => ip === primary)) return this.withStep('', 'update_replicated_ips');
    return ok(both.map((f, i) => `${f} names ${naming[i]}`).join('\n') + `\n  (step 4 is done when both name this instance's address, ${primary})`);
  }

  private replicated(args: string[], sudo: boolean): Out {
    if (!sudo) return fail('Error: permission denied: run replicated with sudo');
    if (args[0] === 'apps' && args.length === 1) return ok(replicatedAppsListing(this.scenario.version));
    if (args[0] === 'admin' && args[1] === 'get-secret-token' && args.length === 2) {
      const exported = `export CIRCLE_SECRET_PASSPHRASE='${this.machine.instance!.secretToken}'`;
      if (this.runbook.steps.some((s) => s.does === 'get_secret_token')) return this.withStep(exported, 'get_secret_token');
      return ok(`${exported}\n  (not a step of ${this.runbook.name}: builders launched with it join a Services machine at a new address; recovery.then: [reassociate-builders] rehearses that, without --interactive)`);
    }
    if (args[0] === 'app' && args.length === 3 && (args[2] === 'start' || args[2] === 'stop' || args[2] === 'status')) {
      if (args[1] !== APP_ID) return fail(`Error: app ${args[1]} not found (sudo replicated apps lists the app id)`);
      const inst = this.machine.instance!;
      if (args[2] === 'status') return ok(`App ${APP_ID}: ${inst.appRunning ? 'Started' : 'Stopped'}`);
      return this.withStep('', args[2] === 'stop' ? 'stop_app' : 'start_app');
    }
    return fail('replicated: the twin answers `replicated apps`, `replicated app <id> start|stop|status` and `replicated admin get-secret-token`');
  }

  /** The management console's hostname (the seeds' step 3): `replicatedctl app-config view hostname` / `set hostname --value X`. */
  private replicatedctl(args: string[], sudo: boolean): Out {
    if (!sudo) return fail('Error: permission denied: run replicatedctl with sudo');
    const inst = this.machine.instance!;
    const matches = (h: string) => h === inst.primaryIp || h === inst.secondaryIp;
    if (args[0] === 'app-config' && args[1] === 'view' && args[2] === 'hostname' && args.length === 3) {
      const shown = `hostname: ${inst.hostname}`;
      if (!matches(inst.hostname)) return ok(`${shown}\n  (this instance's address is ${inst.primaryIp}: set it with sudo replicatedctl app-config set hostname --value ${inst.primaryIp})`);
      return this.withStep(shown, 'check_hostname');
    }
    if (args[0] === 'app-config' && args[1] === 'set' && args[2] === 'hostname' && args[3] === '--value' && args.length === 5) {
      if (!matches(args[4]!)) return fail(`twin: the rehearsal models the hostname naming this instance (${inst.primaryIp}); ${args[4]} would not reach it`);
      return this.withStep(`hostname: ${args[4]}`, 'check_hostname');
    }
    return fail('replicatedctl: the twin answers `replicatedctl app-config view hostname` and `replicatedctl app-config set hostname --value <address>`');
  }

  private circleciRestore(args: string[], sudo: boolean): Out {
    if (!sudo) return fail('circleci-restore: must be run as root (sudo)');
    if (args.length !== 1) return fail('usage: circleci-restore <backup.tar.bz2>');
    if (!this.downloaded) return fail(`circleci-restore: ${args[0]}: No such file (download it first: aws s3 cp ${BACKUP_BUCKET}/... ${args[0]})`, 2);
    return this.withStep('', 'restore_tarball');
  }

  private devConsole(line: string): Out {
    if (line === '' || line.startsWith(';')) return ok('');
    if (line === 'exit' || line === '(exit)' || line === 'quit') {
      this.mode = 'shell';
      return ok('');
    }
    const m = /^\(admin\/delete-build\s+"([^"]*)"\s*\)$/.exec(line);
    if (!m) return fail(`CompilerException: the twin's dev-console answers (admin/delete-build "https://${CIRCLECI_HOST}/gh/<org>/<project>/<build>") in this rehearsal; exit leaves`);
    const id = /\/gh\/[^/]+\/[^/]+\/(\d+)$/.exec(m[1]!)?.[1];
    if (id === undefined) return fail(`IllegalArgumentException: not a build URL: "${m[1]}" (the form: https://${CIRCLECI_HOST}/gh/<org>/<project>/<build>)`);
    const stuck = this.machine.stuckRecords;
    if (!stuck.includes(Number(id))) return ok(`nil\n  (build ${id} is not left Running with nothing running it; \`status\` lists those that are)`);
    return this.withStep('true', 'cleanup_stuck_builds');
  }

  // ---- status and help ----

  private status(): string {
    const m = this.machine;
    const inst = m.instance;
    const lines = [`${clock(this.nowMs)}  disaster at ${clock(this.scenario.disaster!.atMs)}; runbook ${this.runbook.name}`];
    const b = this.scenario.backups!;
    if (b.strategy === 'replica') lines.push(`Backups: the replica ${REPLICA_INSTANCE_ID} in ${REPLICA_ZONE}, its /data ${formatDurationMs(b.lagMs)} behind the Services machine's at the disaster`);
    else lines.push(`Backups before the disaster: ${m.backupsAtMs.length === 0 ? 'none' : m.backupsAtMs.map((t) => `${clock(t)}${this.scenario.backups!.strategy === 'ebs_snapshot' ? ` (${snapshotId(t)})` : ''}`).join(', ')}`);
    if (m.imageFromMs !== null) lines.push(`Restoring from the backup of ${clock(m.imageFromMs)}${this.scenario.backups!.strategy === 'ebs_snapshot' ? ` (AMI ${RESTORED_AMI_ID})` : ''}`);
    if (!inst) lines.push('Services machine: none running');
    else {
      lines.push(`Services machine ${this.instanceId}: private IP ${inst.primaryIp}${inst.secondaryIp ? ` + ${inst.secondaryIp}` : ''}; app ${inst.appRunning ? 'running' : 'stopped'}; builders ${inst.buildersReach ? 'reach it' : 'cannot reach it'}`);
      lines.push(`  /etc/default/replicated names ${inst.replicatedIp}; console hostname ${inst.hostname}; /opt/nomad: ${inst.allocations} allocations (${inst.staleAllocations} stale), ${inst.pendingJobs} pending jobs`);
      const urls = m.stuckRecords.slice(0, 3).map((id) => `https://${CIRCLECI_HOST}/gh/acme/app/${id}`);
      lines.push(`  build records left Running with nothing running them: ${m.stuckRecords.length}${urls.length > 0 ? ` (e.g. ${urls.join(' ')})` : ''}`);
    }
    const lc = this.did('rotate_builders') ? this.rotatedFrom! : INSTALL_LAUNCH_CONFIGURATION;
    const dial = lc === INSTALL_LAUNCH_CONFIGURATION ? { ip: OLD_IP, passphrase: undefined } : this.launchConfigs.get(lc)!;
    lines.push(`Builders: ${this.scenario.topology.nomadClients.count} in ${NOMAD_CLIENTS_GROUP}, launched from ${lc} (SERVICES_PRIVATE_IP=${dial.ip}${dial.passphrase ? ', with CIRCLE_SECRET_PASSPHRASE' : ''}); the group's launch configuration: ${this.groupLaunchConfiguration()}`);
    lines.push('Runbook:');
    for (const [i, s] of this.runbook.steps.entries()) {
      const at = this.done.indexOf(s.name);
      const r = this.view.runbook.find((x) => x.step === s.name);
      lines.push(`  ${String(i + 1).padStart(2)}. ${s.name.padEnd(27)} ${at === -1 ? 'not done' : `your step ${at + 1}${r ? `: ${r.consequence}` : ''}`}`);
    }
    return lines.join('\n');
  }

  private help(): string {
    const replica = this.scenario.backups!.strategy === 'replica';
    const names = (t: string) => t.replaceAll('APP_ID', APP_ID).replaceAll('ENI', this.eniId).replaceAll('OLD_INSTANCE', OLD_INSTANCE_ID);
    return [
      `The runbook's steps and the seeds' commands that do them (runbook ${this.runbook.name}):`,
      ...this.runbook.steps.map((st) => `  ${st.name.padEnd(27)} ${names(STEP_COMMANDS[st.does])}`),
      'Reading the state (no step):',
      `  aws ec2 describe-instances [--filters "Name=tag:Name,Values=circleci_services"] ; aws ec2 describe-instance-status --instance-ids ${OLD_INSTANCE_ID} --include-all-instances`,
      ...(replica ? [] : [this.scenario.backups!.strategy === 'tarball' ? `  aws s3 ls ${BACKUP_BUCKET}/` : '  aws ec2 describe-snapshots [--filters "Name=description,Values=CircleCI*"]']),
      `  aws autoscaling describe-auto-scaling-groups ; aws autoscaling describe-launch-configurations`,
      `  On the Services machine: sudo replicated apps ; sudo replicated app ${APP_ID} status ; cat ${REPLICATED} ${OPERATOR}`,
      'The rehearsal: status, help, done (or exit) to end the recovery. Variables (NAME=value, export), pipes to grep, head, tail, wc -l work.',
    ].join('\n');
  }
}
