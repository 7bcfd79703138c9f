import type { Profile } from '../../fixtures/schema.ts';
import type { SettledScenario } from '../../sim/scenario/settled.ts';
import type { SettledDrill } from '../../sim/training/drill.ts';
import type { TrainingResult } from '../../sim/training/session.ts';
import { runInteractive, runScript } from './console.ts';
import { LiveDrillInstallation } from './live-installation.ts';
import { LiveTrainingSession } from './live-session.ts';
import { RealNomadCli } from './real-nomad-cli.ts';
import { interruptible } from '../live/replay/run-live.ts';

export interface LiveDrillOptions {
  drill: SettledDrill;
  installation: SettledScenario;
  profile: Profile;
  /** The typed session to replay; without it the console is interactive on `stdin`. */
  script?: string;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** The installation's time a command of the shortest path is reckoned at (grading's time part). */
  commandMs: number;
  /** `twin`: the built-in read-outs answer `nomad`; otherwise a `nomad` binary on PATH runs against the live Nomad API. */
  nomad?: 'real' | 'twin';
  timeScale?: number;
  portOffset?: number;
  /** Boot and fault lines (stderr). */
  log: (line: string) => void;
}

/**
 * `twin train --drill NAME --mode live`: boots the drill's installation on the live stack, breaks it, gives the
 * console (a script replayed, or interactive), verifies the fix on the live stack and grades; the stack is torn
 * down whatever happens.
 */
export async function runLiveDrill(o: LiveDrillOptions): Promise<TrainingResult> {
  // Ctrl-C or a kill leaves nothing behind: the drill stops at its next step and the stack is torn down.
  return interruptible(o.log, 'stopping the live stack', (stop) => drillOnStack(o, stop));
}

async function drillOnStack(o: LiveDrillOptions, stop: AbortSignal): Promise<TrainingResult> {
  const portOffset = o.portOffset ?? envPortOffset();
  const t0 = Date.now();
  o.log(`booting the live stack for drill ${o.drill.name} (${o.profile.containers.length} containers) …`);
  const inst = await LiveDrillInstallation.boot(o.installation, o.profile, { ...(o.timeScale === undefined ? {} : { timeScale: o.timeScale }), ...(portOffset === undefined ? {} : { portOffset }), log: o.log });
  let nomad: RealNomadCli | undefined;
  try {
    stop.throwIfAborted();
    o.log(`live stack up in ${Date.now() - t0} ms; breaking it (the hidden fault) and replaying the installation's pushes at ${inst.timeScale}× …`);
    const recorded: [Parameters<LiveTrainingSession['recordFault']>[0], number][] = [];
    await inst.breakIt(o.drill, (order, atMs) => recorded.push([order, atMs]));
    stop.throwIfAborted();
    const session = new LiveTrainingSession(o.drill, inst, { seed: o.installation.seed, commandMs: o.commandMs, timeScale: inst.timeScale });
    for (const [order, atMs] of recorded) session.recordFault(order, atMs);
    nomad = o.nomad === 'twin' ? undefined : RealNomadCli.atAddress(inst.nomadUrl);
    if (o.script !== undefined) await runScript(session, o.script, o.stdout, nomad);
    else await runInteractive(session, o.stdin, o.stdout, { nomad });
    stop.throwIfAborted();
    o.log(`verifying the fix on the live stack (up to ${Math.round(o.drill.verify.withinMs / inst.timeScale / 1000)} s) …`);
    const result = await session.finish();
    const held = inst.alarmPushes;
    // With the live disk, what the pushes sent while RabbitMQ's disk alarm held came to (the rest still in flight).
    const whileHeld = inst.servicesDisk === undefined ? '' : `; ${held.sent} sent while RabbitMQ's disk alarm held: ${held.takenWhileHeld} taken before it cleared, ${held.takenAfter} after, ${held.notTaken} not taken`;
    o.log(`pushes replayed: ${inst.pushes.sent} (${inst.pushes.undelivered} webhooks frontend did not take, ${inst.pushes.failed} GHE refused)${whileHeld}`);
    return result;
  } finally {
    await nomad?.stop();
    await inst.down();
  }
}

/**
 * `TWIN_TRAIN_PORT_OFFSET`: the documented ports' offset for a live drill's stack (default live-installation.ts
 * TRAIN_PORT_OFFSET), so that live tests of their own run beside others.
 */
export function envPortOffset(): number | undefined {
  const raw = process.env['TWIN_TRAIN_PORT_OFFSET'];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  // Named as the CLI's input errors are (main.ts describeError): the message and hint, not an internal error.
  if (!Number.isInteger(n) || n < 1_000 || n > 60_000) throw Object.assign(new Error(`TWIN_TRAIN_PORT_OFFSET=${raw} is not a port offset`), { name: 'CliError', hint: 'a whole number from 1000 to 60000: TWIN_TRAIN_PORT_OFFSET=27000 publishes documented port 80 at 27080; unset it for the default 22000' });
  return n;
}
