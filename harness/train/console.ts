import { createInterface } from 'node:readline';
import { FOLLOW_STEP_MS, type FollowStep, type LineResult } from '../../sim/training/session.ts';
import type { RealNomadCli } from './real-nomad-cli.ts';

/**
 * What the console drives: a training drill's session, or `twin dr --interactive`'s admin shell. Following
 * (`docker logs -f`) and commands run by an external binary (the real `nomad`) are a training session's only.
 */
export interface ConsoleSession {
  banner(): string;
  readonly prompt: string;
  readonly isOver: boolean;
  /** A live session answers once the live stack has (a restart, a health check): a promise. */
  execute(line: string, elapsedMs?: number): ConsoleLine | Promise<ConsoleLine>;
  endOfInput(): void;
  readonly isFollowing?: boolean;
  /** The live stack's follow waits for its service's lines: a promise. */
  followStep?(opts?: { untilCtrlC?: boolean }): FollowStep | Promise<FollowStep>;
  stopFollowing?(): void;
  beginExternal?(elapsedMs?: number): void;
  recordExternal?(line: string, output: string, exit: number): LineResult;
}

/** What one typed line printed, and whether the session is over or following a log. */
export interface ConsoleLine {
  output: string;
  ended: boolean;
  following?: boolean;
  exit?: number;
}

/** Where a session prints (the CLI's stdout, or a test's capture). */
export interface ConsoleOut {
  write(s: string): unknown;
}

/** Lines a script may hold (one command a line). */
export const MAX_SCRIPT_LINES = 1_000;
/** Wall time between two steps of `docker logs -f` in a terminal without a time factor. */
export const FOLLOW_WALL_MS = 1_000;

/**
 * Replays a typed session: each line of the script as if typed at the prompt, echoed after the prompt with what
 * the shell answered, until `exit` or the end of the script. Blank lines and `#` comments are skipped unechoed.
 * `docker logs -f` follows until its own limit (a script has no Ctrl-C), then the next line runs.
 */
export async function runScript(session: ConsoleSession, script: string, out: ConsoleOut, nomad?: RealNomadCli): Promise<void> {
  out.write(`${session.banner()}\n\n`);
  for (const line of script.split('\n').slice(0, MAX_SCRIPT_LINES)) {
    const typed = line.replace(/\r$/, '');
    if (typed.trim() === '' || typed.trim().startsWith('#')) continue;
    out.write(`${session.prompt}${typed}\n`);
    const r = await executeLine(session, typed, undefined, nomad);
    if (r.output !== '') out.write(`${r.output}\n`);
    if (r.following) {
      for (;;) {
        const step = await session.followStep!();
        if (step.output !== '') out.write(`${step.output}\n`);
        if (step.done) {
          if (step.stoppedBy === 'limit') out.write('^C\n');
          break;
        }
      }
    }
    if (r.ended) return;
  }
  session.endOfInput();
}

/**
 * One typed line: a read-only `nomad` command goes to the real binary when the console has one (at the shell's
 * prompt, not inside a REPL), everything else to the session.
 */
export async function executeLine(session: ConsoleSession, line: string, elapsedMs: number | undefined, nomad: RealNomadCli | undefined): Promise<ConsoleLine> {
  const external = session.beginExternal !== undefined && session.recordExternal !== undefined;
  const args = external && nomad !== undefined && session.prompt.startsWith('ubuntu@') ? nomad.argsOf(line) : undefined;
  if (args === undefined) return session.execute(line, elapsedMs);
  session.beginExternal!(elapsedMs);
  const r = await nomad!.run(args);
  return session.recordExternal!(line, r.output, r.exit);
}

/** How the interactive console paces the installation: per command (`commandMs`), or wall time × `timeFactor`. */
export interface InteractiveOptions {
  /** Installation ms per wall ms: with it, the installation moves on while the trainee reads, typing or not. */
  timeFactor?: number;
  /** The wall clock (tests pass their own). */
  nowMs?: () => number;
  /** The real nomad binary for read-only `nomad` commands (RealNomadCli.start), if one is on PATH. */
  nomad?: RealNomadCli;
}

/**
 * The interactive shell: node:readline on a terminal (history, line editing), the prompt following the session's
 * (the shell's, or the dev-console's). Resolves when the trainee types `exit` or closes the input (Ctrl-D).
 * `docker logs -f` prints as the installation moves on, until Ctrl-C or its limit.
 */
export function runInteractive(session: ConsoleSession, input: NodeJS.ReadableStream, output: NodeJS.WritableStream & { isTTY?: boolean }, opts: InteractiveOptions = {}): Promise<void> {
  output.write(`${session.banner()}\n\n`);
  const clock = opts.nowMs ?? Date.now;
  let lastMs = clock();
  const rl = createInterface({ input, output, prompt: session.prompt, terminal: output.isTTY === true, historySize: 200 });
  return new Promise((done) => {
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const stepWallMs = opts.timeFactor === undefined ? FOLLOW_WALL_MS : Math.max(50, Math.round(FOLLOW_STEP_MS / opts.timeFactor));
    const prompt = () => {
      rl.setPrompt(session.prompt);
      rl.prompt();
    };
    const endFollow = (mark: boolean) => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (mark) output.write('^C\n');
      lastMs = clock();
      prompt();
    };
    const follow = () => {
      timer = setTimeout(async () => {
        if (!session.isFollowing) return;
        const step = await session.followStep!({ untilCtrlC: true });
        // Ctrl-C while the step was waiting: the prompt is back already.
        if (timer === undefined) return;
        if (step.output !== '') output.write(`${step.output}\n`);
        if (step.done) endFollow(step.stoppedBy === 'limit');
        else follow();
      }, stepWallMs);
    };
    let busy = false;
    rl.on('line', async (line) => {
      if (closed || session.isFollowing || busy) return;
      const now = clock();
      const elapsed = opts.timeFactor === undefined ? undefined : (now - lastMs) * opts.timeFactor;
      lastMs = now;
      busy = true;
      const r = await executeLine(session, line, elapsed, opts.nomad);
      busy = false;
      if (r.output !== '') output.write(`${r.output}\n`);
      if (r.ended) {
        closed = true;
        rl.close();
        return;
      }
      if (r.following) {
        follow();
        return;
      }
      prompt();
    });
    // Ctrl-C stops `docker logs -f`, or abandons the line, as bash does; `exit` or Ctrl-D ends the drill.
    rl.on('SIGINT', () => {
      if (session.isFollowing) {
        session.stopFollowing!();
        endFollow(true);
        return;
      }
      // Move to the end of the line and delete it, so the half-typed text is gone as in bash.
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      output.write('^C\n');
      prompt();
    });
    rl.on('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      if (!session.isOver) {
        output.write('logout\n');
        session.endOfInput();
      }
      done();
    });
    rl.prompt();
  });
}
