/**
 * Live mutants: deliberate defects of the live side, to show that `twin agree` says "no" when the live pipeline
 * does not behave as the simulation does. Read from `TWIN_LIVE_MUTANT` here and nowhere else, and never silent:
 * `runLive` logs the mutant, writes it first in the fault log and in the report's `live.mutant`.
 *
 * - `no-restart`: a fault's undo (start, unpause, heal, drain_off) is reported as done but does nothing: a
 *   restart that never happens.
 * - `drop-messages:<share>`: picard-dispatcher acks and discards that share of the run-queue messages it
 *   receives (every 1/share-th, deterministically), as a consumer with a bug would: the builds are lost.
 * - `delay:<duration>`: picard-dispatcher holds every message that long in scenario time (`120s`, `2m`) before
 *   handling it, as a slow stage would.
 */
export type LiveMutant = { kind: 'no-restart' } | { kind: 'drop-messages'; share: number } | { kind: 'delay'; scenarioMs: number };

/** A `TWIN_LIVE_MUTANT` that names no mutant: an operating error (exit 2 at the CLI). */
export class LiveMutantError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'LiveMutantError';
  }
}

const HINT = 'TWIN_LIVE_MUTANT takes no-restart, drop-messages:<share between 0 and 1> (drop-messages:0.2) or delay:<duration> (delay:120s, delay:2m)';

/** Parses a mutant's spelling; undefined for an empty or absent value. */
export function parseLiveMutant(text: string | undefined): LiveMutant | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  if (t === 'no-restart') return { kind: 'no-restart' };
  const drop = /^drop-messages:([0-9.]+)$/.exec(t);
  if (drop) {
    const share = Number(drop[1]);
    if (!(share > 0 && share <= 1)) throw new LiveMutantError(`TWIN_LIVE_MUTANT=${t}: the share must be above 0 and at most 1`, HINT);
    return { kind: 'drop-messages', share };
  }
  const delay = /^delay:(\d+(?:\.\d+)?)(ms|s|m)$/.exec(t);
  if (delay) return { kind: 'delay', scenarioMs: Math.round(Number(delay[1]) * { ms: 1, s: 1_000, m: 60_000 }[delay[2] as 'ms' | 's' | 'm']) };
  throw new LiveMutantError(`TWIN_LIVE_MUTANT=${t}: not a live mutant`, HINT);
}

/** The mutant named by the environment, if any: the one place `TWIN_LIVE_MUTANT` is read. */
export function liveMutantFromEnv(env: Record<string, string | undefined> = process.env): LiveMutant | undefined {
  return parseLiveMutant(env['TWIN_LIVE_MUTANT']);
}

export function describeMutant(m: LiveMutant): string {
  if (m.kind === 'no-restart') return 'no-restart (fault undos are logged but not carried out)';
  if (m.kind === 'drop-messages') return `drop-messages:${m.share} (picard-dispatcher discards ${Math.round(m.share * 100)}% of run-queue messages)`;
  return `delay:${m.scenarioMs / 1000}s (picard-dispatcher holds every message ${m.scenarioMs / 1000} s of scenario time)`;
}

/**
 * What picard-dispatcher does with a run-queue message before handling it under a mutant: `'drop'` (ack and
 * discard) or nothing, after the mutant's delay. Without a mutant, or with `no-restart`, undefined (no hook). Built in
 * picard-dispatcher's worker (`../stage-worker.ts`) from the mutant its config carries: a function does not cross.
 */
export function dispatcherHook(m: LiveMutant | undefined, timeScale: number): (() => Promise<'drop' | undefined>) | undefined {
  if (m === undefined || m.kind === 'no-restart') return undefined;
  if (m.kind === 'delay') {
    const wallMs = m.scenarioMs / timeScale;
    return () => new Promise((r) => setTimeout(() => r(undefined), wallMs));
  }
  let seen = 0;
  let dropped = 0;
  // Deterministic share: the n-th message is dropped when that brings the dropped count up to share × n.
  return () => {
    seen++;
    if (dropped + 1 <= m.share * seen) {
      dropped++;
      return Promise.resolve('drop');
    }
    return Promise.resolve(undefined);
  };
}
