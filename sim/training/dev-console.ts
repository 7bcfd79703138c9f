/**
 * `circleci dev-console`: the seeds' queue forms, in the usage-queue and run-queue namespaces, parsed (pure). The
 * simulation's session answers them from its dispatcher's queues, the live console from PostgreSQL.
 */

/** The namespaces whose `all-builds` the seeds count: the usage queue and the run queue. */
export const QUEUE_NAMESPACES = { 'circle.backend.build.usage-queue': 'usage', 'circle.backend.build.run-queue': 'run' } as const;
export type DevConsoleQueue = (typeof QUEUE_NAMESPACES)[keyof typeof QUEUE_NAMESPACES];
/** URLs one `(take N)` lists at most. */
export const MAX_TAKE = 100;

/** One form typed at the dev-console's prompt, understood. */
export type DevConsoleForm =
  | { kind: 'noop' }
  | { kind: 'leave'; output: string }
  | { kind: 'in-ns'; namespace: string; output: string }
  | { kind: 'count'; queue: DevConsoleQueue }
  | { kind: 'take'; queue: DevConsoleQueue; n: number; reverse: boolean }
  | { kind: 'text'; output: string };

/** Parses a form in `namespace`; `count` and `take` name the queue, the caller reads it. */
export function devConsoleForm(line: string, namespace: string): DevConsoleForm {
  const form = line.trim();
  if (form === '') return { kind: 'noop' };
  if (form === 'exit' || form === '(exit)' || form === 'quit' || form === '(quit)') return { kind: 'leave', output: 'Bye for now!' };
  const ns = /^\(in-ns\s+'([\w.-]+)\)$/.exec(form);
  if (ns) return { kind: 'in-ns', namespace: ns[1]!, output: `#object[clojure.lang.Namespace 0x5e9f23b4 "${ns[1]}"]` };
  const queue = (QUEUE_NAMESPACES as Record<string, DevConsoleQueue>)[namespace];
  const compact = form.replace(/\s+/g, ' ');
  if (/\(all-builds\)/.test(compact) && queue === undefined) return { kind: 'text', output: `CompilerException java.lang.RuntimeException: Unable to resolve symbol: all-builds in this context, compiling:(NO_SOURCE_PATH:1:5)` };
  if (queue !== undefined && compact === '(-> (all-builds) count)') return { kind: 'count', queue };
  const take = /^\(-> \(all-builds\) (reverse )?\(take (\d+)\)( \(map deref\))? \(map circle\.http\.paths\/build-url\)\)$/.exec(compact);
  if (queue !== undefined && take) return { kind: 'take', queue, n: Math.min(MAX_TAKE, Number(take[2])), reverse: take[1] !== undefined };
  return { kind: 'text', output: 'CompilerException: the twin\'s dev-console answers the seeds\' queue forms only: (in-ns \'circle.backend.build.usage-queue), (-> (all-builds) count), (-> (all-builds) (take 3) (map deref) (map circle.http.paths/build-url)); `exit` leaves' };
}

/** What `(map circle.http.paths/build-url)` prints for builds by name. */
export function buildUrls(names: readonly string[]): string {
  return `(${names.map((n) => `"https://circleci.acme.example/${n}"`).join(' ')})`;
}
