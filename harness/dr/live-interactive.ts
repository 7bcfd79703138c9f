import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInteractive, runScript, type ConsoleLine, type ConsoleOut, type ConsoleSession } from '../train/console.ts';
import { awsCliEnv } from '../ec2/aws-cli-env.ts';
import { StartedEc2Api } from '../ec2/server.ts';
import { PIPELINE_DB } from '../live/pipeline/index.ts';
import { CIRCLECI_HOST, DEV_CONSOLE_PROMPT, DrAdminShell, NEW_ENI_ID, NEW_INSTANCE_ID, OLD_INSTANCE_ID, REPLICA_ENI_ID, REPLICA_INSTANCE_ID, RESTORED_AMI_ID, snapshotId } from '../../sim/models/dr/admin-shell.ts';
import { NEW_IP, OLD_IP, REPLICA_IP, type DrStepResult } from '../../sim/models/dr/dr-rehearsal.ts';
import type { DrReport } from '../../sim/models/dr/dr-report.ts';
import { judgeStep, ranBefore, type Runbook, type RunbookStep } from '../../sim/models/dr/runbook.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import { applyFilters, parsePipeline, withoutSudo, words, type Filter } from '../../sim/training/shell.ts';
import { sessionText, transcript } from './interactive.ts';
import { LiveRun, runLiveDr, until, type LiveDrOptions } from './live-rehearsal.ts';
import { consoleHostname, replicatedAddresses } from './services-volume.ts';

/**
 * `twin dr <scenario> --mode live --interactive` (or `--script FILE`): the live rehearsal (`live-rehearsal.ts`) runs
 * to the disaster as without it; then, instead of the runbook's steps in order, the admin's shell. Each line goes to
 * `sim/models/dr/admin-shell.ts`'s shell, which parses it and says which runbook step it is (or refuses it, in the
 * simulation's words); the step is then done for real on the live stack:
 *
 * - `aws ec2 ...` runs the real AWS CLI against the rehearsal's EC2 endpoint (`--endpoint-url`, test credentials);
 *   what it prints is shown (through the line's `| grep ...`), and what it did is adopted: the AMI it registered, the
 *   instance it launched (the rehearsal waits for it to boot on the restored volume), the address it re-associated;
 * - the Services machine's commands (`sudo rm -rf /opt/nomad`, `sudo sed -i ... /etc/default/replicated*`,
 *   `replicated app <id> stop|start`, `replicatedctl app-config`, the dev-console's `(admin/delete-build ...)`) do the
 *   step's live action (`LiveRun.apply`): the Nomad server's data dir, the volume's `etc/` files, the app's
 *   processes, PostgreSQL's build records.
 *
 * The live ids differ from the simulation's: the shell takes both. The rehearsal's names (`i-0c1rc1e5e7v1ce5a0`,
 * `snap-…b4`, `10.0.1.10`, and once launched `ami-0c1rc1e5e7a5e0001`, `i-0c1rc1e5e7v1ce5b1`, its ENI, `10.0.1.77`) stand
 * for the live ones (`Aliases`), so a session typed in the simulation (`sessions/*.txt`) replays live, and
 * session.txt, written in the rehearsal's names, replays in both.
 *
 * The cold fail-over (`az_outage` with a replica, `live-kinds/az-outage.ts`): the replica's instance, ENI and address
 * stand for the simulation's (`i-0c1rc1e5e7v1ce5c2`, `eni-…c2`, `10.0.2.20`); `describe-instance-status` of the old
 * instance is `confirm_primary_dead` (it waits for EC2 to report it terminated, then the CLI shows it), the
 * re-association goes to the replica's ENI, `replicated app <id> start` starts the app on the replica's volume.
 */

/** Where the session's lines come from and go. */
export interface LiveSessionIo {
  script?: string;
  input: NodeJS.ReadableStream;
  output: ConsoleOut & NodeJS.WritableStream & { isTTY?: boolean };
  outDir: string;
}

/** Ops of `aws` run live when the shell takes them without a step: those that only read the endpoint. */
const READ_ONLY_AWS = /^(describe|get)-/;
/** Bound on one AWS CLI call (wall ms). */
const CLI_TIMEOUT_MS = 60_000;

/**
 * The rehearsal's names and the live ones they stand for, both ways. Replaced as whole tokens (an address is not a
 * prefix of a longer one), each text in one pass; an address also in its `sed` form (`10\.0\.1\.10`).
 */
export class Aliases {
  private readonly toLiveMap = new Map<string, string>();
  private readonly toSimMap = new Map<string, string>();

  add(sim: string, live: string): void {
    if (sim === live || this.toLiveMap.has(sim)) return;
    this.toLiveMap.set(sim, live);
    this.toSimMap.set(live, sim);
    if (/^\d+(\.\d+){3}$/.test(sim)) this.add(sim.replaceAll('.', '\\.'), live.replaceAll('.', '\\.'));
  }

  /** The pairs as the banner and `status` show them (addresses once, in their plain form). */
  get pairs(): { sim: string; live: string }[] {
    return [...this.toLiveMap].filter(([sim]) => !sim.includes('\\')).map(([sim, live]) => ({ sim, live }));
  }

  toLive(text: string): string {
    return replaceTokens(text, this.toLiveMap);
  }

  toSim(text: string): string {
    return replaceTokens(text, this.toSimMap);
  }
}

function replaceTokens(text: string, map: ReadonlyMap<string, string>): string {
  if (map.size === 0) return text;
  const keys = [...map.keys()].sort((a, b) => b.length - a.length).map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return text.replace(new RegExp(`(?<![\\w.\\\\])(?:${keys.join('|')})(?![\\w]|\\\\?\\.\\d)`, 'g'), (m) => map.get(m)!);
}

/** A typed line's command, split as the shell splits it: its words (after `sudo`) and its filters. */
interface ParsedLine {
  command: string;
  words: string[];
  filters: Filter[];
}

/** One step done for real, as typed (judged for order once the session ends). */
interface TypedStep {
  step: RunbookStep;
  startedAtMs: number;
  durationMs: number;
  consequence: string;
}

/** The rehearsal with the typed steps in place of the runbook's order (`runner` of `runLiveDr`). */
abstract class TypedStepsRun extends LiveRun {
  protected abstract readonly session: { shell: DrAdminShell; io: LiveSessionIo; aliases: Aliases; wallAt: number[] };
  private readonly typed: TypedStep[] = [];
  private scratch: string | undefined;

  private get shell(): DrAdminShell {
    return this.session.shell;
  }

  private get aliases(): Aliases {
    return this.session.aliases;
  }

  private get endpoint(): string {
    const ec2 = this.stack.components.get('ec2');
    if (!(ec2 instanceof StartedEc2Api)) throw new Error('the typed live rehearsal needs the twin\'s EC2 endpoint');
    return ec2.url;
  }

  override reportedScenario(): SettledScenario {
    return this.shell.finalScenario();
  }

  /** The shell after the disaster: each line as `execute` does it; then the steps judged, those not typed skipped. */
  protected override async recover(): Promise<void> {
    const { io } = this.session;
    this.aliases.add(OLD_INSTANCE_ID, this.oldInstanceId);
    this.aliases.add(OLD_IP, this.oldIp);
    const r = this.failover?.standby;
    if (r) {
      // The cold fail-over's replica (harness/dr/live-kinds/az-outage.ts) in the rehearsal's names.
      this.aliases.add(REPLICA_INSTANCE_ID, r.instanceId);
      this.aliases.add(REPLICA_ENI_ID, r.eni);
      this.aliases.add(REPLICA_IP, r.privateIp);
    } else if (this.snapshot) this.aliases.add(snapshotId(this.plan.snapshotAtMs), this.snapshot.id);
    this.note(`recovery starts: runbook ${this.runbook.name}, the admin's typed steps (${io.script !== undefined ? '--script' : '--interactive'})`);
    this.scratch = mkdtempSync(join(tmpdir(), 'twin-dr-aws-'));
    const console: ConsoleSession = {
      banner: () => this.banner(),
      get prompt() {
        return shellOf().prompt;
      },
      get isOver() {
        return shellOf().isOver;
      },
      execute: (line) => this.execute(line),
      endOfInput: () => this.shell.endOfInput(),
    };
    const shellOf = () => this.shell;
    try {
      io.output.write('\n');
      if (io.script !== undefined) await runScript(console, io.script, io.output);
      else await runInteractive(console, io.input, io.output);
      io.output.write('\n');
    } finally {
      rmSync(this.scratch, { recursive: true, force: true });
    }
    this.recordSteps();
    if (this.servicesUpWallMs === undefined && this.machine.phase === 'running' && this.machine.appRunning) await this.waitHealthy();
  }

  /** The report's steps: those typed in their order, judged against the final choice (what was not typed is skipped), then the others skipped. */
  private recordSteps(): void {
    const recovery = this.shell.finalScenario().recovery!;
    const ran = new Set<string>();
    for (const t of this.typed) {
      const early = ranBefore(t.step, this.runbook, recovery, ran);
      this.steps.push({ step: t.step.name, does: t.step.does, started_at_ms: t.startedAtMs - this.t0, duration_ms: t.durationMs, ...judgeStep(t.consequence, early) });
      ran.add(t.step.name);
    }
    const end = Date.now() - this.t0;
    for (const s of this.runbook.steps.filter((x) => !ran.has(x.name))) {
      this.steps.push({ step: s.name, does: s.does, status: 'skipped', started_at_ms: end, duration_ms: 0, consequence: '' } satisfies DrStepResult);
      this.note(`${s.name} skipped (not typed)`);
    }
  }

  private banner(): string {
    const names = this.aliases.pairs.map((p) => `${p.sim} is ${p.live}`).join(', ');
    return [
      this.shell.banner(),
      this.failover?.standby
        ? `Live: the zone of the stack's Services machine ${this.oldInstanceId} (${this.oldIp}) was lost (TerminateInstances on the twin's EC2 endpoint ${this.endpoint}: EC2 has no zone outage); the replica ${this.failover.standby.instanceId} (${this.failover.standby.privateIp}) holds its stores, its app stopped. \`aws ec2\` runs the real AWS CLI against the endpoint, the Services machine's commands act on the replica.`
        : `Live: the stack's Services machine ${this.oldInstanceId} (${this.oldIp}) was terminated on the twin's EC2 endpoint ${this.endpoint}; \`aws ec2\` runs the real AWS CLI against it, the Services machine's commands act on the restored machine.`,
      `The rehearsal's names stand for the live ones (type either): ${names}; the AMI, instance, ENI and address you create get theirs too (\`status\` lists them).`,
    ].join('\n');
  }

  /** One typed line: the shell says what it is; a step is done for real, a read runs against the live state. */
  private async execute(typed: string): Promise<ConsoleLine> {
    const line = typed.replace(/\r$/, '');
    const shell = this.shell;
    const simLine = shell.prompt === DEV_CONSOLE_PROMPT ? await this.devConsoleLine(this.aliases.toSim(line)) : this.aliases.toSim(line);
    const before = shell.entries.length;
    const sim = shell.execute(simLine);
    const entry = shell.entries.length > before ? shell.entries.at(-1)! : undefined;
    if (entry) this.session.wallAt.push(Date.now() - this.disasterWallMs);
    const own = sim.stepNote === undefined ? sim.output : sim.output.slice(0, Math.max(0, sim.output.length - sim.stepNote.length)).replace(/\n$/, '');
    const parsed = shell.prompt === DEV_CONSOLE_PROMPT && entry?.step === undefined ? undefined : this.parse(simLine);
    let r: { output: string; exit: number };
    if (entry?.step !== undefined) r = await this.doStep(this.runbook.steps.find((s) => s.name === entry.step)!, parsed, own);
    else if (sim.exit === 0 && parsed !== undefined) r = (await this.read(parsed)) ?? { output: this.aliases.toLive(sim.output), exit: 0 };
    else r = { output: this.aliases.toLive(sim.output), exit: sim.exit };
    if (entry) entry.exit = r.exit;
    return { output: r.output, exit: r.exit, ended: sim.ended };
  }

  /** The line's command as the shell splits it (`$(...)` left to the shell: only `aws` and `cat` are run from it). */
  private parse(line: string): ParsedLine | undefined {
    if (line.includes('$(') && !/^\s*(sudo\s+)?aws\s/.test(line)) return undefined;
    const p = parsePipeline(line);
    if ('kind' in p) return undefined;
    const w = words(p.command.trim(), this.shell.variables);
    if (w === undefined) return undefined;
    return { command: p.command, words: withoutSudo(w).words, filters: p.filters };
  }

  /** A line that reads state: the AWS CLI's describe calls, the machine's files, `status`; undefined for the shell's own answer. */
  private async read(p: ParsedLine): Promise<{ output: string; exit: number } | undefined> {
    const [cmd, ...args] = p.words;
    if (cmd === 'aws') {
      if (!READ_ONLY_AWS.test(args[1] ?? '')) return { output: `twin: not run live: \`aws ${args.slice(0, 2).join(' ')}\` is not a step of runbook ${this.runbook.name}; live, the rehearsal runs the AWS CLI's describe calls and the runbook's steps (register-image, run-instances, assign-private-ip-addresses, describe-instance-status of the old instance)`, exit: 1 };
      const r = await this.aws(p);
      return { output: r.shown, exit: r.exit };
    }
    if (cmd === 'cat' && this.machine.phase === 'running') {
      const text = args.map((f) => readFileSync(join(this.machine.etcDir, f.replace(/^\/etc\//, '')), 'utf8').replace(/\n$/, '')).join('\n');
      return applyFilters(text, 0, p.filters);
    }
    if (cmd === 'status') return { output: await this.status(), exit: 0 };
    return undefined;
  }

  /** Runs a step the shell recognised on the live stack; its output and the step's line. A live call that fails takes the step back. */
  private async doStep(step: RunbookStep, p: ParsedLine | undefined, own: string): Promise<{ output: string; exit: number }> {
    const startedAt = Date.now();
    let output = this.aliases.toLive(own);
    let consequence: string;
    if (p?.words[0] === 'aws') {
      const r = await this.awsStep(step, p);
      if (typeof r === 'object') {
        this.shell.retractLast(r.exit);
        return { output: `${r.output}\n  (not done: the endpoint refused it; the step is not recorded)`, exit: r.exit };
      }
      [output, consequence] = [this.lastShown, r];
    } else {
      consequence = await this.apply(step);
      if (step.does === 'check_hostname') output = `hostname: ${consoleHostname(this.machine.etcDir)}`;
    }
    this.typed.push({ step, startedAtMs: startedAt, durationMs: Date.now() - startedAt, consequence });
    const missing = ranBefore(step, this.runbook, { skip: [], order: [] }, new Set(this.typed.slice(0, -1).map((t) => t.step.name)));
    const order = missing.length > 0 ? ` (it requires ${missing.join(', ')}, not done yet)` : '';
    this.note(`${step.name} typed, done in ${Date.now() - startedAt} ms: ${consequence}`);
    const note = `  → step ${this.typed.length}: ${step.name} done live in ${Date.now() - startedAt} ms: ${consequence}${order}`;
    return { output: output === '' ? note : `${output}\n${note}`, exit: 0 };
  }

  /** What the last AWS CLI call printed through the line's filters. */
  private lastShown = '';

  /** A step typed as an `aws ec2` call: the real CLI does it, the rehearsal adopts what it made; the consequence, or the CLI's refusal. */
  private async awsStep(step: RunbookStep, p: ParsedLine): Promise<string | { output: string; exit: number }> {
    switch (step.does) {
      case 'register_image': {
        if (this.snapshot) await this.snapshotCompleted(this.snapshot.id);
        const r = await this.aws(p);
        if (r.exit !== 0) return { output: r.shown, exit: r.exit };
        const id = (JSON.parse(r.stdout) as { ImageId: string }).ImageId;
        this.aliases.add(RESTORED_AMI_ID, id);
        await this.imageAvailable(id);
        this.imageId = id;
        return `AMI ${id} registered${this.snapshot ? ` from ${this.snapshot.id} (taken ${Math.round(this.scenarioMsBeforeDisaster(this.snapshot.wallMs) / 1000)} s of scenario time before the disaster)` : ''}`;
      }
      case 'launch_instance': {
        const launchedAt = Date.now();
        // The old address is held until EC2 reports the old instance terminated: the CLI's call is retried until then.
        const r = await until('the old private IP to be free', async () => {
          const x = await this.aws(p);
          return /InvalidIPAddress\.InUse/.test(x.shown) ? undefined : x;
        });
        if (r.exit !== 0) return { output: r.shown, exit: r.exit };
        const instance = (JSON.parse(r.stdout) as { Instances: { InstanceId: string; PrivateIpAddress: string; NetworkInterfaces?: { NetworkInterfaceId: string }[] }[] }).Instances[0]!;
        this.aliases.add(NEW_INSTANCE_ID, instance.InstanceId);
        if (instance.NetworkInterfaces?.[0]) this.aliases.add(NEW_ENI_ID, instance.NetworkInterfaces[0].NetworkInterfaceId);
        if (instance.PrivateIpAddress !== this.oldIp) this.aliases.add(NEW_IP, instance.PrivateIpAddress);
        return this.launched(instance.InstanceId, launchedAt);
      }
      case 'confirm_primary_dead': {
        // The step waits until EC2 reports the old instance terminated (its address is free only then), then the CLI shows it.
        const consequence = await this.apply(step);
        const r = await this.aws(p);
        if (r.exit !== 0) return { output: r.shown, exit: r.exit };
        return consequence;
      }
      case 'reassign_private_ip': {
        const r = await this.aws(p);
        if (r.exit !== 0) return { output: r.shown, exit: r.exit };
        const i = p.words.indexOf('--network-interface-id');
        return this.reassigned(this.aliases.toLive(p.words[i + 1] ?? ''));
      }
      default: {
        const r = await this.aws(p);
        if (r.exit !== 0) return { output: r.shown, exit: r.exit };
        return this.apply(step);
      }
    }
  }

  /** The real AWS CLI on the line's words (the rehearsal's names made live), against the endpoint; its output through the line's filters. */
  private async aws(p: ParsedLine): Promise<{ stdout: string; shown: string; exit: number }> {
    const epoch = String(Math.floor(Date.now() / 1000));
    const args = p.words.slice(1).map((w) => this.aliases.toLive(w.replace(/\$\(date\s+(?:'\+%s'|"\+%s"|\+%s)\)/g, epoch)));
    const env = { ...awsCliEnv(this.scratch!, 'us-east-1'), AWS_ENDPOINT_URL: this.endpoint };
    const r = await new Promise<{ stdout: string; stderr: string; exit: number }>((done) => {
      execFile('aws', [...args, '--endpoint-url', this.endpoint], { env, timeout: CLI_TIMEOUT_MS, maxBuffer: 8 << 20 }, (e, stdout, stderr) => {
        const code = e === null ? 0 : typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 255;
        done({ stdout, stderr: e !== null && (e as { code?: unknown }).code === 'ENOENT' ? 'twin: the AWS CLI (`aws`) is not installed: pip install awscli' : stderr, exit: code });
      });
    });
    // One EC2 call, counted as the rehearsal's own are (the report's `engine.events`).
    void this.call(Promise.resolve());
    const text = `${r.stdout}${r.exit === 0 ? '' : r.stderr.replace(/^\n+/, '')}`.replace(/\n+$/, '');
    const shown = p.filters.length > 0 && r.exit === 0 ? applyFilters(text, r.exit, p.filters).output : text;
    this.lastShown = shown;
    return { stdout: r.stdout, shown, exit: r.exit };
  }

  /** In the dev-console, a live build's URL stands for one the shell lists as left Running. */
  private async devConsoleLine(line: string): Promise<string> {
    const m = /^(\s*\(admin\/delete-build\s+"https?:\/\/[^/]+\/gh\/[^/]+\/[^/]+\/)(\d+)("\s*\)\s*)$/.exec(line);
    if (!m || this.shell.stuckRecords.includes(Number(m[2])) || this.shell.stuckRecords.length === 0) return line;
    return (await this.liveStuck()).includes(Number(m[2])) ? `${m[1]}${this.shell.stuckRecords[0]}${m[3]}` : line;
  }

  /** The build records restored queued or running that nothing runs (what `admin/delete-build` cleans up), by id. */
  private async liveStuck(): Promise<number[]> {
    if (this.machine.phase !== 'running' || !this.stack.components.has('postgres')) return [];
    const r = await this.postgres.query<{ id: string }>(PIPELINE_DB, "SELECT id FROM builds WHERE status IN ('queued', 'scheduled', 'running') AND sha = ANY($1) ORDER BY id", [[...this.restoredShas]]).catch(() => ({ rows: [] as { id: string }[] }));
    return r.rows.map((x) => Number(x.id));
  }

  /** `status`: the live machine, its files and Nomad state, the names, and the runbook's steps as typed so far. */
  private async status(): Promise<string> {
    const m = this.machine;
    const lines = [`${((Date.now() - this.disasterWallMs) / 1000).toFixed(0)} s after the disaster (live); runbook ${this.runbook.name}`];
    if (m.phase !== 'running') lines.push('Services machine: none running');
    else {
      const stale = m.nomad?.state.staleAllocations().length;
      const stuck = await this.liveStuck();
      lines.push(`Services machine ${m.instanceId}: private IP ${m.privateIp}${m.secondaryIp ? ` + ${m.secondaryIp}` : ''}; app ${m.appRunning ? 'running' : 'stopped'}; builders ${m.buildersReach() ? 'reach it' : 'cannot reach it'}`);
      lines.push(`  /etc/default/replicated names ${replicatedAddresses(m.etcDir).join(', ')}; console hostname ${consoleHostname(m.etcDir)}; /opt/nomad: ${stale === undefined ? 'a real Nomad\'s (not on the volume)' : `${stale} stale allocations`}`);
      lines.push(`  build records restored queued or running: ${stuck.length}${stuck.length > 0 ? ` (e.g. ${stuck.slice(0, 3).map((id) => `https://${CIRCLECI_HOST}/gh/acme/app/${id}`).join(' ')})` : ''}`);
    }
    lines.push(`Names: ${this.aliases.pairs.map((p) => `${p.sim} = ${p.live}`).join(', ')}`);
    lines.push('Runbook:');
    for (const [i, s] of this.runbook.steps.entries()) {
      const at = this.typed.findIndex((t) => t.step.name === s.name);
      lines.push(`  ${String(i + 1).padStart(2)}. ${s.name.padEnd(27)} ${at === -1 ? 'not done' : `your step ${at + 1}: ${this.typed[at]!.consequence}`}`);
    }
    return lines.join('\n');
  }
}

/**
 * The typed live rehearsal: `runLiveDr` with the admin's shell in place of the runbook's order; the report, and
 * session.txt and transcript.md (the times in it: wall seconds since the disaster).
 */
export async function runLiveInteractiveDr(
  scenario: SettledScenario,
  runbook: Runbook,
  io: LiveSessionIo,
  opts: Pick<LiveDrOptions, 'log' | 'portOffset' | 'inspect'> = {},
): Promise<{ report: DrReport; files: Record<string, string>; shell: DrAdminShell }> {
  const session = { shell: new DrAdminShell(scenario, runbook), io, aliases: new Aliases(), wallAt: [] as number[] };
  const runner = class extends TypedStepsRun {
    protected readonly session = session;
  };
  const report = await runLiveDr(scenario, runbook, { ...opts, runner, replay: `twin dr ${scenario.file} --mode live --seed ${scenario.seed} --script ${io.outDir}/session.txt` });
  const at = (i: number) => `+${((session.wallAt[i] ?? 0) / 1000).toFixed(1)} s`;
  return { report, shell: session.shell, files: { 'session.txt': sessionText(session.shell), 'transcript.md': transcript(scenario, runbook, session.shell, report, at) } };
}
