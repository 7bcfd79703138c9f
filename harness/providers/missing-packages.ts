import type { BackendAvailability } from './choose-backend.ts';
import { findPostgresBinaries, localPostgresAvailability } from './postgres/local-postgres.ts';
import { findRabbitMQServer, localRabbitMQAvailability } from './rabbitmq/local-rabbitmq.ts';
import { findRedisServer, localRedisAvailability } from './redis/local-redis.ts';

/** A program the tests of a local backend need, whether it is here, and the Debian package that installs it. */
export interface NeededProgram {
  readonly availability: BackendAvailability;
  readonly debianPackage: string;
}

/** The local backends' programs, found where their providers look, with their Debian packages. */
export const LOCAL_PROGRAMS = {
  postgres: (): NeededProgram => ({ availability: localPostgresAvailability(findPostgresBinaries({})), debianPackage: 'postgresql' }),
  redis: (): NeededProgram => ({ availability: localRedisAvailability(findRedisServer(undefined)), debianPackage: 'redis-server' }),
  rabbitmq: (): NeededProgram => ({ availability: localRabbitMQAvailability(findRabbitMQServer(undefined)), debianPackage: 'rabbitmq-server' }),
};

/**
 * Why the tests of `what` cannot run on this machine, in one line naming the Debian packages to install, or
 * undefined when every program is here. The line is also printed, so a skip is never silent. `.ci/run`
 * installs the packages, so CI runs these tests on the real binaries.
 */
export function missingPackagesReason(what: string, needed: readonly NeededProgram[]): string | undefined {
  const missing = needed.filter((n) => !n.availability.available);
  if (missing.length === 0) return undefined;
  const pkgs = [...new Set(missing.map((m) => m.debianPackage))].join(' ');
  const reason = `skipping the ${what} tests: ${missing.map((m) => m.availability.detail).join('; ')}; install the Debian package${pkgs.includes(' ') ? 's' : ''} (apt-get install ${pkgs}), as .ci/run does`;
  console.log(reason);
  return reason;
}
