/** A bad `twin tune` request (a sweep, a target, a count): exit 2 with what and where, and a hint. */
export class TuneInputError extends Error {
  readonly code = 'TUNE_INPUT';
  override readonly name = 'TuneInputError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** A bound of `twin tune`, named in the error that enforces it (STYLE.md: a limit on everything). */
export interface TuneLimit {
  name: string;
  value: number;
  hint: string;
}

/** The bounds of a sweep: values per key, cells, cells times replications, targets (the flags bound --replications, --samples and --jobs). */
export const TUNE_LIMITS = {
  valuesPerSweep: { name: 'max_sweep_values', value: 1000, hint: 'sweep fewer values, or sample: --sample random --samples N' },
  cells: { name: 'max_tune_cells', value: 10_000, hint: 'sweep fewer values or fewer keys' },
  runs: { name: 'max_tune_runs', value: 100_000, hint: 'cells × replications: sweep fewer cells or replicate less' },
  targets: { name: 'max_targets', value: 20, hint: 'give each metric once' },
} as const satisfies Record<string, TuneLimit>;
