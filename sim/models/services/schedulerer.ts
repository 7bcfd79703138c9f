import type { World } from '../world.ts';
import type { Build } from '../build.ts';
import { MessageQueue } from './message-queue.ts';
import { TIMINGS } from '../timings.ts';

/** The Nomad side that accepts a build's job (the fleet model). */
export interface NomadSubmitter {
  submit(build: Build): void;
}

/**
 * schedulerer (picard-scheduler): sends the tasks of a build to the Nomad server as one batch job. It holds
 * work while it (or the Nomad server) is down and sends it once both are back.
 */
export class Schedulerer {
  readonly backlog = new MessageQueue<Build>('schedulerer', true);
  private nomad: NomadSubmitter | undefined;
  private sending = false;

  constructor(private readonly world: World) {
    const resume = (_n: string, state: string) => {
      if (state === 'running') this.pump();
    };
    world.services.onChange('schedulerer', resume);
    world.services.onChange('nomad_server', resume);
  }

  connect(nomad: NomadSubmitter): void {
    this.nomad = nomad;
  }

  submit(build: Build): void {
    this.backlog.push(build);
    this.pump();
  }

  private pump(): void {
    if (this.sending || this.backlog.length === 0) return;
    this.sending = true;
    this.world.sim.schedule(TIMINGS.schedulererSubmitMs, this.send);
  }

  private readonly send = (): void => {
    this.sending = false;
    const { services } = this.world;
    if (!services.isUp('schedulerer') || !services.isUp('nomad_server')) return;
    for (let b = this.backlog.shift(); b !== undefined; b = this.backlog.shift()) this.nomad!.submit(b);
  };
}
