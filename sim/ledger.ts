import type { AffectedBuild, BuildCounts, DataLoss } from './report/types.ts';

/** How a triggered build ended. Every acknowledged build gets exactly one. */
export type Fate = 'succeeded' | 'failed' | 'lost' | 'stuck';

/** How many affected builds the report lists by name (the counts are always complete). */
export const AFFECTED_LIST_LIMIT = 50;

/**
 * The build ledger: every webhook and every build is accounted for, Jepsen-style. A build the system
 * acknowledged must end visibly (succeeded, failed with a reason) or be counted as lost or stuck.
 */
export class Ledger {
  readonly counts: BuildCounts = { triggered: 0, succeeded: 0, failed: 0, lost: 0, stuck: 0, not_triggered: 0, retried: 0 };
  readonly dataLoss: DataLoss = { step_output: 0, artifacts: 0, test_results: 0, audit_events: 0 };
  readonly affected: AffectedBuild[] = [];
  /** Failure reasons and how often each occurred (all of them, not just the listed builds). */
  readonly reasons = new Map<string, number>();
  private readonly fates = new Map<number, Fate>();

  /** A build was created and acknowledged (a build number was given out). */
  trigger(): void {
    this.counts.triggered++;
  }

  /** Records a build's fate; a second fate for the same build is a programmer error. */
  settle(buildId: number, buildName: string, fate: Fate, reason: string, atMs: number): void {
    if (this.fates.has(buildId)) throw new Error(`build ${buildName} already ended as ${this.fates.get(buildId)}; cannot also be ${fate}`);
    this.fates.set(buildId, fate);
    this.counts[fate]++;
    if (fate !== 'succeeded') this.note(buildName, fate, reason, atMs);
  }

  /** Whether this build already has a fate. */
  isSettled(buildId: number): boolean {
    return this.fates.has(buildId);
  }

  /** Forgets settled build ids below `belowId` to bound memory on long runs (their counts stay). */
  compact(belowId: number): void {
    for (const id of this.fates.keys()) {
      if (id >= belowId) break;
      this.fates.delete(id);
    }
  }

  /** A webhook that never became a build. */
  notTriggered(webhook: string, reason: string, atMs: number): void {
    this.counts.not_triggered++;
    this.note(webhook, 'not_triggered', reason, atMs);
  }

  /** A build re-run after an infrastructure failure (counted besides its fate). */
  retried(buildName: string, reason: string, atMs: number): void {
    this.counts.retried++;
    this.note(buildName, 'retried', reason, atMs);
  }

  lose(kind: keyof DataLoss, amount = 1): void {
    this.dataLoss[kind] += amount;
  }

  /** succeeded + failed + lost + stuck = triggered. */
  conserved(): boolean {
    const c = this.counts;
    return c.succeeded + c.failed + c.lost + c.stuck === c.triggered;
  }

  equation(): string {
    const c = this.counts;
    const sum = c.succeeded + c.failed + c.lost + c.stuck;
    return `${c.succeeded} + ${c.failed} + ${c.lost} + ${c.stuck} = ${sum} ${sum === c.triggered ? '=' : '≠'} ${c.triggered} triggered`;
  }

  private note(build: string, fate: AffectedBuild['fate'], reason: string, atMs: number): void {
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    if (this.affected.length < AFFECTED_LIST_LIMIT) this.affected.push({ build, fate, reason, at_ms: atMs });
  }
}
