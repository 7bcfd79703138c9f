import { FOLLOW_MAX_INTERACTIVE_MS, FOLLOW_MAX_LINES, FOLLOW_MAX_MS, FOLLOW_STEP_MS, type FollowStep, type TranscriptEntry } from '../../sim/training/session.ts';
import { applyFilters, type Filter } from '../../sim/training/shell.ts';

/**
 * `sudo docker logs -f <container>` on the live stack: the lines the container's service writes from the moment the
 * command ran stream to the console until the trainee presses Ctrl-C (interactive), the container stops (docker's
 * own end of a follow), or, in a `--script` replay (no Ctrl-C), the simulation's bound: `FOLLOW_MAX_LINES` new
 * lines or `FOLLOW_MAX_MS` of the installation's time (at its time scale: 150 s at 60× is 2.5 s of wall time),
 * after which the console prints `^C` and the next line runs. Interactive, it is bounded by
 * `FOLLOW_MAX_INTERACTIVE_MS` of the installation's time still, as in the simulation.
 */

/** A source that streams a container's new lines (`LiveStack.follow`): iterating ends when `signal` aborts. */
export type FollowSource = (container: string, signal: AbortSignal) => AsyncIterable<string>;

/** What a follow reads of the session: the installation's time, whether the container stopped, a wall sleep. */
export interface FollowContext {
  nowMs(): number;
  stopped(): boolean;
  sleep(ms: number): Promise<void>;
  /** Installation ms per wall ms. */
  timeScale: number;
}

/** Lines waiting for the console's next step past which the oldest are dropped (a follower that does not read). */
const WAITING_LINES = 5_000;

export class LiveFollow {
  private readonly waiting: string[] = [];
  private readonly abort = new AbortController();
  private printed = 0;
  private readonly pumped: Promise<void>;

  /**
   * Subscribes at once (synchronously), so no line written after the command's "log so far" is missed: the
   * caller reads the log so far right after constructing it.
   */
  constructor(
    readonly container: string,
    source: FollowSource,
    private readonly entry: TranscriptEntry,
    private readonly filters: readonly Filter[],
    private readonly sinceMs: number,
    private readonly ctx: FollowContext,
  ) {
    const lines = source(container, this.abort.signal)[Symbol.asyncIterator]();
    // The first `next()` runs the source up to its subscription, now; the pump keeps reading until the abort.
    let first: Promise<IteratorResult<string>> | undefined = lines.next();
    this.pumped = (async () => {
      for (;;) {
        const r = await (first ?? lines.next());
        first = undefined;
        if (r.done === true) return;
        this.waiting.push(r.value);
        if (this.waiting.length > WAITING_LINES) this.waiting.shift();
      }
    })().catch(() => undefined);
  }

  /** Wall ms one step waits in a script: `FOLLOW_STEP_MS` of the installation's time at its scale (at least 50 ms). */
  get stepWallMs(): number {
    return Math.max(50, Math.round(FOLLOW_STEP_MS / this.ctx.timeScale));
  }

  /**
   * One step: the lines written since the last (through the command's filters), appended to the command's
   * transcript entry. In a script it first waits a step of wall time and stops at the simulation's bound; in a
   * terminal (`untilCtrlC`, paced by the console's timer) it prints what came and runs until `stop`.
   */
  async step(opts: { untilCtrlC?: boolean } = {}): Promise<FollowStep> {
    const untilCtrlC = opts.untilCtrlC === true;
    if (!untilCtrlC) await this.ctx.sleep(this.stepWallMs);
    // The lines the source already has reach `waiting` through a few promise turns: let them all arrive.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let fresh = this.waiting.splice(0);
    if (this.filters.length > 0 && fresh.length > 0) fresh = applyFilters(fresh.join('\n'), 0, this.filters).output.split('\n').filter((l) => l !== '');
    const shown = untilCtrlC ? fresh : fresh.slice(0, Math.max(0, FOLLOW_MAX_LINES - this.printed));
    this.printed += shown.length;
    const output = shown.join('\n');
    if (output !== '') this.entry.output += `${this.entry.output === '' ? '' : '\n'}${output}`;
    const stopped = this.ctx.stopped();
    const ranMs = this.ctx.nowMs() - this.sinceMs;
    const done = stopped || (untilCtrlC ? ranMs >= FOLLOW_MAX_INTERACTIVE_MS : this.printed >= FOLLOW_MAX_LINES || ranMs >= FOLLOW_MAX_MS);
    if (!done) return { output, done };
    this.stop(stopped ? '' : '^C');
    return { output, done, stoppedBy: stopped ? 'container-stopped' : 'limit' };
  }

  /** Ends the follow (Ctrl-C, its bound, the container stopped): the subscription is released, the transcript marked. */
  stop(mark = '^C'): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    if (mark !== '') this.entry.output += `${this.entry.output === '' ? '' : '\n'}${mark}`;
  }

  /** Resolves once the subscription is released (after `stop`). */
  released(): Promise<void> {
    return this.pumped;
  }
}
