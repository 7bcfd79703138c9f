import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import type { MessageQueue } from './message-queue.ts';
import type { Broker } from './broker.ts';
import type { Fates } from './fates.ts';
import { TIMINGS } from '../timings.ts';
import { REASONS } from '../../domain/fates.ts';

/** The Nomad side that accepts a build's job (the fleet model). */
export interface NomadSubmitter {
  submit(build: Build): void;
}

/**
 * schedulerer (picard-scheduler): takes builds from its RabbitMQ queue and sends each as one batch job to the
 * Nomad server "through a direct connection. It does not actually handle queuing of the jobs": a build it
 * takes while the Nomad server is unreachable is dropped. While schedulerer itself is down its queue just
 * grows ("the run queue will increase in size").
 */
export class Schedulerer {
  readonly queue: MessageQueue<Build>;
  private nomad: NomadSubmitter | undefined;
  private sending = false;
  /** Builds dropped because the Nomad server could not be reached. */
  dropped = 0;

  constructor(
    private readonly world: World,
    private readonly broker: Broker,
    private readonly fates: Fates,
  ) {
    this.queue = broker.declare<Build>('schedulerer', false, (b, reason) => fates.lose(b, reason));
    world.services.onAnyChange(['schedulerer', 'rabbitmq'], (_n, state) => {
      if (state === 'running') this.pump();
    });
  }

  connect(nomad: NomadSubmitter): void {
    this.nomad = nomad;
  }

  /** picard-dispatcher publishes the build's tasks; if the broker refuses, the build is lost. */
  submit(build: Build): void {
    this.broker.publish(this.queue, build, this.pump);
  }

  private readonly pump = (): void => {
    if (this.sending || this.queue.length === 0) return;
    this.sending = true;
    this.world.sim.schedule(TIMINGS.schedulererSubmitMs, this.send);
  };

  private readonly send = (): void => {
    this.sending = false;
    const { services } = this.world;
    if (!services.isUp('schedulerer') || !this.broker.deliverable) return;
    const nomadUp = services.isUp('nomad_server');
    for (let b = this.queue.shift(); b !== undefined; b = this.queue.shift()) {
      if (nomadUp) this.nomad!.submit(b);
      else {
        this.dropped++;
        this.fates.lose(b, REASONS.nomadUnreachable);
      }
    }
  };
}
