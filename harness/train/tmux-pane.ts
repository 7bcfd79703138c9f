import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `twin train` in a real terminal for the tests (a tmux pane: a pty, readline in terminal mode): each line typed with
 * send-keys, the screen read back with capture-pane. Used by terminal.live.test.ts (the simulation) and
 * live-drill.live.test.ts (the live stack).
 */

export const TMUX = spawnSync('tmux', ['-V']).status === 0;
export const PROMPT = 'ubuntu@ip-172-31-72-162:~$';
/** Bound on every wait for the screen (the twin's start through tsx takes seconds on a loaded 2-core machine). */
export const WAIT_MS = 90_000;

/** A tmux server of the test's own (its socket), so that panes of other runs are never touched. */
export class TmuxPanes {
  constructor(readonly socket: string) {}

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  screen(session: string): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
  }

  async waitFor(session: string, what: string, ok: (text: string) => boolean, waitMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const text = this.screen(session);
      if (ok(text)) return text;
      if (Date.now() > deadline) throw new Error(`no ${what} on the screen after ${waitMs} ms; the screen:\n${text.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Types a session's lines into `twin train` in a tmux pane; returns the screen and the written report.
   * `firstPromptMs` bounds the wait for the first prompt (a drill on the live stack boots it first).
   */
  async typeSession(name: string, drill: string, script: string, extra = '', firstPromptMs = WAIT_MS) {
    const out = join(mkdtempSync(join(tmpdir(), 'twin-train-tty-')), 'out');
    const lines = readFileSync(join('harness/train/sessions', script), 'utf8').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    const command = `${process.execPath} --import tsx bin/twin.ts train --drill ${drill} --out ${out}${extra}; echo TWIN-EXIT=$?; exec sleep 120`;
    this.tmux('new-session', '-d', '-s', name, '-x', '220', '-y', '50', '-c', process.cwd(), command);
    await this.waitFor(name, 'first prompt', (t) => prompts(t) >= 1, firstPromptMs);
    for (const [i, line] of lines.entries()) {
      this.tmux('send-keys', '-t', name, '-l', line);
      this.tmux('send-keys', '-t', name, 'Enter');
      await this.waitFor(name, `prompt after \`${line}\``, (t) => prompts(t) >= i + 2 || t.includes('TWIN-EXIT='));
    }
    const text = await this.waitFor(name, 'the exit code', (t) => /TWIN-EXIT=\d/.test(t));
    this.tmux('kill-session', '-t', name);
    const report = existsSync(join(out, 'train-report.json')) ? JSON.parse(readFileSync(join(out, 'train-report.json'), 'utf8')) : undefined;
    return { text, exit: Number(/TWIN-EXIT=(\d+)/.exec(text)![1]), report };
  }

  /** Stops the test's tmux server (its panes with it). */
  killServer(): void {
    if (TMUX) spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

/** Prompts on the screen so far. */
export const prompts = (text: string) => text.split(PROMPT).length - 1;
