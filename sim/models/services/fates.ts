import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { WorkflowsConductor } from './workflows-conductor.ts';

/**
 * Ends builds that do not reach output-processor's normal finish: a visible failure before they ran
 * (contexts, config fetch), or a loss (the message or allocation carrying them was destroyed).
 */
export class Fates {
  constructor(
    private readonly world: World,
    private readonly conductor: WorkflowsConductor,
  ) {}

  /** A visible failure with its reason (the UI shows the build failed). */
  fail(build: Build, reason: string): void {
    if (build.fate !== undefined) return;
    build.infraFailure ??= reason;
    build.stage = 'done';
    this.world.ledger.settle(build, 'failed', reason, this.world.sim.nowMs);
    this.conductor.buildFinished(build, false);
  }

  /**
   * An infrastructure failure CircleCI retries: the build fails visibly and a new build of the same
   * workflow job is queued (counted in `retried`); the workflow goes on with the retry.
   */
  failAndRetry(build: Build, reason: string, requeue: (retry: Build) => void): void {
    if (build.fate !== undefined) return;
    build.infraFailure ??= reason;
    build.stage = 'done';
    const { ledger, sim } = this.world;
    ledger.settle(build, 'failed', reason, sim.nowMs);
    ledger.retried(build.name, reason, sim.nowMs);
    this.conductor.inflight.delete(build.id);
    requeue(this.conductor.retry(build));
  }

  /** The build's work was destroyed: nothing will ever finish it (the UI shows it queued or running forever). */
  lose(build: Build, reason: string): void {
    if (build.fate !== undefined) return;
    build.stage = 'done';
    this.world.ledger.settle(build, 'lost', reason, this.world.sim.nowMs);
    this.conductor.buildAbandoned(build, reason);
  }
}
