/** One measured figure of a benchmark, with the target it is judged against and, where there is one, its anchor. */
export interface BenchFigure {
  /** e.g. "engine.hold.events_per_s" */
  name: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. ">= 3000000" or "< 10 s". */
  target: string;
  /** Whether the value meets the target. */
  met: boolean;
  /** What the figure is compared with (a bare loop run side by side, a published number) and the ratio to it. */
  anchor?: { name: string; value: number; unit: string; ratio: number };
  note?: string;
  /**
   * Set when the figure could not be measured here (an anchor's program is not installed): what is missing and
   * how to install it. `value` is then NaN (null in JSON) and `met` false; the run reports it as MISSING.
   */
  missing?: string;
}

export interface BenchSuite {
  name: string;
  run(): Promise<BenchFigure[]> | BenchFigure[];
}
