import { createInterface } from 'node:readline';

/** What the console drives: a training drill's session, or `twin dr --interactive`'s admin shell. */
export interface ConsoleSession {
  banner(): string;
  readonly prompt: string;
  readonly isOver: boolean;
  execute(line: string): { output: string; ended: boolean };
  endOfInput(): void;
}

/** Where a session prints (the CLI's stdout, or a test's capture). */
export interface ConsoleOut {
  write(s: string): unknown;
}

/** Lines a script may hold (one command a line). */
export const MAX_SCRIPT_LINES = 1_000;

/**
 * Replays a typed session: each line of the script as if typed at the prompt, echoed after the prompt with what
 * the shell answered, until `exit` or the end of the script. Blank lines and `#` comments are skipped unechoed.
 */
export function runScript(session: ConsoleSession, script: string, out: ConsoleOut): void {
  out.write(`${session.banner()}\n\n`);
  for (const line of script.split('\n').slice(0, MAX_SCRIPT_LINES)) {
    const typed = line.replace(/\r$/, '');
    if (typed.trim() === '' || typed.trim().startsWith('#')) continue;
    out.write(`${session.prompt}${typed}\n`);
    const r = session.execute(typed);
    if (r.output !== '') out.write(`${r.output}\n`);
    if (r.ended) return;
  }
  session.endOfInput();
}

/**
 * The interactive shell: node:readline on a terminal (history, line editing), the prompt following the session's
 * (the shell's, or the dev-console's). Resolves when the trainee types `exit` or closes the input (Ctrl-D).
 */
export function runInteractive(session: ConsoleSession, input: NodeJS.ReadableStream, output: NodeJS.WritableStream & { isTTY?: boolean }): Promise<void> {
  output.write(`${session.banner()}\n\n`);
  const rl = createInterface({ input, output, prompt: session.prompt, terminal: output.isTTY === true, historySize: 200 });
  return new Promise((done) => {
    let closed = false;
    rl.on('line', (line) => {
      if (closed) return;
      const r = session.execute(line);
      if (r.output !== '') output.write(`${r.output}\n`);
      if (r.ended) {
        closed = true;
        rl.close();
        return;
      }
      rl.setPrompt(session.prompt);
      rl.prompt();
    });
    // Ctrl-C abandons the line, as bash does; `exit` or Ctrl-D ends the drill.
    rl.on('SIGINT', () => {
      // Move to the end of the line and delete it, so the half-typed text is gone as in bash.
      rl.write(null, { ctrl: true, name: 'e' });
      rl.write(null, { ctrl: true, name: 'u' });
      output.write('^C\n');
      rl.setPrompt(session.prompt);
      rl.prompt();
    });
    rl.on('close', () => {
      if (!session.isOver) {
        output.write('logout\n');
        session.endOfInput();
      }
      done();
    });
    rl.prompt();
  });
}
