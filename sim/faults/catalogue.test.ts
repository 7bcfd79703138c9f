import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FAULT_ACTIONS } from '../scenario/schema.ts';
import { catalogueTable, FAULT_CATALOGUE, faultEntry, mismatches, neededPairs, providedPairs, simSupport, targetProblem, undoOf, UNDOABLE_ACTIONS, liveActionsOn, type TargetKind, type UndoAction } from './catalogue.ts';
import { SIM_MECHANICS, SIM_WIPES } from './sim-adapter.ts';

describe('the fault catalogue', () => {
  it('has one row per schema action, and every undo is an operation with mechanics', () => {
    expect(FAULT_CATALOGUE.map((e) => e.action)).toEqual([...FAULT_ACTIONS]);
    expect(UNDOABLE_ACTIONS).toEqual(['kill', 'stop', 'pause', 'disk_fill', 'partition', 'drain']);
    expect(undoOf('kill')).toBe('start');
    expect(undoOf('restart')).toBeUndefined();
  });

  it('names exactly the simulation mechanics there are: a row without its mechanics (or mechanics without a row) fails', () => {
    expect(mismatches(neededPairs<TargetKind>((e) => e.sim.on), providedPairs(SIM_MECHANICS))).toEqual([]);
    expect(Object.keys(SIM_WIPES).sort()).toEqual([...(faultEntry('wipe_state').sim.containers ?? [])].sort());
  });

  it('the coverage check says "no" to a row whose mechanics are missing, and to mechanics no row asks for', () => {
    const need = neededPairs<TargetKind>((e) => e.sim.on);
    const withoutDrain = providedPairs({ ...SIM_MECHANICS, drain: {} } as Record<string, Partial<Record<TargetKind, unknown>>>);
    expect(mismatches(need, withoutDrain)).toEqual(['missing: drain on nomad_client']);
    const extra = providedPairs({ ...SIM_MECHANICS, snapshot: { services_machine: () => undefined } } as Record<UndoAction, Partial<Record<TargetKind, unknown>>>);
    expect(mismatches(need, extra)).toEqual(['not in the catalogue: snapshot on services_machine']);
  });

  it('refuses targets an action does not name, saying what the action does and what it applies to', () => {
    expect(targetProblem('drain', 'frontend')).toEqual({ message: '`drain` drains Nomad clients: running allocations finish, nothing new is placed there: it applies to `nomad_client`, not `frontend`', hint: 'drain Nomad clients; stop a container instead' });
    expect(targetProblem('wipe_state', 'frontend')?.hint).toContain('stateful targets: nomad_server');
    expect(targetProblem('wipe_state', 'mongo')).toBeUndefined();
    expect(targetProblem('pause', 'nomad_client')?.message).toContain('applies to a container or `services_machine`');
    expect(targetProblem('kill', 'nomad_client')).toBeUndefined();
  });

  it('says why the simulation cannot run a fault, from the sim column', () => {
    expect(simSupport('kill', 'rabbitmq', 60_000)).toBeUndefined();
    expect(simSupport('kill', 'services_machine', 60_000)).toBe('`kill` of the whole Services machine is not modelled by `twin run` yet (modelled: stop, start, disk_fill, partition, heal, terminate_instance)');
    expect(simSupport('wipe_state', 'vault-cci', 60_000)).toContain('(modelled: nomad_server, mongo, postgres, redis, rabbitmq)');
    expect(simSupport('fail_at_startup', 'frontend', 0)).toBeUndefined();
    expect(simSupport('fail_at_startup', 'frontend', 1)).toContain('at 0s');
    expect(simSupport('snapshot', 'services_machine', 0)).toContain('`twin dr`');
  });

  it('lists what live mode does on each target from the live column', () => {
    expect(liveActionsOn('services_machine')).toEqual(['partition', 'heal']);
    expect(liveActionsOn('rabbitmq')).toEqual(['kill', 'stop', 'restart', 'start', 'pause', 'unpause']);
    expect(liveActionsOn('nomad_server')).toEqual(['kill', 'stop', 'restart', 'start', 'wipe_state']);
    expect(liveActionsOn('api-service')).toEqual([]);
  });

  it('is the table sim/faults/README.md shows', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    expect(readme).toContain(catalogueTable());
  });
});
