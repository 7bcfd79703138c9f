import type { LiveStack } from '../../live/stack.ts';
import type { StartedPostgres } from '../../providers/index.ts';
import type { DrOutcome } from '../../../sim/models/dr/dr-rehearsal.ts';
import type { ServicesMachine } from '../services-machine.ts';

/**
 * The ports of the live tests of these kinds: documented ports + 18000, clear of `twin dr --mode live`'s 16000 and
 * the other DR tests' 17000 and 19000 (TWIN_DR_KINDS_PORT_OFFSET moves them).
 */
export const DR_KINDS_PORT_OFFSET = Number(process.env.TWIN_DR_KINDS_PORT_OFFSET ?? 18_000);

/** A push of a live rehearsal as a disaster kind sees it. */
export interface LiveKindPush {
  sha: string;
  wallMs: number;
  delivered: boolean;
  /** A job of its workflow names a context. */
  usesContexts: boolean;
  /** The project (repository) it was pushed to. */
  repo: string;
}

/** What a disaster kind acts on: the running installation and the rehearsal's timeline. */
export interface LiveKindContext {
  stack: LiveStack;
  machine: ServicesMachine;
  postgres: StartedPostgres;
  note: (event: string) => void;
}

/**
 * A disaster other than TerminateInstances, done for real on the live Services machine (`harness/dr/live-kinds/`).
 * The runbook, the pushes and the measures stay `live-rehearsal.ts`'s; a kind strikes, says which builds show the
 * installation is back, and adds what only it measures.
 */
export interface LiveDisasterKind {
  /**
   * Does the disaster; resolves once it took effect. `keepsInstance`: the old instance runs on and holds its private
   * IP (RunInstances at that address is refused: the restore goes to a new one).
   */
  strike(ctx: LiveKindContext): Promise<void>;
  readonly keepsInstance: boolean;
  /** Why the old instance still holds its address, in the simulation's words (`dr-rehearsal.ts` `former.why`). */
  readonly holderWhy: string;
  /** Whether a build of this push succeeding shows the installation is back (the RTO's end); default: any. */
  showsRecovery?(p: Pick<LiveKindPush, 'usesContexts' | 'repo'>): boolean;
  /** What the kind sets up on the booted stack before the workload (so every backup holds it). */
  prepare?(ctx: LiveKindContext): Promise<void>;
  /** The repository a planned push goes to; default the followed project (`FOLLOWED_REPO`). */
  repoOf?(w: { key: number }): string;
  /** The kind's own entries of the report's `live` section. */
  measures?(): Record<string, unknown>;
  /** The kind's own measures over the run's end state, laid over the outcome. */
  outcome?(ctx: LiveKindContext, pushes: readonly LiveKindPush[], o: DrOutcome): Promise<LiveKindOutcome>;
}

/** Fields of the outcome a kind measures itself (`measured`'s are merged into the run's). */
export type LiveKindOutcome = Partial<Omit<DrOutcome, 'measured'>> & { measured?: Partial<NonNullable<DrOutcome['measured']>> };
