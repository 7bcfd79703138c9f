export type { ArrivalSpec, DurationSpec, Executor, JobTemplate, TraceArrival } from './types.ts';
export {
  createArrivalProcess,
  rateAt,
  takeArrivalsUntil,
  validateArrivalSpec,
  DAY_MS,
  HOUR_MS,
  WEEK_MS,
  type Arrival,
  type ArrivalProcess,
} from './arrivals.ts';
export {
  createDurationSampler,
  lognormalParameters,
  meanDurationMs,
  sampleDurationMs,
  validateDurationSpec,
  Z_95,
  type DurationSampler,
} from './durations.ts';
export { JobMix } from './job-mix.ts';
export { feedArrivals, type ArrivalFeed, type FeedLimits } from './feed-arrivals.ts';
export {
  detectTraceFormat,
  parseTrace,
  TraceParseError,
  type TraceFormat,
  type TraceParseOptions,
} from './trace-file.ts';
