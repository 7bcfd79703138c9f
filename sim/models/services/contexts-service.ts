import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { AuditLog } from './audit-log.ts';
import { TIMINGS } from '../timings.ts';

/** Fails a build for an infrastructure reason (output-processor records the visible failure). */
export interface BuildFailer {
  failBuild(build: Build, reason: string): void;
}

/**
 * contexts-service with vault-cci: decrypts the context a job uses. If either is down, "all builds using
 * Contexts will fail".
 */
export class ContextsService {
  private failer: BuildFailer | undefined;

  constructor(
    private readonly world: World,
    private readonly audit: AuditLog,
  ) {}

  connect(failer: BuildFailer): void {
    this.failer = failer;
  }

  fetch(build: Build, then: (b: Build) => void): void {
    const { services, sim } = this.world;
    this.audit.record('workflow.job.context.request');
    sim.schedule(TIMINGS.contextsFetchMs, (b: Build) => {
      if (!services.isUp('contexts-service')) return this.failer!.failBuild(b, 'contexts-service down: context unavailable');
      if (!services.isUp('vault-cci')) return this.failer!.failBuild(b, 'vault-cci down: context cannot be decrypted');
      then(b);
    }, build);
  }
}
