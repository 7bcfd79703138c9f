import { execFileSync, spawnSync } from 'node:child_process';

/**
 * A tmux server of its own for tests that drive a command in a real terminal: a pane is a pty with readline in
 * terminal mode, lines are typed with send-keys, the screen (its whole history) is read with capture-pane. Every
 * wait is bounded by `waitMs` and fails with the end of the screen.
 */
export class TmuxTerminal {
  /** Whether tmux is installed (CI installs it: .ci/run). */
  static readonly available = spawnSync('tmux', ['-V']).status === 0;

  constructor(
    private readonly socket: string,
    private readonly waitMs: number,
  ) {}

  private run(args: readonly string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Starts `command` in a 220×50 pane named `pane`, in `cwd`, with a history tall enough for a whole session. */
  open(pane: string, command: string, cwd: string): void {
    this.run(['new-session', '-d', '-s', pane, '-x', '220', '-y', '50', '-c', cwd, command]);
    this.run(['set-option', '-t', pane, 'history-limit', '20000']);
  }

  /** Types `text` literally, then Enter. */
  typeLine(pane: string, text: string): void {
    this.run(['send-keys', '-t', pane, '-l', text]);
    this.run(['send-keys', '-t', pane, 'Enter']);
  }

  /** Presses one key (tmux's names: `C-d`, `C-c`, `Enter`). */
  press(pane: string, key: string): void {
    this.run(['send-keys', '-t', pane, key]);
  }

  /** The pane's whole history, wrapped lines joined. */
  screen(pane: string): string {
    return this.run(['capture-pane', '-p', '-J', '-S', '-', '-t', pane]);
  }

  /** Polls the screen until `ok` holds; throws with the screen's end after `waitMs`. */
  async until(pane: string, what: string, ok: (screen: string) => boolean): Promise<string> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const text = this.screen(pane);
      if (ok(text)) return text;
      if (Date.now() > deadline) throw new Error(`no ${what} on the screen after ${this.waitMs} ms; the screen:\n${text.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  close(pane: string): void {
    this.run(['kill-session', '-t', pane]);
  }

  /** Ends the tmux server of this socket (and every pane left). */
  shutdown(): void {
    if (TmuxTerminal.available) spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}
