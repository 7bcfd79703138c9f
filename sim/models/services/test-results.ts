import type { World } from '../world.ts';
import type { Build } from '../build.ts';

/**
 * test-results: parses the test results output-processor stored and keeps timing data (used for test
 * splitting). While it is down the results wait in storage and are parsed once it is back: "there will be
 * no test failure or timing data for jobs, but this will be back-filled once the service is restarted".
 */
export class TestResults {
  parsed = 0;
  /** Results stored but not parsed yet (waiting for test-results). */
  backlog = 0;
  /** Most results ever waiting at once. */
  peakBacklog = 0;

  constructor(private readonly world: World) {
    world.services.onChange('test-results', (_n, state) => {
      if (state === 'running') this.backfill();
    });
  }

  received(_build: Build): void {
    if (this.world.services.isUp('test-results')) this.parsed++;
    else {
      this.backlog++;
      if (this.backlog > this.peakBacklog) this.peakBacklog = this.backlog;
    }
  }

  private backfill(): void {
    this.parsed += this.backlog;
    this.backlog = 0;
  }
}
