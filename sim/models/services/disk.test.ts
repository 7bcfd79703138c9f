import { describe, expect, it } from 'vitest';
import { diskUse, logGrowthMb } from './disk.ts';

const SETTINGS = { capacityMb: 100_000, freeMb: 5_600, logMbPerHour: 100, logMbPerBuild: 3, rabbitmqLimitMb: 5_000 };

describe('the Services machine\'s disk rule (the simulation\'s and the live stack\'s)', () => {
  it('frees what the logs and a fill take; the alarm goes off below RabbitMQ\'s limit, not at it; full at nothing left', () => {
    expect(diskUse(SETTINGS, 0, 0)).toEqual({ freeMb: 5_600, alarm: false, full: false });
    expect(diskUse(SETTINGS, 400, 200)).toEqual({ freeMb: 5_000, alarm: false, full: false });
    expect(diskUse(SETTINGS, 400.5, 200)).toMatchObject({ freeMb: 4_999.5, alarm: true, full: false });
    expect(diskUse(SETTINGS, 5_599, 0).full).toBe(false);
    expect(diskUse(SETTINGS, 5_600, 0)).toEqual({ freeMb: 0, alarm: true, full: true });
  });

  it('grows the logs by the hour and by the build', () => {
    expect(logGrowthMb(SETTINGS, 2, 0)).toBe(200);
    expect(logGrowthMb(SETTINGS, 0, 10)).toBe(30);
    expect(logGrowthMb(SETTINGS, 0.5, 4)).toBe(62);
  });
});
