/**
 * A one-line progress indicator on stderr: redrawn in place on a terminal, a few plain lines otherwise (every
 * 25%, at each new phase, and a last `100% done`), so a CI log shows where a run is and that it finished.
 */
export class Progress {
  private lastPercent = -1;
  private lastPhase: string | undefined;
  private lastText = '';
  private readonly tty: boolean;

  constructor(
    private readonly stream: { write(s: string): unknown; isTTY?: boolean },
    private readonly label: string,
    private readonly enabled: boolean,
  ) {
    this.tty = stream.isTTY === true;
  }

  /** `done` of `total`, with a detail; a new `phase` (such as the drain after the workload) is always shown. */
  update(done: number, total: number, detail = '', phase?: string): void {
    if (!this.enabled || total <= 0) return;
    const percent = Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
    const newPhase = phase !== this.lastPhase;
    const text = `${this.label} ${String(percent).padStart(3)}% ${phase ? `${phase}: ` : ''}${detail}`.trimEnd();
    if (this.tty) {
      if (text === this.lastText) return;
      this.stream.write(`\r${text}`.padEnd(80).slice(0, 100));
    } else if (percent >= this.lastPercent + 25 || newPhase || (percent === 100 && this.lastPercent !== 100)) {
      this.stream.write(`${text}\n`);
    } else return;
    this.lastPercent = percent;
    this.lastPhase = phase;
    this.lastText = text;
  }

  /** Clears the line on a terminal so that another line can be printed; the next update redraws it. */
  clear(): void {
    if (this.enabled && this.tty && this.lastText !== '') {
      this.stream.write('\r'.padEnd(80) + '\r');
      this.lastText = '';
    }
  }

  /** The end: a terminal's line is cleared (the result line follows); elsewhere a last `100% done` line. */
  done(detail = 'done'): void {
    if (!this.enabled) return;
    if (this.tty) this.clear();
    else if (this.lastPercent >= 0) this.stream.write(`${this.label} 100% ${detail}\n`);
  }
}
