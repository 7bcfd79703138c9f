import type { AffectedBuild, BuildCounts, DataLoss } from './report/types.ts';
import { unfinishedFate, type FateDecision, type UnfinishedBuild } from './domain/fates.ts';

/** How a triggered build ended. Every acknowledged build gets exactly one. */
export type Fate = 'succeeded' | 'failed' | 'lost' | 'stuck';

/** What the ledger needs of a build: its number, a name for reports, and where its fate is kept. */
export interface LedgerEntry {
  readonly id: number;
  readonly name: string;
  fate: Fate | undefined;
}

type FateCounts = Pick<BuildCounts, 'triggered' | 'succeeded' | 'failed' | 'lost' | 'stuck'>;

/** Every triggered build has exactly one fate: succeeded + failed + lost + stuck = triggered. */
export function isConserved(c: FateCounts): boolean {
  return c.succeeded + c.failed + c.lost + c.stuck === c.triggered;
}

/** The conservation equation as the report shows it. */
export function ledgerEquation(c: FateCounts): string {
  const sum = c.succeeded + c.failed + c.lost + c.stuck;
  return `${c.succeeded} + ${c.failed} + ${c.lost} + ${c.stuck} = ${sum} ${sum === c.triggered ? '=' : '≠'} ${c.triggered} triggered`;
}

/** How many affected builds the report lists by name (the counts are always complete). */
export const AFFECTED_LIST_LIMIT = 50;

/**
 * The build ledger: every webhook and every build is accounted for, Jepsen-style. A build the system
 * acknowledged must end visibly (succeeded, failed with a reason) or be counted as lost or stuck.
 */
export class Ledger {
  /** Receives each fate as a line (the run's event log), when set. */
  trace: ((line: string) => void) | undefined;
  /** Receives each outcome (a fate, a webhook not triggered, a retry) with its reason, when set: the symptoms observer. */
  onOutcome: ((kind: Fate | 'not_triggered' | 'retried', reason: string, atMs: number) => void) | undefined;
  /** Receives each loss of data, when set: the symptoms observer. */
  onLoss: ((kind: keyof DataLoss, amount: number) => void) | undefined;
  readonly counts: BuildCounts = { triggered: 0, succeeded: 0, failed: 0, lost: 0, stuck: 0, not_triggered: 0, retried: 0 };
  readonly dataLoss: DataLoss = { step_output: 0, artifacts: 0, test_results: 0, audit_events: 0, live_step_output: 0, build_records: 0, workflow_records: 0 };
  readonly affected: AffectedBuild[] = [];
  /** Every affected build or webhook, listed in `affected` or not. */
  affectedTotal = 0;
  /** Failure reasons and how often each occurred (all of them, not just the listed builds). */
  readonly reasons = new Map<string, number>();

  /** A build was created and acknowledged (a build number was given out). */
  trigger(): void {
    this.counts.triggered++;
  }

  /** Records a build's fate; a second fate for the same build is a programmer error. */
  settle(build: LedgerEntry, fate: Fate, reason: string, atMs: number): void {
    if (build.fate !== undefined) throw new Error(`build ${build.name} already ended as ${build.fate}; cannot also be ${fate}`);
    build.fate = fate;
    this.counts[fate]++;
    this.trace?.(`${atMs} build ${build.name} ${fate}${reason ? `: ${reason}` : ''}`);
    this.onOutcome?.(fate, reason, atMs);
    if (fate !== 'succeeded') this.note(build.name, fate, reason, atMs);
  }

  /**
   * A build still without a fate at the end of the run gets the one `unfinishedFate` decides from where it was
   * (the live accounting decides its builds with the same function).
   */
  settleUnfinished(build: LedgerEntry, at: UnfinishedBuild, atMs: number): FateDecision {
    const decision = unfinishedFate(at);
    this.settle(build, decision.fate, decision.reason, atMs);
    return decision;
  }

  /** A webhook that never became a build. */
  notTriggered(webhook: string, reason: string, atMs: number): void {
    this.counts.not_triggered++;
    this.trace?.(`${atMs} ${webhook} not triggered: ${reason}`);
    this.onOutcome?.('not_triggered', reason, atMs);
    this.note(webhook, 'not_triggered', reason, atMs);
  }

  /** A build re-run after an infrastructure failure (counted besides its fate). */
  retried(buildName: string, reason: string, atMs: number): void {
    this.counts.retried++;
    this.onOutcome?.('retried', reason, atMs);
    this.note(buildName, 'retried', reason, atMs);
  }

  lose(kind: keyof DataLoss, amount = 1): void {
    this.dataLoss[kind] += amount;
    if (amount > 0) this.onLoss?.(kind, amount);
  }

  /** succeeded + failed + lost + stuck = triggered. */
  conserved(): boolean {
    return isConserved(this.counts);
  }

  equation(): string {
    return ledgerEquation(this.counts);
  }

  private note(build: string, fate: AffectedBuild['fate'], reason: string, atMs: number): void {
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    this.affectedTotal++;
    if (this.affected.length < AFFECTED_LIST_LIMIT) this.affected.push({ build, fate, reason, at_ms: atMs });
  }
}
