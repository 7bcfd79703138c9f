import type { Scheduler } from '../engine/simulation.ts';
import type { Rng } from '../engine/rng.ts';
import type { Ledger } from '../ledger.ts';
import type { Telegraf } from '../metrics/telegraf.ts';
import type { SettledScenario } from '../scenario/settled.ts';
import type { Services } from './services/registry.ts';
import type { Profile } from '../../fixtures/schema.ts';

/** What every stage of the model shares: the clock, its random streams, the containers, the ledger and metrics. */
export interface World {
  readonly sim: Scheduler;
  readonly rng: Rng;
  readonly scenario: SettledScenario;
  readonly profile: Profile;
  readonly services: Services;
  readonly ledger: Ledger;
  readonly telegraf: Telegraf;
  /** When set, receives one line per pipeline event (the event log of determinism checks and debugging). */
  readonly trace?: ((line: string) => void) | undefined;
}
