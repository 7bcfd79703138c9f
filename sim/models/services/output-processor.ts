import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { WorkflowsConductor } from './workflows-conductor.ts';
import type { AuditLog } from './audit-log.ts';
import type { Broker } from './broker.ts';
import type { TestResults } from './test-results.ts';
import { NEEDS } from './dependencies.ts';
import { IdTable } from '../../util/id-table.ts';
import { finishedFate } from '../../domain/fates.ts';

/** Counts of what landed in each store, by the seeds' object-storage prefixes and collections. */
export interface StoredData {
  /** Step output documents in mongo (one per finished build). */
  stepOutput: number;
  /** Build records in mongo. */
  buildRecords: number;
  /** Objects under `artifacts` (S3 or fileserved). */
  artifacts: number;
  /** Builds' test results under `test-results`. */
  testResults: number;
}

/**
 * output-processor (picard-output-processor, port 8585): receives step output and status from build agents,
 * holds running output in redis, writes it to mongo at the end, and stores artifacts and test results
 * (S3, or fileserved). It is where a build's fate becomes visible.
 *
 * Failure modes, from the mechanics:
 * - killed: the output it buffered for running builds is lost, and those builds' agents lose their
 *   connection: they fail when they end if it is back, or stay Running forever if it is not;
 * - down when a build ends: the final status is never recorded (Running forever) and its step output,
 *   test results and artifacts are lost;
 * - redis down: the live output of running steps is lost (shown while running, never stored);
 * - mongo down at the end: status and step output cannot be written: the same as output-processor down;
 * - rabbitmq down: status updates cannot be published: running builds fail;
 * - fileserved down (storage: fileserved): artifacts, test results and step-output logs are lost.
 */
export class OutputProcessor {
  readonly stored: StoredData = { stepOutput: 0, buildRecords: 0, artifacts: 0, testResults: 0 };
  /**
   * Builds whose output currently streams (live output in redis), by build number. What happens to each when a
   * store goes down does not depend on the others, so the order they are visited in does not matter.
   */
  readonly streaming = new IdTable<Build>();
  private readonly fileserved: boolean;

  constructor(
    private readonly world: World,
    private readonly conductor: WorkflowsConductor,
    private readonly audit: AuditLog,
    private readonly broker: Broker,
    private readonly testResults: TestResults,
  ) {
    this.fileserved = world.scenario.topology.storage === 'fileserved';
    const { services } = world;
    services.onChange('redis', (_n, state) => {
      if (state !== 'running') this.loseLiveOutput('redis down');
    });
    services.onChange('output-processor', (_n, state, _p, cause) => {
      if (state === 'running') return;
      // Its in-memory buffers go with it; build agents streaming to it see their connection drop.
      for (const b of this.streaming.values()) {
        if (state !== 'paused' && cause !== 'stop') this.loseOutput(b);
        b.infraFailure ??= 'lost connection to output-processor';
      }
      this.loseLiveOutput('output-processor down');
    });
    services.onChange('rabbitmq', (_n, state) => {
      if (state === 'running') return;
      // Status updates go through RabbitMQ: "All running builds will fail".
      for (const b of this.streaming.values()) b.infraFailure ??= 'rabbitmq down: status updates failed';
    });
    services.onChange('mongo', (_n, state) => {
      if (state === 'running') return;
      for (const b of this.streaming.values()) b.infraFailure ??= 'mongo down: build status could not be written';
    });
  }

  /** A build's first task started: its output begins to stream into redis. */
  started(build: Build): void {
    this.streaming.set(build.id, build);
    if (!this.world.services.isUp('redis') || !this.world.services.isUp('output-processor')) this.markLiveLost(build);
  }

  /** All tasks of a build ended; output-processor finalises it (its work is part of the last task's end). */
  finish(build: Build): void {
    build.stage = 'finishing';
    this.finalise(build);
  }

  /** A build agent cannot reach output-processor (a partition): the live output of its running steps is lost. */
  liveOutputInterrupted(build: Build): void {
    this.markLiveLost(build);
  }

  /** A build ended without finishing normally (its allocation was lost): it stops streaming. */
  abandon(build: Build): void {
    this.streaming.delete(build.id);
  }

  private readonly finalise = (build: Build): void => {
    const { ledger, sim, services } = this.world;
    if (build.fate !== undefined) return;
    this.streaming.delete(build.id);
    const downService = services.firstDown(NEEDS.finalise);
    const down = downService !== undefined ? `${downService} down` : this.broker.publishRefused();
    if (down === undefined && this.broker.diskAlarm) {
      // The status update waits for RabbitMQ's disk alarm to clear.
      this.broker.whenPublishable(() => this.finalise(build));
      return;
    }
    if (down !== undefined) {
      // Nobody can record the end: the build shows Running forever and what it produced is gone.
      this.world.ledger.lose('step_output');
      this.loseProducts(build);
      build.stage = 'done';
      ledger.settle(build, 'stuck', `${down} when it finished: status never recorded, left Running`, sim.nowMs);
      this.conductor.buildAbandoned(build, 'its last build never reported');
      return;
    }
    build.stage = 'done';
    // With `storage: fileserved`, step-output logs, artifacts and test results live in fileserved.
    const storageDown = this.fileserved && !services.isUp('fileserved');
    if (build.outputLost || storageDown) ledger.lose('step_output');
    else this.stored.stepOutput++;
    this.stored.buildRecords++;
    if (storageDown) this.loseProducts(build);
    else {
      this.stored.artifacts += build.template.artifacts;
      if (build.template.testResults) {
        this.stored.testResults++;
        this.testResults.received(build);
      }
    }
    const { fate, reason } = finishedFate(build);
    ledger.settle(build, fate, reason, sim.nowMs);
    this.audit.record('workflow.job.finish');
    this.conductor.buildFinished(build, fate === 'succeeded');
  };

  /** Drops everything in the stores (a wiped mongo): past builds' records and step output are gone. */
  wipeMongo(): void {
    this.world.ledger.lose('step_output', this.stored.stepOutput);
    this.world.ledger.lose('build_records', this.stored.buildRecords);
    this.stored.stepOutput = 0;
    this.stored.buildRecords = 0;
  }

  private loseOutput(build: Build): void {
    if (build.outputLost) return;
    build.outputLost = true;
  }

  /** Artifacts and test results that never reached storage. */
  private loseProducts(build: Build): void {
    if (build.template.artifacts > 0) this.world.ledger.lose('artifacts', build.template.artifacts);
    if (build.template.testResults) this.world.ledger.lose('test_results');
  }

  private loseLiveOutput(_why: string): void {
    for (const b of this.streaming.values()) this.markLiveLost(b);
  }

  private markLiveLost(build: Build): void {
    if (build.liveOutputLost) return;
    build.liveOutputLost = true;
    this.world.ledger.lose('live_step_output');
  }
}
