export { PIPELINE_DB, PIPELINE_MIGRATIONS, RUN_QUEUE, SCHEDULERER_QUEUE, type RunMessage, type ScheduleMessage } from './schema.ts';
export { Frontend, type FrontendOptions } from './frontend.ts';
export { PicardDispatcher, readBuildConfig, DEFAULT_DURATION_MS, DEFAULT_PARALLELISM } from './picard-dispatcher.ts';
export { Schedulerer, buildJob } from './schedulerer.ts';
export { OutputProcessor, outputKey } from './output-processor.ts';
export { BuildAgentRunner } from './build-agent-runner.ts';
export { ledger, queueTimePercentiles, type Ledger, type Percentiles } from './ledger.ts';
