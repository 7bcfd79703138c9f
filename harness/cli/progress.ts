/** A one-line progress indicator on stderr: redrawn in place on a terminal, a few plain lines otherwise. */
export class Progress {
  private lastPercent = -1;
  private readonly tty: boolean;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
    private readonly enabled: boolean,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(done: number, total: number, detail = ''): void {
    if (!this.enabled || total <= 0) return;
    const percent = Math.min(100, Math.floor((done / total) * 100));
    if (this.tty) {
      if (percent === this.lastPercent) return;
      this.stream.write(`\r${this.label} ${String(percent).padStart(3)}% ${detail}`.padEnd(78).slice(0, 100));
    } else if (percent >= this.lastPercent + 25 || (percent === 100 && this.lastPercent !== 100)) {
      this.stream.write(`${this.label} ${percent}% ${detail}\n`);
    } else return;
    this.lastPercent = percent;
  }

  /** Clears the line on a terminal so that another line can be printed; the next update redraws it. */
  clear(): void {
    if (this.enabled && this.tty && this.lastPercent >= 0) {
      this.stream.write('\r'.padEnd(80) + '\r');
      this.lastPercent = -1;
    }
  }

  done(): void {
    if (this.enabled && this.tty && this.lastPercent >= 0) this.stream.write('\r'.padEnd(80) + '\r');
  }
}
