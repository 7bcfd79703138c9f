import { linePrefix, type LogStamp } from '../../sim/symptoms/log-lines.ts';

/** The stamp of an epoch instant (a live service's clock; the simulation's stamps come from its virtual time). */
export function stampOfEpoch(epochMs: number): LogStamp {
  const d = new Date(epochMs);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), ms: d.getUTCMilliseconds() };
}

/**
 * The live stack's `docker logs`: what each running service writes (a pipeline stage in its worker, a health-only
 * service, the stack itself for what Docker would print), kept per container in a bounded ring, with the container's
 * time prefix (`log-lines.ts`, the same shapes the simulation generates). Followers (`docker logs -f`) get each line
 * as it is written.
 */

/** Lines kept per container: the oldest go first, as a rotated log file's do. */
export const SERVICE_LOG_RING_LINES = 2_000;
/** Lines a follower that does not read may have waiting before the oldest waiting are dropped. */
export const FOLLOW_BACKLOG_LINES = 1_000;
/** Lines kept apart for a run's symptoms (`keep`), over every container: past it the newest are not kept, and `keptDropped` counts them. */
export const MAX_KEPT_LINES = 20_000;

/** A line as written: when (epoch ms) and its text (a line of `LOG_LINES`); `docker logs` prints it with the log clock's prefix. */
export interface LogEntry {
  readonly atEpochMs: number;
  readonly text: string;
}

/** The instant a line's prefix prints for the epoch instant it was written (`ServiceLogs.useClock`). */
export type LogClock = (epochMs: number) => LogStamp;

/** A container's ring of lines: a fixed array and the index of the next write. */
class Ring<T> {
  private readonly lines: T[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}

  push(line: T): void {
    if (this.lines.length < this.capacity) this.lines.push(line);
    else this.lines[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The last `n` lines, oldest first. */
  last(n: number): T[] {
    const ordered = this.lines.length < this.capacity ? this.lines : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return n >= ordered.length ? [...ordered] : ordered.slice(ordered.length - n);
  }
}

/** Options of `logs` (`docker logs --tail N`). */
export interface LogsOptions {
  /** The last N lines only; absent, every line the ring holds. */
  readonly tail?: number;
}

export interface ServiceLogsOptions {
  /** Lines kept per container; default SERVICE_LOG_RING_LINES. */
  readonly capacity?: number;
  /**
   * Which lines are also kept apart, out of the rings' reach (a busy container's ring turns over in a long run):
   * the lines a run's symptoms are counted from.
   */
  readonly keep?: (text: string) => boolean;
}

/** Every container's log lines, written by the live services as they work. */
export class ServiceLogs {
  private readonly rings = new Map<string, Ring<LogEntry>>();
  private readonly followers = new Map<string, Set<(line: string) => void>>();
  private readonly capacity: number;
  private readonly keep: (text: string) => boolean;
  private readonly keptLines: { container: string; entry: LogEntry }[] = [];
  /** Lines `keep` wanted past MAX_KEPT_LINES. */
  keptDropped = 0;
  /** The clock the prefixes print: the wall clock until `useClock`. */
  private clock: LogClock = stampOfEpoch;

  constructor(opts: ServiceLogsOptions = {}) {
    this.capacity = opts.capacity ?? SERVICE_LOG_RING_LINES;
    this.keep = opts.keep ?? (() => false);
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new Error(`ServiceLogs: capacity must be a positive integer, not ${this.capacity}`);
  }

  /** Appends `text` (a line of `LOG_LINES`) for `container`, stamped at `atEpochMs` in the container's prefix. */
  write(container: string, text: string, atEpochMs: number): void {
    let ring = this.rings.get(container);
    if (ring === undefined) this.rings.set(container, (ring = new Ring(this.capacity)));
    const entry = { atEpochMs, text };
    ring.push(entry);
    if (this.keep(text)) {
      if (this.keptLines.length < MAX_KEPT_LINES) this.keptLines.push({ container, entry });
      else this.keptDropped++;
    }
    const followers = this.followers.get(container);
    if (followers === undefined || followers.size === 0) return;
    const line = this.render(container, entry);
    for (const f of followers) f(line);
  }

  /**
   * The installation's clock for the prefixes (a drill's installation runs at a time scale from its own start,
   * not at the wall clock): every line printed from now on, those already written included, is stamped with
   * `clock(the instant it was written)`, so the log and `docker ps` tell the same time.
   */
  useClock(clock: LogClock): void {
    this.clock = clock;
  }

  /** A line as `docker logs` prints it: the container's prefix at the log clock's instant, then the text. */
  private render(container: string, e: LogEntry): string {
    return linePrefix(container, this.clock(e.atEpochMs)) + e.text;
  }

  /** The container's lines, oldest first: all the ring holds, or the last `tail`. */
  logs(container: string, opts: LogsOptions = {}): readonly string[] {
    const tail = opts.tail;
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new Error(`--tail must be a whole number of lines, not ${tail}`);
    return (this.rings.get(container)?.last(tail ?? this.capacity) ?? []).map((e) => this.render(container, e));
  }

  /** The lines `keep` kept, in the order written, with their container: what a run's symptoms are counted from. */
  kept(): readonly { container: string; entry: LogEntry }[] {
    return this.keptLines;
  }

  /** Calls `listener` with each line written for `container` from now on; returns the unsubscribe. */
  subscribe(container: string, listener: (line: string) => void): () => void {
    let set = this.followers.get(container);
    if (set === undefined) this.followers.set(container, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  /**
   * `docker logs -f`: the lines written for `container` from now on, until `signal` aborts (then the iteration
   * ends). A reader that falls FOLLOW_BACKLOG_LINES behind loses the oldest waiting lines.
   */
  async *follow(container: string, signal?: AbortSignal): AsyncGenerator<string, void, undefined> {
    const waiting: string[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.subscribe(container, (line) => {
      waiting.push(line);
      if (waiting.length > FOLLOW_BACKLOG_LINES) waiting.shift();
      wake?.();
    });
    const aborted = () => wake?.();
    signal?.addEventListener('abort', aborted);
    try {
      while (signal?.aborted !== true) {
        const line = waiting.shift();
        if (line !== undefined) {
          yield line;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', aborted);
    }
  }
}
