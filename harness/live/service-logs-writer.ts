import { DEPENDENCY_RETRY_LOG_MS, LOG_LINES } from '../../sim/symptoms/log-lines.ts';

/**
 * Where a service's lines go: the stage worker posts them to the stack's `ServiceLogs` (with the instant written).
 * `container` names another log the stage writes (output-processor's stage writes notifier's); absent, its own.
 */
export type LogSink = (text: string, atEpochMs: number, container?: string) => void;

/**
 * A live service's own log: it writes lines of `LOG_LINES` as it works. A dependency it cannot reach is said once
 * at first, then at most once per `dependencyLogMs` while it stays unreachable (a consumer retries every 250 ms;
 * a line per retry would push everything else out of the ring), and at once again after it was reached.
 */
export class ServiceLog {
  private readonly unreachableSince = new Map<string, number>();

  constructor(
    readonly container: string,
    private readonly sink: LogSink,
    /** Wall ms between two `cannot reach` lines for one dependency: a minute of scenario time at the stack's time scale. */
    private readonly dependencyLogMs: number = DEPENDENCY_RETRY_LOG_MS,
    private readonly now: () => number = Date.now,
  ) {}

  write(text: string): void {
    this.sink(text, this.now());
  }

  /** An attempt to reach `dependency` failed. */
  cannotReach(dependency: string): void {
    const t = this.now();
    const last = this.unreachableSince.get(dependency);
    if (last !== undefined && t - last < this.dependencyLogMs) return;
    this.unreachableSince.set(dependency, t);
    this.sink(LOG_LINES.cannotReach(this.container, dependency), t);
  }

  /** `dependency` answered: its next failure is said at once. */
  reached(dependency: string): void {
    this.unreachableSince.delete(dependency);
  }
}

/** A log nobody reads (the pipeline's classes outside a stage worker: the in-process tests). */
export const SILENT_LOG = new ServiceLog('', () => undefined);
