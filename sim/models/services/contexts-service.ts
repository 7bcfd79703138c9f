import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { AuditLog } from './audit-log.ts';
import type { Fates } from './fates.ts';
import { NEEDS } from './dependencies.ts';
import { TIMINGS } from '../timings.ts';
import { REASONS } from '../../domain/fates.ts';

/**
 * contexts-service with vault-cci: decrypts the context a job uses. If either (or postgres, where contexts
 * are kept) is down, "all builds using Contexts will fail".
 */
export class ContextsService {
  constructor(
    private readonly world: World,
    private readonly audit: AuditLog,
    private readonly fates: Fates,
  ) {}

  fetch(build: Build, then: (b: Build) => void): void {
    this.audit.record('workflow.job.context.request');
    this.world.sim.schedule(TIMINGS.contextsFetchMs, (b: Build) => {
      const down = this.world.services.firstDown(NEEDS.contexts);
      if (down !== undefined) return this.fates.fail(b, REASONS.contextUnreadable(down));
      then(b);
    }, build);
  }
}
