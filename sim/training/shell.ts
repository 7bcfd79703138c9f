/**
 * The trainee's shell on the Services machine: a typed line becomes one of the commands the seeds' troubleshooting
 * chapter uses, or a shell's refusal. Parsing only (pure); `session.ts` carries the commands out on the twin.
 */

/** One command the shell understands, with its arguments settled. */
export type ShellCommand =
  | { kind: 'docker-ps'; all: boolean }
  | { kind: 'docker-logs'; container: string; tail: number | undefined; follow: boolean }
  | { kind: 'docker-lifecycle'; verb: 'start' | 'stop' | 'restart'; containers: string[] }
  | { kind: 'nomad-status'; job: string | undefined }
  | { kind: 'nomad-node-status'; allocs: boolean; self: boolean; node: string | undefined }
  | { kind: 'nomad-node-drain'; enable: boolean; node: string | undefined; self: boolean }
  | { kind: 'nomad-logs'; stderr: boolean; alloc: string; tail: number | undefined }
  | { kind: 'curl'; url: string; headers: boolean }
  | { kind: 'df' }
  | { kind: 'dev-console' }
  | { kind: 'replicated-apps' }
  | { kind: 'replicated-app'; verb: 'start' | 'stop' | 'status' }
  | { kind: 'cat'; paths: string[] }
  | { kind: 'ls'; path: string }
  | { kind: 'mkdir'; path: string; parents: boolean; sudo: boolean }
  | { kind: 'rm'; path: string; force: boolean; recursive: boolean; sudo: boolean }
  | { kind: 'echo'; text: string; redirect: { path: string; append: boolean; root: boolean } | undefined }
  | { kind: 'docker-exec-env'; container: string; name: string | undefined }
  | { kind: 'docker-exec-repl'; container: string; port: number }
  | { kind: 'aws-asg-describe'; names: string[] }
  | { kind: 'aws-asg-update'; name: string; min: number | undefined; max: number | undefined; desired: number | undefined; explicitDesired: boolean }
  | { kind: 'answer'; words: string[] }
  | { kind: 'hint' }
  | { kind: 'help' }
  | { kind: 'exit' }
  | { kind: 'noop' };

/** A line the shell refuses, as a shell would word it, with its exit code. */
export interface ShellRefusal {
  kind: 'refusal';
  output: string;
  exit: number;
}

export type Parsed = ShellCommand | ShellRefusal;

/** Longest line the shell reads (a paste of a whole log is refused, not parsed). */
export const MAX_LINE_CHARS = 4_096;

/** A filter after `|`: what the trainee pipes a command's output through. */
export type Filter =
  | { kind: 'grep'; pattern: string; ignoreCase: boolean; invert: boolean; regex: boolean; count: boolean }
  | { kind: 'tail' | 'head'; lines: number }
  | { kind: 'wc-l' }
  | { kind: 'pass' }
  | { kind: 'tee'; path: string; append: boolean; sudo: boolean }
  /** `awk '{print $1;}'`: the fields a line's `print` names (1-based; 0 is the whole line), split at `separator` or at blanks. */
  | { kind: 'awk-print'; fields: number[]; separator: string | undefined };

/** Writes what reaches a `tee` in a pipeline (the session's files); answers tee's own error, if any. */
export type TeeWriter = (f: Extract<Filter, { kind: 'tee' }>, text: string) => { output: string; exit: number };

/** Pipes one line may hold. */
export const MAX_PIPES = 5;

/**
 * Splits a line at its unquoted `|` into the command and the filters its output goes through (`grep`, `tail`,
 * `head`, `wc -l`, and `less`/`more`, which pass it on); another program after a pipe is not found, as in bash.
 */
export function parsePipeline(line: string): { command: string; filters: Filter[] } | ShellRefusal {
  const parts: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (const ch of line) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '|') {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  if (parts.length > MAX_PIPES + 1) return refuse(`bash: at most ${MAX_PIPES} pipes in one line here`, 2);
  const filters: Filter[] = [];
  for (const part of parts.slice(1)) {
    const w = words(part.trim());
    if (w === undefined) return refuse('bash: unexpected EOF while looking for matching quote', 2);
    if (w.length === 0) return refuse("bash: syntax error near unexpected token `|'", 2);
    const f = parseFilter(w);
    if ('output' in f) return f;
    filters.push(f);
  }
  return { command: parts[0]!, filters };
}

function parseFilter(typed: string[]): Filter | ShellRefusal {
  const { words: w, sudo } = withoutSudo(typed);
  if (w.length === 0) return refuse('usage: sudo -h | -K | -k | -V\nusage: sudo [-AbEHknPS] [-u user] command', 1);
  const [cmd, ...args] = w as [string, ...string[]];
  if (cmd === 'tee') {
    const files = args.filter((a) => !a.startsWith('-'));
    if (files.length !== 1) return refuse('tee: the twin\'s tee writes one file: echo \'export NAME="value"\' | sudo tee -a /etc/circleconfig/SERVICE/customizations', 1);
    return { kind: 'tee', path: files[0]!, append: args.includes('-a') || args.includes('--append'), sudo };
  }
  if (sudo) return notFound(cmd);
  if (cmd === 'less' || cmd === 'more' || cmd === 'cat') return { kind: 'pass' };
  if (cmd === 'wc' && args[0] === '-l') return { kind: 'wc-l' };
  if (cmd === 'tail' || cmd === 'head') {
    const n = args[0] === '-n' ? args[1] : args[0]?.startsWith('-') ? args[0].slice(1) : args[0] ?? '10';
    if (n === undefined || !/^\d{1,6}$/.test(n)) return refuse(`${cmd}: invalid number of lines: '${n ?? ''}'`, 1);
    return { kind: cmd, lines: Number(n) };
  }
  if (cmd === 'awk') return parseAwk(args);
  if (cmd === 'grep') {
    const flags = args.filter((a) => a.startsWith('-')).join('');
    const pattern = args.find((a) => !a.startsWith('-'));
    if (pattern === undefined) return refuse('Usage: grep [OPTION]... PATTERNS [FILE]...', 2);
    if (flags.includes('E')) {
      try {
        new RegExp(pattern);
      } catch {
        return refuse(`grep: Unmatched ( or \\(`, 2);
      }
    }
    return { kind: 'grep', pattern, ignoreCase: flags.includes('i'), invert: flags.includes('v'), regex: flags.includes('E'), count: flags.includes('c') };
  }
  return notFound(cmd);
}

/**
 * awk with the one program shape operators pipe through: `{print $N[, $M ...][;]}` (the seeds' `awk '{print $1;}'`),
 * with `-F SEP` or `-FSEP`. Anything else is refused with what the twin's awk runs.
 */
function parseAwk(args: readonly string[]): Filter | ShellRefusal {
  let separator: string | undefined;
  const rest = [...args];
  if (rest[0] === '-F') {
    separator = rest[1];
    rest.splice(0, 2);
  } else if (rest[0]?.startsWith('-F')) separator = rest.shift()!.slice(2);
  if (separator === '') separator = undefined;
  const program = /^\{\s*print\s+(\$\d{1,3}(?:\s*,\s*\$\d{1,3})*)\s*;?\s*\}$/.exec(rest[0]?.trim() ?? '');
  if (rest.length !== 1 || program === null) return refuse("awk: the twin's awk runs `{print $N}` programs only (e.g. awk '{print $1;}'), reading the pipe", 2);
  return { kind: 'awk-print', fields: program[1]!.split(',').map((f) => Number(f.trim().slice(1))), separator };
}

/** One line's fields as awk splits them: at `separator`, or at runs of blanks with leading and trailing ones ignored. */
function awkFields(line: string, separator: string | undefined): string[] {
  if (separator !== undefined) return line.split(separator);
  const t = line.trim();
  return t === '' ? [] : t.split(/[ \t]+/);
}

/** Runs filters over a command's output; grep that selects nothing exits 1, as grep does; `tee` writes through `tee`. */
export function applyFilters(output: string, exit: number, filters: readonly Filter[], tee?: TeeWriter): { output: string; exit: number } {
  let lines = output === '' ? [] : output.split('\n');
  for (const f of filters) {
    if (f.kind === 'tee') {
      const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
      const r = tee === undefined ? { output: `tee: ${f.path}: Read-only file system`, exit: 1 } : tee(f, text);
      if (r.exit !== 0) {
        lines = [...lines, r.output];
        exit = r.exit;
      }
      continue;
    }
    if (f.kind === 'grep') {
      const re = f.regex ? new RegExp(f.pattern, f.ignoreCase ? 'i' : '') : undefined;
      const needle = f.ignoreCase ? f.pattern.toLowerCase() : f.pattern;
      lines = lines.filter((l) => (re ? re.test(l) : (f.ignoreCase ? l.toLowerCase() : l).includes(needle)) !== f.invert);
      exit = lines.length === 0 ? 1 : 0;
      // `grep -c` prints how many lines matched (0 too), and still exits 1 on none.
      if (f.count) lines = [String(lines.length)];
    } else if (f.kind === 'tail') lines = lines.slice(Math.max(0, lines.length - f.lines));
    else if (f.kind === 'head') lines = lines.slice(0, f.lines);
    else if (f.kind === 'wc-l') lines = [String(lines.length)];
    else if (f.kind === 'awk-print') {
      lines = lines.map((l) => {
        const fields = awkFields(l, f.separator);
        return f.fields.map((n) => (n === 0 ? l : (fields[n - 1] ?? ''))).join(' ');
      });
    }
  }
  return { output: lines.join('\n'), exit };
}

/** Command substitutions one line may hold. */
export const MAX_SUBSTITUTIONS = 4;

/**
 * The line with each unquoted `$(...)` replaced by what its command prints (`run`), as bash does before it splits the
 * line into words (the seeds' `sudo replicated app $(sudo replicated apps | grep Enterprise | awk '{print $1;}') start`);
 * trailing newlines dropped, the rest word-split (newlines become blanks). Inside double quotes `$(...)` stays as typed:
 * there it only names something (`--name "CircleCI-restore-$(date '+%s')"`). A substitution whose command fails
 * ends the line with that command's answer. Unchanged when there is none.
 */
export function expandSubstitutions(line: string, run: (inner: string) => { output: string; exit: number }): { line: string } | ShellRefusal {
  let out = '';
  let quote: string | undefined;
  let count = 0;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"') {
        out += ch + (line[i + 1] ?? '');
        i++;
        continue;
      }
      out += ch;
      continue;
    }
    if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\') {
      out += ch + (line[i + 1] ?? '');
      i++;
      continue;
    } else if (ch === '$' && line[i + 1] === '(') {
      const end = closingParen(line, i + 2);
      if (end < 0) return refuse("bash: unexpected EOF while looking for matching `)'", 2);
      if (++count > MAX_SUBSTITUTIONS) return refuse(`bash: at most ${MAX_SUBSTITUTIONS} command substitutions in one line here`, 2);
      const inner = line.slice(i + 2, end);
      if (inner.includes('$(')) return refuse('twin: a command substitution inside another is not run here: type the inner command first', 2);
      const r = run(inner);
      if (r.exit !== 0) return refuse(r.output, r.exit);
      out += r.output.replace(/\n+$/, '').replace(/\s+/g, ' ');
      i = end;
      continue;
    }
    out += ch;
  }
  return { line: out };
}

/** The index of the `)` that closes a `$(` whose text starts at `from` (quotes and nested parentheses respected), or -1. */
function closingParen(line: string, from: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = from; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"') i++;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '\\') i++;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/** The Replicated app id `replicated apps` lists (the app's, not a secret). */
export const APP_ID = '2a7f3c1d9e8b4f60a1c2d3e4f5a6b7c8';

/**
 * `sudo replicated apps` on the Services machine: the app's id first on its line, as the seeds' own
 * `... | grep Enterprise | awk '{print $1;}'` reads it.
 */
export function replicatedAppsListing(version: string): string {
  return [`${'ID'.padEnd(34)}${'NAME'.padEnd(21)}RELEASE`, `${APP_ID}  ${'CircleCI Enterprise'.padEnd(21)}${version}`].join('\n');
}

/**
 * Splits a line into words as bash does for what the twin's shells take (the drill's Services machine, `twin dr
 * --interactive`): single quotes literal; double quotes with `\"`, `\\`, `\$` and `` \` `` escapes; a backslash outside
 * quotes escapes the next character (a trailing one stays). With `vars`, `$VAR` and `${VAR}` are expanded outside
 * single quotes (unset: empty, as bash); without, they stay as typed. `$(...)` stays as typed (the seeds' `$(date '+%s')`
 * only names an image). Undefined when a quote is left open.
 */
export function words(line: string, vars?: ReadonlyMap<string, string>): string[] | undefined {
  const expand = (text: string) =>
    text.replace(/\\(["\\$`])|\$\{([A-Za-z_]\w*)\}|\$([A-Za-z_]\w*)/g, (m, esc: string | undefined, braced: string | undefined, bare: string | undefined) =>
      esc !== undefined ? esc : vars === undefined ? m : (vars.get((braced ?? bare)!) ?? ''),
    );
  // One piece at a time: blanks (a word ends), 'single', "double", \x, or a run of plain characters.
  const piece = /([ \t\n]+)|'([^']*)'|"((?:\\[\s\S]|[^"\\])*)"|\\([\s\S]?)|([^ \t\n'"\\]+)/y;
  const out: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < line.length; ) {
    piece.lastIndex = i;
    const m = piece.exec(line);
    if (!m) return undefined;
    i = piece.lastIndex;
    if (m[1] !== undefined) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + (m[2] ?? (m[3] !== undefined ? expand(m[3]) : m[4] !== undefined ? m[4] || '\\' : expand(m[5]!)));
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/** A command's words after its leading `sudo`s (`sudo sudo x` is `x` as root), and whether there was one. */
export function withoutSudo(w: readonly string[]): { words: string[]; sudo: boolean } {
  let i = 0;
  while (w[i] === 'sudo') i++;
  return { words: w.slice(i), sudo: i > 0 };
}

const refuse = (output: string, exit = 1): ShellRefusal => ({ kind: 'refusal', output, exit });
const notFound = (cmd: string): ShellRefusal => refuse(`bash: ${cmd}: command not found`, 127);
const DOCKER_DENIED = 'Got permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get http://%2Fvar%2Frun%2Fdocker.sock/v1.39/containers/json: dial unix /var/run/docker.sock: connect: permission denied';

/** Editors the trainee may reach for; the twin's shell has none (it is not a terminal program). */
const EDITORS: ReadonlySet<string> = new Set(['vim', 'vi', 'nano', 'emacs', 'ed', 'pico']);

/** The redirection at the end of a command's words (`> FILE`, `>> FILE`, `>>FILE`), taken off the words. */
function redirection(w: string[]): { path: string; append: boolean } | undefined | ShellRefusal {
  const i = w.findIndex((x) => x.startsWith('>'));
  if (i < 0) return undefined;
  const op = w[i]!.startsWith('>>') ? '>>' : '>';
  const path = w[i]!.length > op.length ? w[i]!.slice(op.length) : w[i + 1];
  const used = w[i]!.length > op.length ? 1 : 2;
  if (path === undefined) return refuse("bash: syntax error near unexpected token `newline'", 2);
  if (w.length > i + used) return refuse('bash: the twin\'s shell takes one redirection, at the end of the line', 2);
  w.splice(i, used);
  return { path, append: op === '>>' };
}

/**
 * Parses one line of the Services machine's shell. `root` is a root shell's line (inside `sudo sh -c '...'`):
 * there a redirection writes as root, while `sudo echo ... >> FILE` redirects in the trainee's own shell.
 */
export function parseShellLine(line: string, root = false): Parsed {
  if (line.length > MAX_LINE_CHARS) return refuse(`bash: line too long (${line.length} characters; at most ${MAX_LINE_CHARS})`, 2);
  const typed = words(line.trim());
  if (typed === undefined) return refuse('bash: unexpected EOF while looking for matching quote', 2);
  if (typed.length === 0 || typed[0]!.startsWith('#')) return { kind: 'noop' };
  const { words: w, sudo: typedSudo } = withoutSudo(typed);
  if (w.length === 0) return refuse('usage: sudo -h | -K | -k | -V\nusage: sudo [-AbEHknPS] [-u user] command', 1);
  const [cmd, ...args] = w as [string, ...string[]];
  const sudo = typedSudo || root;
  if (EDITORS.has(cmd)) return refuse(`${cmd}: the drill's shell is line by line and has no editor; write a file as the seeds do:\n  echo 'export JVM_HEAP_SIZE=2g' | sudo tee -a /etc/circleconfig/frontend/customizations`, 127);
  switch (cmd) {
    case 'sh':
    case 'bash': {
      if (args[0] !== '-c' || args.length !== 2) return refuse(`${cmd}: the twin's shell takes \`${cmd} -c 'ONE LINE'\` (as in: sudo sh -c 'echo ... >> FILE')`, 2);
      return parseShellLine(args[1]!, sudo);
    }
    case 'echo': {
      const r = redirection(args);
      if (r !== undefined && 'kind' in r) return r;
      const noNewline = args[0] === '-n';
      const text = (noNewline ? args.slice(1) : args).join(' ');
      return { kind: 'echo', text: noNewline ? text : `${text}\n`, redirect: r === undefined ? undefined : { ...r, root } };
    }
    case 'cat': {
      const paths = args.filter((a) => !a.startsWith('-'));
      if (paths.length === 0) return refuse('cat: the twin\'s cat reads files named on the line: cat /etc/circleconfig/frontend/customizations', 1);
      return { kind: 'cat', paths };
    }
    case 'ls':
      return { kind: 'ls', path: args.find((a) => !a.startsWith('-')) ?? '/home/ubuntu' };
    case 'mkdir': {
      const path = args.find((a) => !a.startsWith('-'));
      if (path === undefined) return refuse("mkdir: missing operand\nTry 'mkdir --help' for more information.", 1);
      return { kind: 'mkdir', path, parents: args.includes('-p'), sudo };
    }
    case 'rm': {
      const path = args.find((a) => !a.startsWith('-'));
      if (path === undefined) return refuse("rm: missing operand\nTry 'rm --help' for more information.", 1);
      return { kind: 'rm', path, force: args.some((a) => /^-[a-zA-Z]*f/.test(a) || a === '--force'), recursive: args.some((a) => /^-[a-zA-Z]*[rR]/.test(a) || a === '--recursive'), sudo };
    }
    case 'docker':
      if (!sudo) return refuse(DOCKER_DENIED, 1);
      return parseDocker(args);
    case 'nomad':
      return parseNomad(args);
    case 'curl':
      return parseCurl(args);
    case 'df':
      return { kind: 'df' };
    case 'circleci':
      if (args[0] === 'dev-console' && args.length === 1) return { kind: 'dev-console' };
      return refuse(`circleci: unknown command \`${args.join(' ')}\`; on the Services machine: circleci dev-console`, 1);
    case 'replicated':
    case 'replicatedctl':
      return parseReplicated(cmd, args);
    case 'aws':
      return parseAws(args);
    case 'twin':
      if (args[0] === 'answer') return { kind: 'answer', words: args.slice(1) };
      return refuse('twin: inside a drill, `answer <container> <cause>`, `hint` and `help` are the twin\'s commands', 2);
    case 'answer':
      return { kind: 'answer', words: args };
    case 'hint':
      return { kind: 'hint' };
    case 'help':
      return { kind: 'help' };
    case 'exit':
    case 'logout':
      return { kind: 'exit' };
    default:
      return notFound(cmd);
  }
}

function tailOf(v: string | undefined): number | undefined | ShellRefusal {
  if (v === undefined || v === 'all') return undefined;
  if (!/^\d{1,6}$/.test(v)) return refuse(`invalid argument "${v}" for "-n, --tail" flag: strconv.ParseInt: parsing "${v}": invalid syntax`, 125);
  return Number(v);
}

function parseDocker(args: string[]): Parsed {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'ps': {
      const bad = rest.find((a) => a !== '-a' && a !== '--all');
      if (bad !== undefined) return refuse(`unknown flag: ${bad}\nSee 'docker ps --help'.`, 125);
      return { kind: 'docker-ps', all: rest.length > 0 };
    }
    case 'logs': {
      let tail: number | undefined;
      let follow = false;
      const names: string[] = [];
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        if (a === '-f' || a === '--follow') follow = true;
        else if (a === '--tail' || a === '-n' || a.startsWith('--tail=')) {
          const t = tailOf(a.startsWith('--tail=') ? a.slice(7) : rest[++i]);
          if (typeof t === 'object') return t;
          tail = t;
        } else if (a.startsWith('-')) return refuse(`unknown flag: ${a}\nSee 'docker logs --help'.`, 125);
        else names.push(a);
      }
      if (names.length !== 1) return refuse('"docker logs" requires exactly 1 argument.\nSee \'docker logs --help\'.\n\nUsage:  docker logs [OPTIONS] CONTAINER', 125);
      return { kind: 'docker-logs', container: names[0]!, tail, follow };
    }
    case 'start':
    case 'stop':
    case 'restart': {
      const names = rest.filter((a) => !a.startsWith('-'));
      if (names.length === 0) return refuse(`"docker ${sub}" requires at least 1 argument.\nSee 'docker ${sub} --help'.`, 125);
      return { kind: 'docker-lifecycle', verb: sub, containers: names };
    }
    case 'exec': {
      // `sudo docker exec -it nomad nomad status` (the seeds' form): the nomad CLI inside the nomad container.
      const rest2 = rest.filter((a) => !/^-[it]+$/.test(a));
      if (rest2[0] === 'nomad' && rest2[1] === 'nomad') return parseNomad(rest2.slice(2));
      // The seeds' checks of a customization: the container's environment, and its REPL (lein repl :connect PORT).
      if (rest2.length >= 2 && (rest2[1] === 'printenv' || rest2[1] === 'env')) return { kind: 'docker-exec-env', container: rest2[0]!, name: rest2[1] === 'printenv' ? rest2[2] : undefined };
      if (rest2.length === 5 && rest2[1] === 'lein' && rest2[2] === 'repl' && rest2[3] === ':connect' && /^\d{1,5}$/.test(rest2[4]!)) return { kind: 'docker-exec-repl', container: rest2[0]!, port: Number(rest2[4]) };
      if (rest2.length >= 2) return refuse(`OCI runtime exec failed: the twin's containers run \`nomad\` inside \`nomad\`, \`printenv [NAME]\`, \`env\` and \`lein repl :connect PORT\``, 126);
      return refuse('"docker exec" requires at least 2 arguments.\nSee \'docker exec --help\'.', 125);
    }
    case undefined:
      return refuse('Usage:\tdocker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\nCommands the twin answers: ps, logs, start, stop, restart, exec', 0);
    default:
      return refuse(`docker: '${sub}' is not a docker command the twin answers (ps, logs, start, stop, restart, exec).\nSee 'docker --help'`, 1);
  }
}

function parseNomad(args: string[]): Parsed {
  let [sub, ...rest] = args;
  // Nomad 0.9 also takes `nomad node status` and `nomad job status`.
  if ((sub === 'node' || sub === 'job' || sub === 'alloc') && rest.length > 0) {
    sub = sub === 'job' ? rest[0] : sub === 'alloc' ? rest[0] : `node-${rest[0]}`;
    rest = rest.slice(1);
  }
  switch (sub) {
    case 'status':
      return { kind: 'nomad-status', job: rest.find((a) => !a.startsWith('-')) };
    case 'node-status':
      return { kind: 'nomad-node-status', allocs: rest.includes('-allocs'), self: rest.includes('-self'), node: rest.find((a) => !a.startsWith('-')) };
    case 'node-drain': {
      const enable = rest.includes('-enable');
      const disable = rest.includes('-disable');
      if (enable === disable) return refuse('Ambiguous command, either -enable or -disable is required', 1);
      return { kind: 'nomad-node-drain', enable, node: rest.find((a) => !a.startsWith('-')), self: rest.includes('-self') };
    }
    case 'logs': {
      // Nomad's `-tail` is a switch (the last 10 lines) and `-n N` the count, as in `nomad logs -stderr -tail -n 20 ID`.
      const n = rest.indexOf('-n');
      let tail: number | undefined;
      if (n >= 0) {
        const t = tailOf(rest[n + 1]);
        if (typeof t === 'object') return t;
        tail = t ?? 10;
      } else if (rest.includes('-tail')) tail = 10;
      const ids = rest.filter((a, i) => !a.startsWith('-') && !(i > 0 && (rest[i - 1] === '-n' || rest[i - 1] === '-job')));
      const job = rest.indexOf('-job');
      const alloc = job >= 0 ? rest[job + 1] : ids[0];
      if (alloc === undefined) return refuse('This command takes one or two arguments: <allocation> <task>', 1);
      return { kind: 'nomad-logs', stderr: rest.includes('-stderr') || rest.includes('--stderr'), alloc, tail };
    }
    case undefined:
      return refuse('Usage: nomad [-version] [-help] [-autocomplete-(un)install] <command> [args]\n\nCommands the twin answers: status, node-status, node-drain, logs', 1);
    default:
      return refuse(`Usage: nomad [-version] [-help] <command> [args]\n\nThe twin's nomad answers: status, node-status, node-drain, logs (not \`${sub}\`)`, 127);
  }
}

const AWS_USAGE = 'usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\nTo see help text, you can run:\n\n  aws help\n  aws <command> help\n  aws <command> <subcommand> help';

/**
 * The AWS CLI's Auto Scaling commands a person uses on the Nomad clients' group: `describe-auto-scaling-groups`,
 * `update-auto-scaling-group` and `set-desired-capacity` (`--region`, `--output` and `--profile` are taken and
 * change nothing: the twin has one group, in one region, and answers JSON).
 */
function parseAws(args: string[]): Parsed {
  const [service, op, ...rest] = args;
  if (service === undefined) return refuse(`${AWS_USAGE}\naws: error: the following arguments are required: command`, 2);
  if (service !== 'autoscaling') return refuse(`${AWS_USAGE}\naws: error: the twin's aws answers \`aws autoscaling describe-auto-scaling-groups | update-auto-scaling-group | set-desired-capacity\` (not \`${service}\`)`, 2);
  const opts = new Map<string, string[]>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('--')) return refuse(`${AWS_USAGE}\naws: error: Unknown options: ${a}`, 2);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const values = eq > 0 ? [a.slice(eq + 1)] : [];
    while (eq < 0 && i + 1 < rest.length && !rest[i + 1]!.startsWith('--')) values.push(rest[++i]!);
    opts.set(key, values);
  }
  const known = (keys: readonly string[]): ShellRefusal | undefined => {
    const bad = [...opts.keys()].find((k) => !keys.includes(k) && k !== 'region' && k !== 'output' && k !== 'profile');
    return bad === undefined ? undefined : refuse(`${AWS_USAGE}\naws: error: Unknown options: --${bad}`, 2);
  };
  const count = (key: string): number | undefined | ShellRefusal => {
    const v = opts.get(key);
    if (v === undefined) return undefined;
    if (v.length !== 1 || !/^\d{1,5}$/.test(v[0]!)) return refuse(`\nParameter validation failed:\nInvalid type for parameter ${key.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase())}, value: ${v.join(' ')}, type: <class 'str'>, valid types: <class 'int'>`, 255);
    return Number(v[0]);
  };
  switch (op) {
    case 'describe-auto-scaling-groups': {
      const bad = known(['auto-scaling-group-names']);
      return bad ?? { kind: 'aws-asg-describe', names: opts.get('auto-scaling-group-names') ?? [] };
    }
    case 'update-auto-scaling-group':
    case 'set-desired-capacity': {
      const bad = known(op === 'set-desired-capacity' ? ['auto-scaling-group-name', 'desired-capacity', 'honor-cooldown', 'no-honor-cooldown'] : ['auto-scaling-group-name', 'min-size', 'max-size', 'desired-capacity']);
      if (bad) return bad;
      const name = opts.get('auto-scaling-group-name');
      if (name === undefined || name.length !== 1) return refuse(`${AWS_USAGE}\naws: error: the following arguments are required: --auto-scaling-group-name${op === 'set-desired-capacity' && !opts.has('desired-capacity') ? ', --desired-capacity' : ''}`, 2);
      if (op === 'set-desired-capacity' && !opts.has('desired-capacity')) return refuse(`${AWS_USAGE}\naws: error: the following arguments are required: --desired-capacity`, 2);
      const [min, max, desired] = [count('min-size'), count('max-size'), count('desired-capacity')];
      for (const v of [min, max, desired]) if (typeof v === 'object') return v;
      return { kind: 'aws-asg-update', name: name[0]!, min: min as number | undefined, max: max as number | undefined, desired: desired as number | undefined, explicitDesired: op === 'set-desired-capacity' };
    }
    case undefined:
      return refuse(`${AWS_USAGE}\naws: error: the following arguments are required: operation`, 2);
    default:
      return refuse(`${AWS_USAGE}\naws: error: the twin's aws autoscaling answers describe-auto-scaling-groups, update-auto-scaling-group and set-desired-capacity (not \`${op}\`)`, 2);
  }
}

function parseCurl(args: string[]): Parsed {
  const url = args.find((a) => !a.startsWith('-'));
  if (url === undefined) return refuse("curl: try 'curl --help' or 'curl --manual' for more information", 2);
  return { kind: 'curl', url, headers: args.some((a) => /^-[a-zA-Z]*[iv]/.test(a) || a === '--include') };
}

function parseReplicated(cmd: string, args: string[]): Parsed {
  if (cmd === 'replicated' && args[0] === 'apps') return { kind: 'replicated-apps' };
  if (args[0] !== 'app') return refuse(`${cmd}: the twin answers \`${cmd} app [<app id>] start|stop|status\`${cmd === 'replicated' ? ' and `replicated apps`' : ''}`, 1);
  const verb = args[args.length - 1];
  if (verb !== 'start' && verb !== 'stop' && verb !== 'status') return refuse(`${cmd}: \`app\` takes start, stop or status`, 1);
  if (args.length > 3 || (args.length === 3 && args[1] !== APP_ID)) return refuse(`Error: app ${args.slice(1, -1).join(' ')} not found (sudo replicated apps lists the app id)`, 1);
  return { kind: 'replicated-app', verb };
}
