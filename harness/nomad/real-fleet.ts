/**
 * Faults on the Nomad clients when the live stack's Nomad server is a real agent (`--nomad real`). That agent is
 * one process, server and client: its one client node is this machine. What the scenario's client faults can do
 * there, decided once for the replay's check (before anything starts) and for the fault adapter (when they act):
 *
 * | action on nomad_client | on the real agent |
 * | --- | --- |
 * | `drain` (`count` 1), `undrain` after `for` | carried out: its node is drained through Nomad's API (a `DrainSpec` of an hour, wall time: running allocations finish, nothing new is placed; the replay's drain has no deadline) and made eligible again |
 * | `kill`, `stop`, `start`, `restart` | refused: the client's agent is the server's process (`kill nomad_server` stops both) |
 * | `terminate_instance` | refused: there is no instance to terminate, the client is this machine |
 * | `partition`, `heal` | refused: server and client talk inside one process, there is no network between them to cut |
 * | any, with `count` > 1 | refused: the agent has one client node |
 */
import { NomadClient } from './client.ts';
import type { LiveFleet } from '../live/fault-adapter.ts';

/** How many client nodes the stack's real agent has (server and client in one process). */
export const REAL_AGENT_CLIENTS = 1;

/** A drain on the real agent: an hour of wall time (a replay at 60× is over long before: no deadline in effect). */
const DRAIN_DEADLINE_MS = 3_600_000;

const ONE_PROCESS = "the real agent's client runs in its server's process (`kill nomad_server` stops both)";

/** Why a client fault cannot be carried out on the real agent, or undefined when it can. */
export function realAgentClientRefusal(action: string, count: number): string | undefined {
  switch (action) {
    case 'drain':
    case 'undrain':
      return count > REAL_AGENT_CLIENTS ? `the real agent has ${REAL_AGENT_CLIENTS} client node, so ${count} cannot be drained` : undefined;
    case 'kill':
    case 'stop':
    case 'start':
    case 'restart':
      return ONE_PROCESS;
    case 'terminate_instance':
      return "there is no instance to terminate: the real agent's client is this machine";
    case 'partition':
    case 'heal':
      return 'the real agent\'s server and client talk inside one process: there is no network between them to cut';
    default:
      return `\`${action}\` does not act on Nomad clients`;
  }
}

/**
 * The real agent's client nodes as the fault adapter's fleet: drain and undrain through the API (the first `count`
 * nodes by name); everything else throws the refusal (the replay refuses it before it starts, so this is a guard).
 */
export function realAgentFleet(address: string): LiveFleet {
  const nomad = new NomadClient({ address });
  const refuse = (action: string, count: number): never => {
    throw new Error(`nomad_client on the real agent: ${realAgentClientRefusal(action, count) ?? action}`);
  };
  return {
    agentDown: (count) => refuse('kill', count),
    agentBack: (count) => refuse('start', count),
    terminate: (count) => refuse('terminate_instance', count),
    drain: async (count, enable) => {
      const refused = realAgentClientRefusal(enable ? 'drain' : 'undrain', count);
      if (refused !== undefined) throw new Error(`nomad_client on the real agent: ${refused}`);
      const nodes = (await nomad.nodes()).sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0)).slice(0, count);
      const states: string[] = [];
      for (const n of nodes) {
        await nomad.drain(n.ID, enable, { deadlineMs: DRAIN_DEADLINE_MS });
        // As the agent now reports the node: what the line says is the API's answer, not what was asked.
        const now = await nomad.node(n.ID);
        states.push(`${n.Name} (${n.ID.slice(0, 8)}, now ${now?.SchedulingEligibility ?? 'gone'}${now?.Drain ? ', draining' : ''})`);
      }
      return enable ? `drain enabled on the real agent's node ${states.join(', ')}: running allocations finish, nothing new is placed there` : `drain disabled on the real agent's node ${states.join(', ')}`;
    },
  };
}

