import { describe, expect, it } from 'vitest';
import { mismatches, neededPairs, providedPairs, type LiveKind } from '../../sim/faults/catalogue.ts';
import { undoOrder } from '../../sim/faults/port.ts';
import { LIVE_MECHANICS, LiveFaultAdapter, type LiveFaultSurface } from './fault-adapter.ts';

/** A surface whose every handle records what was done to it. */
function recordingSurface(log: string[], kinds: Record<string, LiveKind>, opts: { pid?: number; pausable?: boolean } = {}): LiveFaultSurface {
  return {
    kindOf: (t) => kinds[t],
    process: (name) => ({ pid: opts.pid, backend: 'an external URL', restart: async () => void log.push(`restart ${name}`) }),
    service: (name) => ({
      stop: async () => void log.push(`stop ${name}`),
      kill: () => void log.push(`kill ${name}`),
      start: async () => void log.push(`start ${name}`),
      ...(opts.pausable ? { pause: () => void log.push(`pause ${name}`), unpause: () => void log.push(`unpause ${name}`) } : {}),
    }),
    nomadServer: () => ({ port: 4646, halt: async () => void log.push('halt'), resume: async () => void log.push('resume'), wipe: () => (log.push('wipe'), 'wiped') }),
    fleet: () => ({
      agentDown: (n) => (log.push(`agentDown ${n}`), ''),
      agentBack: (n) => (log.push(`agentBack ${n}`), ''),
      terminate: (n) => (log.push(`terminate ${n}`), ''),
      drain: (n, on) => (log.push(`drain ${n} ${on}`), ''),
    }),
    network: () => ({ partition: (on) => (log.push(`partition ${on}`), '') }),
  };
}

describe('the live fault adapter', () => {
  it('has mechanics for exactly the catalogue live column (and each undo where its action runs)', () => {
    expect(mismatches(neededPairs<LiveKind>((e) => e.live.on), providedPairs(LIVE_MECHANICS))).toEqual([]);
  });

  it('dispatches by the target kind in the stack: services restart as stop then start, clients by count, undo of a drain', async () => {
    const log: string[] = [];
    const port = new LiveFaultAdapter(recordingSurface(log, { frontend: 'service', nomad_server: 'nomad_server', nomad_client: 'nomad_client', services_machine: 'services_machine', redis: 'process' }));
    await port.apply({ action: 'restart', target: 'frontend', count: 1 });
    await port.apply({ action: 'kill', target: 'nomad_server', count: 1 });
    await port.apply({ action: 'start', target: 'nomad_server', count: 1 });
    await port.apply({ action: 'drain', target: 'nomad_client', count: 3 });
    await port.apply(undoOrder({ action: 'drain', target: 'nomad_client', count: 3 }));
    await port.apply(undoOrder({ action: 'partition', target: 'services_machine', count: 1 }));
    await port.apply({ action: 'start', target: 'redis', count: 1 });
    expect(log).toEqual(['stop frontend', 'start frontend', 'halt', 'halt', 'resume', 'drain 3 true', 'drain 3 false', 'partition false', 'restart redis']);
  });

  it('refuses what the stack cannot do: an unknown target, a process without a pid, a service that shares the thread', () => {
    const port = new LiveFaultAdapter(recordingSurface([], { mongo: 'process', frontend: 'service' }));
    expect(() => port.apply({ action: 'kill', target: 'telegraf', count: 1 })).toThrow('telegraf is not a target of this live stack');
    expect(() => port.apply({ action: 'kill', target: 'mongo', count: 1 })).toThrow('mongo runs on an external URL: it has no process to kill');
    expect(() => port.apply({ action: 'pause', target: 'frontend', count: 1 })).toThrow(/frontend runs in the stack's own thread: it cannot be paused/);
    expect(() => port.apply({ action: 'disk_fill', target: 'frontend', count: 1 })).toThrow('live: disk_fill on frontend is not supported');
  });
});
