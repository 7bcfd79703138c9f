import { containerId, dockerName } from '../symptoms/docker-ps.ts';
import { heapBytes } from './etc-files.ts';

/**
 * What a container shows of the environment it was created with (the customization files applied at the last app
 * start), shared by the simulation's console and the live stack's: `docker exec C printenv|env`, the JVM services'
 * REPL (the seeds' "Verify customization is applied") and `replicated app status`. Pure.
 */

/** The JVM services' nREPL ports (the seeds' "Verify customization is applied"). */
export const REPL_PORTS: Readonly<Record<string, number>> = { frontend: 6005, 'test-results': 2719, 'output-processor': 6007 };
/** The heap a JVM service has without `JVM_HEAP_SIZE`: the twin's assumption (1 GiB), the seeds give none. */
export const DEFAULT_HEAP_BYTES = 1024 ** 3;

/** docker's answer for a container that is not running. */
export function notRunning(canonical: string): { output: string; exit: number } {
  return { output: `Error response from daemon: Container ${containerId(dockerName(canonical))} is not running`, exit: 1 };
}

/**
 * The environment a container is created with: the image's `PATH`, its `HOSTNAME` (the container id), then its
 * customizations (`applied`). The live stack starts a stage's process with exactly this environment.
 */
export function containerEnvironment(canonical: string, applied: Readonly<Record<string, string>>): Record<string, string> {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: containerId(dockerName(canonical)), ...applied };
}

/** `printenv [NAME]` / `env` over an environment as the process has it (printenv exits 1 for an unset name). */
export function printEnv(env: Readonly<Record<string, string>>, variable: string | undefined): { output: string; exit: number } {
  if (variable !== undefined) return variable in env ? { output: env[variable]!, exit: 0 } : { output: '', exit: 1 };
  return { output: Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n'), exit: 0 };
}

/** `sudo docker exec C printenv [NAME]` / `env`: the container's environment (`applied`: its customizations). */
export function execEnv(canonical: string, applied: Readonly<Record<string, string>>, variable: string | undefined): { output: string; exit: number } {
  return printEnv(containerEnvironment(canonical, applied), variable);
}

/**
 * The maximum heap a service gets from its environment: `JVM_HEAP_SIZE` when readable, else `DEFAULT_HEAP_BYTES`
 * (the REPL's `.maxMemory` in the simulation; the live stack starts a JVM service's process with this limit).
 */
export function heapLimitBytes(env: Readonly<Record<string, string>>): number {
  return heapBytes(env['JVM_HEAP_SIZE'] ?? '') ?? DEFAULT_HEAP_BYTES;
}

/** `sudo docker exec -it C lein repl :connect PORT` on a running container: connected, or nREPL's refusal. */
export function replConnect(canonical: string, port: number): { output: string; exit: number } {
  if (REPL_PORTS[canonical] !== port) return { output: `SocketException Connection refused (Connection refused)  java.net.PlainSocketImpl.socketConnect (PlainSocketImpl.java:-2)${REPL_PORTS[canonical] === undefined ? '' : `\n(${dockerName(canonical)}'s REPL is on port ${REPL_PORTS[canonical]})`}`, exit: 1 };
  return { output: `Connecting to nREPL at 127.0.0.1:${port}\nREPL-y 0.3.7, nREPL 0.2.12\nClojure 1.9.0\n    Exit: Control+D or (exit) or (quit)`, exit: 0 };
}

/**
 * A form typed into a JVM service's REPL (its environment `env`): the seeds' two checks of `JVM_HEAP_SIZE`; `leave`
 * ends the REPL. `maxMemoryBytes`: the heap limit the service's process reports (live), else the one `env` gives.
 */
export function replForm(line: string, env: Readonly<Record<string, string>>, maxMemoryBytes = heapLimitBytes(env)): { kind: 'noop' } | { kind: 'console'; output: string; leave: boolean } {
  const form = line.trim().replace(/\s+/g, ' ');
  if (form === '') return { kind: 'noop' };
  if (form === 'exit' || form === '(exit)' || form === 'quit' || form === '(quit)') return { kind: 'console', output: 'Bye for now!', leave: true };
  const getenv = /^\(System\/getenv "([A-Za-z_][A-Za-z0-9_]*)"\)$/.exec(form);
  if (getenv) return { kind: 'console', output: getenv[1]! in env ? JSON.stringify(env[getenv[1]!]) : 'nil', leave: false };
  if (form === '(-> (java.lang.Runtime/getRuntime) (.maxMemory))' || form === '(.maxMemory (java.lang.Runtime/getRuntime))') {
    return { kind: 'console', output: String(maxMemoryBytes), leave: false };
  }
  return { kind: 'console', output: 'CompilerException: the twin\'s REPL answers the seeds\' checks only: (System/getenv "JVM_HEAP_SIZE"), (-> (java.lang.Runtime/getRuntime) (.maxMemory)); `exit` leaves', leave: false };
}

/** `replicated app <id> status` from how many of the listed containers run (running or paused) of `total`. */
export function replicatedStatus(running: number, total: number): string {
  return running === 0 ? 'State: stopped' : running === total ? 'State: started' : `State: started (${total - running} of ${total} containers not running)`;
}
