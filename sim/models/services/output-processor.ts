import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { WorkflowsConductor } from './workflows-conductor.ts';
import type { BuildFailer } from './contexts-service.ts';
import type { AuditLog } from './audit-log.ts';
import { TIMINGS } from '../timings.ts';

/** Counts of what landed in each store, by the seeds' object-storage prefixes and collections. */
export interface StoredData {
  /** Step output documents in mongo (one per finished build). */
  stepOutput: number;
  /** Objects under `artifacts` (S3 or fileserved). */
  artifacts: number;
  /** Objects under `test-results`. */
  testResults: number;
}

/**
 * output-processor (picard-output-processor, port 8585): receives step output and status from build agents,
 * holds running output in redis, writes it to mongo at the end, and stores artifacts and test results.
 * It is where a build's fate becomes visible.
 */
export class OutputProcessor implements BuildFailer {
  readonly stored: StoredData = { stepOutput: 0, artifacts: 0, testResults: 0 };
  /** Builds whose output currently lives in redis. */
  streaming = 0;

  constructor(
    private readonly world: World,
    private readonly conductor: WorkflowsConductor,
    private readonly audit: AuditLog,
  ) {}

  /** A build's first task started: its output begins to stream into redis. */
  started(build: Build): void {
    void build;
    this.streaming++;
  }

  /** All tasks of a build ended; output-processor finalises it. */
  finish(build: Build): void {
    build.stage = 'finishing';
    this.world.sim.schedule(TIMINGS.outputFinalizeMs, this.finalise, build);
  }

  private readonly finalise = (build: Build): void => {
    const { ledger, sim } = this.world;
    if (build.fate !== undefined) return;
    this.streaming--;
    build.stage = 'done';
    this.stored.stepOutput++;
    this.stored.artifacts += build.template.artifacts;
    if (build.template.testResults) this.stored.testResults++;
    const ok = build.infraFailure === undefined && build.tasksFailed === 0 && !build.failsOnItsOwn;
    const reason = build.infraFailure ?? (build.tasksFailed > 0 ? 'a task failed' : build.failsOnItsOwn ? 'tests failed (the build itself)' : '');
    ledger.settle(build, ok ? 'succeeded' : 'failed', reason, sim.nowMs);
    this.audit.record('workflow.job.finish');
    this.conductor.buildFinished(build, ok);
  };

  /** Fails a build for a platform reason before it ran (contexts, vm-service): visible, with the reason. */
  failBuild(build: Build, reason: string): void {
    const { ledger, sim } = this.world;
    if (build.fate !== undefined) return;
    build.infraFailure ??= reason;
    build.stage = 'done';
    ledger.settle(build, 'failed', reason, sim.nowMs);
    this.audit.record('workflow.job.finish');
    this.conductor.buildFinished(build, false);
  }
}
