/**
 * The build agent's Nomad task for a real agent (`twin up --nomad real`): a `raw_exec` task that runs
 * `raw-exec-build-agent.ts` with this checkout's Node and tsx, its build described in `Env`. The twin's Nomad API
 * does not need it: there the in-process `BuildAgentRunner` runs each allocation.
 */
import { fileURLToPath } from 'node:url';
import type { ScheduleMessage } from '../live/pipeline/schema.ts';
import type { NomadClient } from './client.ts';

/** The script the task runs, and tsx's CLI that runs it (both absolute: raw_exec starts in the task's own dir). */
export const BUILD_AGENT_SCRIPT = fileURLToPath(new URL('./raw-exec-build-agent.ts', import.meta.url));
export const TSX_CLI = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

export interface RawExecBuildAgentOptions {
  /** A file that holds output-processor's URL once it listens (the task reads it when it starts). */
  outputProcessorUrlFile: string;
  /** Scenario ms per wall ms: a build of `durationMs` runs `durationMs / timeScale`. */
  timeScale: number;
}

/** The task of container `index` of a build: raw_exec, the build's facts in Env, the resource class's ask. */
export function rawExecBuildAgentTask(opts: RawExecBuildAgentOptions, msg: ScheduleMessage, index: number) {
  return {
    Name: 'build-agent',
    Driver: 'raw_exec',
    Config: { command: process.execPath, args: [TSX_CLI, BUILD_AGENT_SCRIPT] },
    Env: {
      OUTPUT_PROCESSOR_URL_FILE: opts.outputProcessorUrlFile,
      BUILD_ID: String(msg.buildId),
      PARALLEL_INDEX: String(index),
      PARALLELISM: String(msg.parallelism),
      DURATION_MS: String(msg.durationMs),
      TIME_SCALE: String(opts.timeScale),
      FAILS: msg.fails === true ? 'true' : 'false',
      ARTIFACTS: String(msg.artifacts ?? 0),
      TEST_RESULTS: msg.testResults === true ? 'true' : 'false',
    },
    // A dev agent's one client is small: the build asks for what its process needs, not its resource class.
    Resources: { CPU: 100, MemoryMB: 256 },
  };
}

/**
 * schedulerer's options for a real agent: its datacenter (from `/v1/agent/self`; Nomad 0.9.3 refuses a job
 * without one, and a dev agent's is `dc1`) and the raw_exec build-agent task.
 */
export async function realNomadJobs(nomad: NomadClient, opts: RawExecBuildAgentOptions): Promise<{ datacenter: string; task: (msg: ScheduleMessage, index: number) => ReturnType<typeof rawExecBuildAgentTask> }> {
  const self = (await nomad.request<{ config?: { Datacenter?: unknown } }>('GET', '/v1/agent/self')).body;
  const datacenter = self.config?.Datacenter;
  if (typeof datacenter !== 'string' || datacenter === '') throw new Error(`nomad_server: /v1/agent/self names no datacenter (config.Datacenter is ${JSON.stringify(datacenter)})`);
  return { datacenter, task: (msg, index) => rawExecBuildAgentTask(opts, msg, index) };
}
