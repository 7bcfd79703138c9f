import { describe, expect, it } from 'vitest';
import { Broker } from './broker.ts';
import { ServicesDisk } from './disk.ts';
import { Services } from './registry.ts';
import { Simulation } from '../../engine/simulation.ts';
import type { World } from '../world.ts';

function world(): World {
  const sim = new Simulation();
  return { sim, services: new Services(['rabbitmq', 'tutum/logrotate', 'postgres', 'mongo', 'redis']) } as unknown as World;
}

describe('Broker (RabbitMQ)', () => {
  it('loses non-durable queues when the broker goes down, keeps durable ones, and loses nothing when paused', () => {
    const w = world();
    const broker = new Broker(w);
    const lost: string[] = [];
    const fleeting = broker.declare<string>('run-queue', false, (m) => lost.push(m));
    const durable = broker.declare<string>('audit', true, (m) => lost.push(m));
    fleeting.push('a');
    durable.push('b');
    w.services.set('rabbitmq', 'paused', 0, 'pause');
    w.services.set('rabbitmq', 'running', 0, 'unpause');
    expect(lost).toEqual([]);
    w.services.set('rabbitmq', 'stopped', 1, 'kill');
    expect(lost).toEqual(['a']);
    expect(durable.toArray()).toEqual(['b']);
    expect(broker.publishRefused()).toBe('rabbitmq down');
    broker.wipe();
    expect(lost).toEqual(['a', 'b']);
  });

  it('holds publishers while the disk alarm is on and releases them in order when it clears', () => {
    const broker = new Broker(world());
    const published: number[] = [];
    broker.setDiskAlarm(true);
    broker.whenPublishable(() => published.push(1));
    broker.whenPublishable(() => published.push(2));
    expect(published).toEqual([]);
    expect(broker.publishRefused()).toBeUndefined();
    broker.setDiskAlarm(false);
    expect(published).toEqual([1, 2]);
  });
});

describe('ServicesDisk', () => {
  const settings = { capacityMb: 100_000, freeMb: 6_000, logMbPerHour: 100, logMbPerBuild: 10, rabbitmqLimitMb: 5_000 };

  it('fills with logs only while logrotate is down, raises the RabbitMQ alarm at the limit, and clears on rotation', () => {
    const w = world();
    const broker = new Broker(w);
    const disk = new ServicesDisk(w, broker, settings);
    (w.sim as Simulation).scheduleAt(3_600_000, () => disk.tick(50));
    (w.sim as Simulation).run();
    expect(disk.freeMb).toBe(6_000); // logrotate up: rotated
    w.services.set('tutum/logrotate', 'stopped', 3_600_000, 'kill');
    (w.sim as Simulation).scheduleAt(7_200_000, () => disk.tick(150));
    (w.sim as Simulation).run();
    expect(disk.freeMb).toBe(6_000 - 100 - 100 * 10);
    expect(broker.diskAlarm).toBe(true);
    w.services.set('tutum/logrotate', 'running', 7_200_000, 'start');
    expect(broker.diskAlarm).toBe(false);
    expect(disk.minFreeMb).toBe(4_900);
  });

  it('stops the stores that write to a full disk and brings them back when space returns', () => {
    const w = world();
    const disk = new ServicesDisk(w, new Broker(w), settings);
    disk.fill(disk.freeMb + 1);
    expect(w.services.state('postgres')).toBe('failed');
    expect(w.services.state('mongo')).toBe('failed');
    disk.clearFill();
    expect(w.services.state('postgres')).toBe('running');
  });
});
